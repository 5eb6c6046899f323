"""A real headless Chromium on a numeric market: shape a distribution with the editor, see the live plot
and the server's quote, place the forecast and see the market's distribution move."""
import json
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from market.models import Forecast
from tests.market.factories import NumericMarketFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_draw_a_distribution_see_the_quote_and_move_the_market(page, live_server):
    market = NumericMarketFactory(title="Numeric browser market")
    UserFactory(username="numeric-user")
    page.goto(f"{live_server.url}/accounts/login/?next=/markets/{market.pk}/")
    page.fill("#id_username", "numeric-user")
    page.fill("#id_password", "pw-test-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/markets/{market.pk}/")
    before = json.loads(page.inner_text("#numeric-config"))["current"]
    assert before == pytest.approx([1 / 12] * 12)

    # The script adds a slider beside every field and draws the proposed PDF live.
    expect(page.locator("#numeric-live")).to_be_visible()
    page.locator("#id_center_0-slider").fill("0.035")
    assert float(page.input_value("#id_center_0")) == pytest.approx(0.035)
    page.fill("#id_spread_0", "0.004")
    expect(page.locator("#proposed-pdf")).to_have_count(1)
    # The server's quote (a dry run) with the payout for every outcome region.
    expect(page.locator("#quote-cost")).to_have_text(re.compile(r"^\d[\d,]*\.\d\d points$"))
    expect(page.locator("#quote-payouts tbody tr")).to_have_count(12)
    assert not Forecast.objects.exists()

    page.click("#numeric-submit")
    page.wait_for_url(re.compile(rf".*/markets/{market.pk}/(#forecast)?$"))
    expect(page.locator("body")).to_contain_text("Forecast placed")
    after = np.array(json.loads(page.inner_text("#numeric-config"))["current"])
    assert int(np.argmax(after)) == 4  # [0.03, 0.04) is outcome 4 (outcome 0 is the overflow below 0)
    assert after[4] > 0.3 and Forecast.objects.count() == 1
    expect(page.locator("#position-payouts tbody tr")).to_have_count(12)
