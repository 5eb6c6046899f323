"""The numeric market page without JavaScript: number fields, a quote on submit, then the trade."""

import re

import pytest
from django.test import Client

from market.models import Forecast
from tests.market.factories import NumericMarketFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fields(center=0.03, spread=0.005, weight=1.0, action="quote") -> dict:
    return {
        "center_0": center,
        "spread_0": spread,
        "weight_0": weight,
        "center_1": 0.05,
        "spread_1": 0.01,
        "weight_1": 0,
        "center_2": 0.07,
        "spread_2": 0.01,
        "weight_2": 0,
        "action": action,
    }


@pytest.fixture
def client_user():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    return client, user


def test_page_shows_the_distribution_and_the_editor(client_user):
    client, _ = client_user
    market = NumericMarketFactory()
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="numeric-form"' in html and 'name="center_0"' in html and "numeric-chart" in html
    assert 'id="numeric-config" type="application/json"' in html
    assert "<script>" not in html  # the site's CSP allows no inline script: static files only


def test_quote_on_submit_changes_nothing_and_shows_the_payout_per_region(client_user):
    client, _ = client_user
    market = NumericMarketFactory()
    response = client.post(f"/markets/{market.pk}/", _fields())
    html = response.content.decode()
    assert response.status_code == 200 and 'id="quote-cost"' in html and 'id="quote-payouts"' in html
    assert len(re.findall(r"<tr><td>\[", html)) == 10  # one row per interior bin (plus the overflow rows)
    assert not Forecast.objects.exists()


def test_place_trades_and_the_page_shows_the_payouts(client_user):
    client, user = client_user
    market = NumericMarketFactory()
    response = client.post(f"/markets/{market.pk}/", _fields(action="place"))
    assert response.status_code == 302
    assert Forecast.objects.filter(user=user, market=market).count() == 1
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="position-payouts"' in html


def test_bad_fields_are_a_400_naming_them(client_user):
    client, _ = client_user
    market = NumericMarketFactory()
    response = client.post(f"/markets/{market.pk}/", _fields(spread=-1))
    assert response.status_code == 400 and "spread" in response.content.decode().lower()
    response = client.post(f"/markets/{market.pk}/", _fields(weight=0))
    assert response.status_code == 400 and "weight above 0" in response.content.decode()
    assert not Forecast.objects.exists()
