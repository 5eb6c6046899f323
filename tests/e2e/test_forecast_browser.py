"""A real headless Chromium (Debian's) against the live server: register, open a market, forecast and
watch the price move; the slider, the number field and the live server quote stay in sync."""
import math
import re

import pytest
from playwright.sync_api import expect

from market.models import Account, Forecast
from tests.market.factories import MarketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_forecast_and_see_the_price_move(page, live_server):
    market = MarketFactory(title="Browser market", question="Will the browser test pass?")

    page.goto(f"{live_server.url}/accounts/register/?next=/markets/{market.pk}/")
    page.fill("#id_username", "browser-user")
    page.fill("#id_password1", "a-long-Passphrase-2026")
    page.fill("#id_password2", "a-long-Passphrase-2026")
    page.click("button[type=submit]")

    page.wait_for_url(f"**/markets/{market.pk}/")
    assert "starts with 1000 points" in page.content()
    assert page.inner_text("#market-probability") == "50.0%"
    assert page.locator("svg.price-chart").count() == 1

    # At load the quote area states the current price (nothing to trade yet).
    expect(page.locator("#quote-price")).to_have_text("50.0%")
    # Moving the slider updates the percent field and fetches a server quote (dry run).
    page.locator("#percent-slider").fill("60")
    assert page.input_value("#percent") == "60.0"
    page.fill("#percent", "75")
    page.wait_for_selector("#quote-cost")
    expected = 100 * math.log(0.5 / 0.25)  # b·ln((1−p0)/(1−p1)) = 69.31
    # expect() polls from Playwright's own isolated world: the page's CSP forbids string evaluation.
    expect(page.locator("#quote-cost")).to_have_text(re.compile("^" + re.escape(f"{expected:.2f}")))
    assert page.input_value("#percent-slider") == "75"
    assert "Payout if YES" in page.inner_text("#quote") and "Payout if NO" in page.inner_text("#quote")
    assert not Forecast.objects.exists()  # quotes change nothing

    page.click("#forecast-submit")
    page.wait_for_url(re.compile(rf".*/markets/{market.pk}/(#forecast)?$"))
    assert page.inner_text("#market-probability") == "75.0%"
    assert "moved from 50.0% to 75.0%" in page.content()
    balance = Account.objects.get(user__username="browser-user").balance
    assert float(balance) == pytest.approx(1000 - expected, abs=1e-6)
    assert f"{balance:,.2f}" in page.inner_text("#balance")

    # The quote follows the field; an out-of-range value is explained instead of quoted.
    page.fill("#percent", "99")
    expect(page.locator("#quote")).to_contain_text("75.0% → 99.0%")
    page.fill("#percent", "150")
    expect(page.locator("#quote")).to_contain_text("between 1 and 99")

    # Selling back pays: the quote says why. Then "close position" sells everything held.
    page.fill("#percent", "60")
    expect(page.locator("#quote-why")).to_contain_text("sells back")
    page.click("#close-position")
    page.wait_for_url(re.compile(rf".*/markets/{market.pk}/(#forecast)?$"))
    assert page.inner_text("#market-probability") == "50.0%"
    assert "because this move sold back" in page.content()
    assert page.locator("#close-position").count() == 0  # nothing left to close


def test_the_furthest_affordable_price_is_one_click_away(page, live_server):
    from django.contrib.auth import get_user_model

    from market.services import account_open

    deep = MarketFactory(title="Deep market", liquidity=1000.0)  # 0.5 → 0.99 costs ≈ 3912 points
    user = get_user_model().objects.create_user("poor-user", password="a-long-Passphrase-2026")
    account_open(user=user)
    page.goto(f"{live_server.url}/accounts/login/?next=/markets/{deep.pk}/")
    page.fill("#id_username", "poor-user")
    page.fill("#id_password", "a-long-Passphrase-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/markets/{deep.pk}/")
    page.fill("#percent", "99")
    expect(page.locator("#affordable-button")).to_have_text("Move to 81.60%, the furthest I can afford")
    page.click("#affordable-button")
    page.wait_for_url(re.compile(rf".*/markets/{deep.pk}/(#forecast)?$"))
    assert page.inner_text("#market-probability") == "81.6%"
    assert float(Account.objects.get(user=user).balance) < 1
