"""A forecast that would not move the price is refused (service, API and page) and records nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from market.exceptions import ForecastNoop
from market.models import Forecast, LedgerEntry
from market.services import forecast_place, forecast_quote

pytestmark = pytest.mark.django_db


def test_a_no_op_forecast_is_refused_and_records_nothing(client, user, market):
    before = LedgerEntry.objects.count()
    with pytest.raises(ForecastNoop, match="already 50.0%"):
        forecast_place(user=user, market=market, probability=0.5)
    with pytest.raises(ForecastNoop):
        forecast_quote(user=user, market=market, probability=0.50004)
    assert not Forecast.objects.exists() and LedgerEntry.objects.count() == before
    forecast_place(user=user, market=market, probability=0.7)
    with pytest.raises(ForecastNoop, match="already 70.0%"):
        forecast_place(user=user, market=market, probability=0.7)
    assert Forecast.objects.count() == 1  # so the user counts as a forecaster only for a real trade

    api = APIClient()
    api.force_authenticate(user)
    response = api.post(f"/api/v1/markets/{market.pk}/forecasts/", {"probability": 0.7}, format="json")
    assert (
        response.status_code == 400 and "would trade nothing" in response.json()["errors"]["probability"][0]
    )
    client.force_login(user)
    page = client.post(f"/markets/{market.pk}/", {"percent": "70"})
    assert page.status_code == 400 and "would trade nothing" in page.content.decode()
    assert Forecast.objects.count() == 1
