"""API throttling: forecasts, proposals and dry runs answer a clear 429 JSON once a user's rate is spent.

The rates are patched down for each test (DRF reads them from the throttle class), and the throttle
history of the test's users is deleted first, so nothing leaks between tests.
"""
from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from experiments.models import ExperimentRun
from market.models import Forecast
from proposals.models import Proposal
from proposals.services import proposal_create
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client
from tests.proposals.test_pages import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def rates(monkeypatch, user):
    def set_rates(**scoped: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **scoped})
        for scope in scoped:
            cache.delete(f"throttle_{scope}_{user.pk}")

    yield set_rates
    for scope in ("forecasts", "proposals", "dry_runs"):
        cache.delete(f"throttle_{scope}_{user.pk}")


def assert_clear_429(response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert "throttled" in body["detail"].lower() and body["retry_after_seconds"] > 0
    assert int(response["Retry-After"]) > 0


def test_forecasts_are_throttled_per_user(rates, user):
    rates(forecasts="3/min")
    market = MarketFactory()
    client = token_client(user)
    url = f"/api/v1/markets/{market.pk}/forecasts/"
    for p in (0.55, 0.6, 0.65):
        assert client.post(url, {"probability": p}, format="json").status_code == 201
    response = client.post(url, {"probability": 0.7}, format="json")
    assert_clear_429(response)
    assert Forecast.objects.count() == 3
    # Reading the public history is not limited by the forecast rate.
    assert client.get(url).status_code == 200
    # Another user has their own budget.
    other = UserFactory()
    cache.delete(f"throttle_forecasts_{other.pk}")
    assert token_client(other).post(url, {"probability": 0.4}, format="json").status_code == 201


def test_proposals_are_throttled_per_user(rates, user):
    rates(proposals="2/min")
    client = token_client(user)
    for _ in range(2):
        assert client.post("/api/v1/proposals/", proposal_body(), format="json").status_code == 201
    assert_clear_429(client.post("/api/v1/proposals/", proposal_body(), format="json"))
    assert Proposal.objects.count() == 2
    assert client.get("/api/v1/proposals/").status_code == 200  # listing is not a submission


def test_dry_runs_are_throttled_per_user(rates, user):
    rates(dry_runs="1/min")
    first, second = (proposal_create(proposer=user, data=proposal_body()) for _ in range(2))
    client = token_client(user)
    assert client.post(f"/api/v1/proposals/{first.pk}/dry_run/").status_code == 202
    assert_clear_429(client.post(f"/api/v1/proposals/{second.pk}/dry_run/"))
    assert ExperimentRun.objects.count() == 1


def test_the_web_form_shares_the_proposal_budget(rates, user, client):
    rates(proposals="1/min")
    assert token_client(user).post("/api/v1/proposals/", proposal_body(), format="json").status_code == 201
    client.force_login(user)
    response = client.post("/proposals/new/", form_data())
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert Proposal.objects.count() == 1


def test_the_web_dry_run_button_shares_the_dry_run_budget(rates, user, client):
    rates(dry_runs="1/min")
    first, second = (proposal_create(proposer=user, data=proposal_body()) for _ in range(2))
    client.force_login(user)
    client.post(f"/proposals/{first.pk}/dry_run/")
    response = client.post(f"/proposals/{second.pk}/dry_run/", follow=True)
    assert "Too many requests" in response.content.decode()
    assert ExperimentRun.objects.count() == 1
