"""Issue 16's "done means", on a phone (390×844, real Chromium): sign up, find a market closing soon,
forecast in percent, comment, follow, and hear in the site and by e-mail when it resolves; /me/ shows
the position's profit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from market.models import Account
from market.services import market_close, market_resolve
from social.tasks import notification_email_task, notify_market_event_task
from tests.market.factories import MarketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_phone_user_forecasts_discusses_follows_and_hears_the_resolution(browser, live_server, monkeypatch):
    # The notification tasks run in-process when sent (no broker in this test); the experiment run that a
    # close enqueues does not.
    for task in (notify_market_event_task, notification_email_task):
        monkeypatch.setattr(
            task, "delay", lambda _task=task, **kwargs: _task.apply(kwargs=kwargs, throw=True)
        )
    MarketFactory(title="Later market", close_time=timezone.now() + timedelta(days=20))
    soon = MarketFactory(title="Soon market", close_time=timezone.now() + timedelta(hours=3))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url
    try:
        page.goto(f"{base}/accounts/register/")
        page.fill("#id_username", "phone-forecaster")
        page.fill("#id_password1", "a-long-Passphrase-2026")
        page.fill("#id_password2", "a-long-Passphrase-2026")
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/")

        page.select_option("#search-sort", "closing")
        page.click("#market-search button[type=submit]")
        page.wait_for_url(re.compile(r".*sort=closing.*"))
        page.locator("table.markets tbody tr").first.get_by_role("link").click()
        page.wait_for_url(f"{base}/markets/{soon.pk}/")

        page.fill("#percent", "70")
        page.wait_for_selector("#quote-cost")
        page.click("#forecast-submit")
        page.wait_for_url(re.compile(rf".*/markets/{soon.pk}/(#forecast)?$"))
        assert page.inner_text("#market-probability") == "70.0%"

        page.fill("#comment-body", "70%: eight seeds of a small MLP **do** disagree on noisy digits.")
        page.click("#comment-form button[type=submit]")
        page.wait_for_url(re.compile(r".*#comment-\d+$"))
        assert "forecast 70%" in page.inner_text("#comments")
        page.click("#follow-button")
        assert page.inner_text("#follow-button") == "Unfollow"

        page.goto(f"{base}/me/notifications/settings/")
        page.fill("#notify-email", "phone@example.org")
        page.click("main button[type=submit]")

        market_close(market=soon)
        market_resolve(market=soon, outcome="yes")

        page.goto(f"{base}/")
        assert page.get_attribute("#nav-notifications", "aria-label") == "Notifications, 2 unread"
        page.click("#nav-notifications")
        assert "“Soon market” resolved YES." in page.inner_text("main")
        assert [m.to for m in mail.outbox] == [["phone@example.org"], ["phone@example.org"]]
        assert "resolved YES" in mail.outbox[-1].subject

        page.click("#nav-portfolio")
        settled = page.inner_text("#settled-positions")
        assert "Soon market" in settled and "YES" in settled
        balance = Account.objects.get(user__username="phone-forecaster").balance
        assert f"{balance:,.2f}" == page.inner_text("#me-balance") and balance > 1000  # it paid off
    finally:
        context.close()
        connections.close_all()
