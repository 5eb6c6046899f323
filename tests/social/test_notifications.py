"""Notifications: every event kind reaches holders/followers/proposers/parent authors through the market's
signals and Celery tasks, exactly once under redelivery (rows and e-mails), and the per-kind settings."""

from __future__ import annotations

import pytest
from django.core import mail

from market.services import forecast_place, market_annul, market_close, market_reresolve, market_resolve
from proposals.services import proposal_approve, proposal_create, proposal_reject
from social.models import Notification
from social.services import comment_create, follow_set, preferences_set
from social.tasks import (
    notification_email_task,
    notify_market_event_task,
    notify_proposal_reviewed_task,
    notify_reply_task,
)
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(monkeypatch):
    """Run the notification tasks in-process when they are sent (the real task code, no broker); the
    experiment run a closing market enqueues still goes to the test broker and never runs."""
    for task in (
        notify_market_event_task,
        notify_proposal_reviewed_task,
        notify_reply_task,
        notification_email_task,
    ):
        monkeypatch.setattr(
            task, "delay", lambda _task=task, **kwargs: _task.apply(kwargs=kwargs, throw=True)
        )


def with_email(user, address: str):
    user.email = address
    user.save(update_fields=["email"])
    return user


def texts(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("text", flat=True))


def test_holders_and_followers_hear_that_a_market_closes_and_resolves(
    eager, django_capture_on_commit_callbacks
):
    market = MarketFactory(title="Seeds disagree")
    holder = with_email(UserFactory(), "holder@example.org")
    follower = with_email(UserFactory(), "follower@example.org")
    bystander = UserFactory()
    forecast_place(user=holder, market=market, probability=0.7)
    follow_set(user=follower, market=market, following=True)
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    with django_capture_on_commit_callbacks(execute=True):
        market_resolve(market=market, outcome="yes")
    for user in (holder, follower):
        assert texts(user) == [
            "“Seeds disagree” closed; its experiment runs next.",
            "“Seeds disagree” resolved YES.",
        ]
    assert texts(bystander) == []
    assert sorted(m.to[0] for m in mail.outbox) == ["follower@example.org"] * 2 + ["holder@example.org"] * 2
    assert "/markets/" in mail.outbox[0].body


def test_annulment_and_re_resolution_are_notified(eager, django_capture_on_commit_callbacks):
    annulled, corrected = MarketFactory(title="Annulled one"), MarketFactory(title="Corrected one")
    user = UserFactory()
    for market in (annulled, corrected):
        forecast_place(user=user, market=market, probability=0.3)
    with django_capture_on_commit_callbacks(execute=True):
        market_annul(market=annulled, reason="The spec was broken.")
        market_resolve(market=corrected, outcome="yes")
    with django_capture_on_commit_callbacks(execute=True):
        market_reresolve(market=corrected, outcome="no", reason="A verified re-run disagreed.")
    assert set(Notification.objects.filter(user=user).values_list("kind", flat=True)) == {
        "market_annulled",
        "market_resolved",
    }
    assert "“Corrected one” re-resolved NO." in texts(
        user
    ) and "“Annulled one” was annulled; net costs were refunded." in texts(user)
    assert not mail.outbox  # no address, no e-mail


def test_a_proposer_hears_of_approval_and_rejection(eager, django_capture_on_commit_callbacks):
    proposer, staff = with_email(UserFactory(), "p@example.org"), UserFactory(is_staff=True)
    good = proposal_create(proposer=proposer, data=proposal_body(title="Good idea"))
    bad = proposal_create(proposer=proposer, data=proposal_body(title="Bad idea"))
    with django_capture_on_commit_callbacks(execute=True):
        market = proposal_approve(proposal=good, reviewer=staff)
        proposal_reject(proposal=bad, reviewer=staff, reason="It duplicates market #1.")
    notes = {n.key: n for n in Notification.objects.filter(user=proposer)}
    assert notes[f"proposal:{good.pk}:approved"].url == f"/markets/{market.pk}/"
    assert "rejected: It duplicates market #1." in notes[f"proposal:{bad.pk}:rejected"].text
    assert len(mail.outbox) == 2


def test_a_reply_notifies_the_parent_author_but_not_a_self_reply(eager, django_capture_on_commit_callbacks):
    market = MarketFactory()
    author, replier = UserFactory(), UserFactory(username="replier")
    with django_capture_on_commit_callbacks(execute=True):
        top = comment_create(author=author, market=market, body="top")
        reply = comment_create(author=replier, market=market, body="reply", parent_id=top.pk)
        comment_create(author=author, market=market, body="self reply", parent_id=top.pk)
    note = Notification.objects.get(user=author)
    assert note.kind == "reply" and note.text == "replier replied to your comment."
    assert note.url == f"/markets/{market.pk}/#comment-{reply.pk}"
    assert not Notification.objects.filter(user=replier).exists()


def test_redelivered_tasks_create_and_send_nothing_twice(eager, django_capture_on_commit_callbacks):
    market = MarketFactory()
    users = [with_email(UserFactory(), f"u{i}@example.org") for i in range(3)]
    for user in users:
        forecast_place(user=user, market=market, probability=0.6 + 0.1 * users.index(user))
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    assert Notification.objects.count() == 3 and len(mail.outbox) == 3
    # The broker hands the same messages out again (acks_late after a worker died, say).
    for _ in range(2):
        notify_market_event_task.apply(kwargs={"market_id": market.pk, "event": "closed"}).get()
        for note in Notification.objects.all():
            assert notification_email_task.apply(kwargs={"notification_id": note.pk}).get() is False
    assert Notification.objects.count() == 3 and len(mail.outbox) == 3
    top = comment_create(author=users[0], market=market, body="top")
    reply = comment_create(author=users[1], market=market, body="reply", parent_id=top.pk)
    for _ in range(3):
        notify_reply_task.apply(kwargs={"comment_id": reply.pk}).get()
    assert Notification.objects.filter(kind="reply").count() == 1 and len(mail.outbox) == 4


def test_a_failed_send_is_retried_and_then_sent_once(eager, monkeypatch):
    from social import services

    market = MarketFactory()
    user = with_email(UserFactory(), "flaky@example.org")
    forecast_place(user=user, market=market, probability=0.7)
    market_close(market=market)
    calls = {"n": 0}
    real_send = services.send_mail

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMTP server went away")
        return real_send(**kwargs)

    monkeypatch.setattr(services, "send_mail", flaky)
    [note_id] = services.notifications_market_event(market_id=market.pk, event="closed")
    with pytest.raises(ConnectionError):
        services.notification_email_send(notification_id=note_id)
    assert Notification.objects.get(pk=note_id).emailed_at is None  # rolled back: the retry sends it
    assert services.notification_email_send(notification_id=note_id) is True
    assert services.notification_email_send(notification_id=note_id) is False
    assert len(mail.outbox) == 1


def test_settings_switch_each_kind_per_channel(eager, client, django_capture_on_commit_callbacks):
    market = MarketFactory()
    user = with_email(UserFactory(), "me@example.org")
    forecast_place(user=user, market=market, probability=0.7)
    client.force_login(user)
    page = client.get("/me/notifications/settings/").content.decode()
    assert 'name="market_closed:email"' in page and "checked" in page
    # Closing: in the site only. Resolving: e-mail only.
    form = {
        "email": "me@example.org",
        "market_closed:site": "on",
        "market_resolved:email": "on",
        "market_annulled:site": "on",
        "proposal_reviewed:site": "on",
        "reply:site": "on",
    }
    assert client.post("/me/notifications/settings/", form).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    with django_capture_on_commit_callbacks(execute=True):
        market_resolve(market=market, outcome="no")
    listed = client.get("/me/notifications/").content.decode()
    assert "closed; its experiment runs next" in listed and "resolved NO" not in listed
    assert [m.subject for m in mail.outbox] == [f"[pathmarket] “{market.title}” resolved NO."]
    # Both channels off for a kind: no row at all.
    other = MarketFactory()
    forecast_place(user=user, market=other, probability=0.4)
    preferences_set(user=user, choices={"market_closed": (False, False)})
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=other)
    assert not Notification.objects.filter(user=user, key=f"market:{other.pk}:closed").exists()
    assert client.post("/me/notifications/settings/", {"email": "not an address"}).status_code == 400


def test_the_bell_counts_unread_and_the_list_marks_them_read(
    eager, client, django_capture_on_commit_callbacks
):
    market = MarketFactory()
    user = UserFactory()
    forecast_place(user=user, market=market, probability=0.7)
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    client.force_login(user)
    assert 'aria-label="Notifications, 1 unread"' in client.get("/").content.decode()
    note = Notification.objects.get(user=user)
    response = client.post(f"/me/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/markets/{market.pk}/"
    assert 'aria-label="Notifications, 0 unread"' in client.get("/").content.decode()
    other = UserFactory()
    client.force_login(other)
    assert client.post(f"/me/notifications/{note.pk}/open/").status_code == 404  # not theirs


def test_follow_and_unfollow_from_the_market_page(client, user_factory=UserFactory):
    market = MarketFactory()
    user = user_factory()
    client.force_login(user)
    assert "Follow</button>" in client.get(f"/markets/{market.pk}/").content.decode()
    client.post(f"/markets/{market.pk}/follow/", {"follow": "1"})
    assert "Unfollow</button>" in client.get(f"/markets/{market.pk}/").content.decode()
    client.post(f"/markets/{market.pk}/follow/", {"follow": "0"})
    assert "Follow</button>" in client.get(f"/markets/{market.pk}/").content.decode()
    client.logout()
    assert client.post(f"/markets/{market.pk}/follow/", {"follow": "1"}).status_code == 302  # to login
