"""Notification delivery on a real `celery worker` with a real Redis broker: the same event task
delivered three times (as acks_late redelivery does after a worker dies) creates each user's notification
once and sends each e-mail once (Django's file e-mail backend, read back from disk)."""

from __future__ import annotations

import time

import pytest

from market.services import forecast_place, market_close
from social.models import Notification
from tests.e2e import resolution_support
from tests.e2e.resolution_support import wait_for
from tests.market.factories import MarketFactory, UserFactory

pytestmark = [pytest.mark.redis, pytest.mark.slow]
workers = resolution_support.workers  # fixture


def test_a_redelivered_event_task_notifies_and_emails_exactly_once(workers, tmp_path):
    outbox = tmp_path / "mail"
    workers.env.update(
        {
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(outbox),
        }
    )
    market = MarketFactory(title="Watched market")
    users = []
    for i in range(3):
        user = UserFactory()
        user.email = f"u{i}@example.org"
        user.save(update_fields=["email"])
        forecast_place(user=user, market=market, probability=0.55 + 0.1 * i)
        users.append(user)
    market_close(market=market)
    workers.start("mail", concurrency=2)
    client = workers.client()
    for _ in range(3):
        client.send_task(
            "social.tasks.notify_market_event_task",
            kwargs={"market_id": market.pk, "event": "closed"},
            queue="default",
        )

    def sent() -> int:
        return (
            sum(
                path.read_text().count("\nTo: ") + path.read_text().startswith("To: ")
                for path in outbox.glob("*.log")
            )
            if outbox.exists()
            else 0
        )

    wait_for(lambda: sent() >= 3, timeout=90, what="three e-mails", logs=workers.logs)
    time.sleep(3)  # let every redelivered task (and its e-mail tasks) finish
    assert sent() == 3
    assert Notification.objects.filter(key=f"market:{market.pk}:closed").count() == 3
    assert all(n.emailed_at is not None for n in Notification.objects.all())
