"""REST API (/api/v1/): every endpoint owned by the market app (docs/architecture.md, "HTTP contract"), and its errors."""
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from market.models import Forecast, LedgerEntry, Market
from market.services import forecast_place, market_close, market_resolve
from tests.market.factories import MarketFactory, UserFactory

pytestmark = pytest.mark.django_db

MARKET_FIELDS = {"id", "title", "concept", "status", "probability", "liquidity", "close_time", "spec", "spec_sha256",
                 "statistic", "comparator", "threshold", "outcome", "run_id"}
RESULT_FIELDS = {"probability_before", "probability_after", "cost", "shares_yes", "shares_no", "balance"}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def authed(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def forecasts_url(market) -> str:
    return f"/api/v1/markets/{market.pk}/forecasts/"


def test_health_is_a_no_op_without_database_access(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/api/v1/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_a_token_is_issued_for_valid_credentials_and_authenticates(api, user):
    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": "pw-test-2026"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").json()["username"] == user.username


def test_bad_credentials_get_a_human_message(api, user):
    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["detail"]


def test_markets_list_has_the_contract_fields_and_filters(api):
    a, b = MarketFactory(concept="A"), MarketFactory(concept="B")
    market_close(market=b)
    body = api.get("/api/v1/markets/").json()
    assert body["count"] == 2 and {"next", "previous", "results"} <= body.keys()
    assert MARKET_FIELDS <= body["results"][0].keys()
    assert body["results"][0]["run_id"] is None
    assert [m["id"] for m in api.get("/api/v1/markets/?concept=B").json()["results"]] == [b.pk]
    assert [m["id"] for m in api.get("/api/v1/markets/?status=open").json()["results"]] == [a.pk]
    assert api.get("/api/v1/markets/?concept=A&status=closed").json()["count"] == 0
    assert api.get("/api/v1/markets/?page_size=1").json()["next"] is not None


@pytest.mark.parametrize("query, field", [("concept=Z", "concept"), ("status=done", "status")])
def test_markets_list_rejects_unknown_filters(api, query, field):
    response = api.get(f"/api/v1/markets/?{query}")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_market_detail_has_price_history_and_community_probability(api, user, market):
    forecast_place(user=user, market=market, probability=0.7)
    body = api.get(f"/api/v1/markets/{market.pk}/").json()
    assert MARKET_FIELDS <= body.keys() and "community_probability" in body
    assert [round(p["probability"], 6) for p in body["price_history"]] == [0.5, 0.7]
    assert body["probability"] == pytest.approx(0.7) and body["spec_sha256"] == market.spec_sha256
    assert body["forecasters"] == 1 and body["volume"] == pytest.approx(51.0826, abs=1e-4)


def test_unknown_market_is_404_json(api):
    response = api.get("/api/v1/markets/999999/")
    assert response.status_code == 404 and response.json()["detail"]


def test_post_forecast_moves_the_price_and_returns_201(authed, market):
    response = authed.post(forecasts_url(market), {"probability": 0.7}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert RESULT_FIELDS <= body.keys()
    assert body["probability_before"] == 0.5 and body["probability_after"] == pytest.approx(0.7)
    assert body["cost"] == pytest.approx(51.0826, abs=1e-4)
    assert body["balance"] == pytest.approx(1000 - body["cost"])
    assert body["shares_yes"] == pytest.approx(84.7298, abs=1e-4) and body["shares_no"] == 0
    assert Market.objects.get(pk=market.pk).probability == pytest.approx(0.7)


def test_dry_run_returns_200_and_changes_nothing(authed, market):
    response = authed.post(forecasts_url(market), {"probability": 0.7, "dry_run": True}, format="json")
    assert response.status_code == 200
    assert response.json()["payout_if_yes"] == pytest.approx(84.7298, abs=1e-4)
    assert not Forecast.objects.exists()


def test_session_clients_need_the_csrf_token(user, market):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(forecasts_url(market), {"probability": 0.7}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not Forecast.objects.exists()


def test_forecast_history_is_public_and_paginated(api, user, other_user, market):
    forecast_place(user=user, market=market, probability=0.7)
    forecast_place(user=other_user, market=market, probability=0.4)
    body = api.get(forecasts_url(market)).json()
    assert body["count"] == 2
    newest = body["results"][0]
    assert newest["user"] == other_user.username and newest["probability_after"] == pytest.approx(0.4)
    assert {"probability_before", "cost", "created_at"} <= newest.keys()


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "this field is required"),
        ({"probability": None}, "not null"),
        ({"probability": "0.7"}, "not a string"),
        ({"probability": [0.7]}, "not a list"),
        ({"probability": {"p": 0.7}}, "not an object"),
        ({"probability": True}, "not a boolean"),
        ({"probability": 0.995}, "between 0.01 and 0.99"),
        ({"probability": 0}, "between 0.01 and 0.99"),
        ({"probability": -3}, "between 0.01 and 0.99"),
    ],
)
def test_bad_probabilities_get_a_400_with_a_human_message(authed, market, payload, message):
    response = authed.post(forecasts_url(market), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert message in body["detail"] and "probability" in body["errors"]
    assert not Forecast.objects.exists()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_probabilities_are_refused(authed, market, token):
    response = authed.post(forecasts_url(market), f'{{"probability": {token}}}', content_type="application/json")
    assert response.status_code == 400 and "finite" in response.json()["detail"]


def test_malformed_json_is_a_400(authed, market):
    response = authed.post(forecasts_url(market), '{"probability": ', content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_form_encoded_numbers_are_accepted(authed, market):
    response = authed.post(forecasts_url(market), {"probability": "0.6"})  # multipart form
    assert response.status_code == 201


def test_forecast_on_a_closed_market_is_409(authed, market):
    market_close(market=market)
    response = authed.post(forecasts_url(market), {"probability": 0.7}, format="json")
    assert response.status_code == 409 and "no longer accepts forecasts" in response.json()["detail"]


def test_forecast_after_close_time_is_409(authed, market):
    Market.objects.filter(pk=market.pk).update(close_time=timezone.now() - timedelta(minutes=1))
    assert authed.post(forecasts_url(market), {"probability": 0.7}, format="json").status_code == 409


def test_forecast_on_a_missing_market_is_404(authed):
    assert authed.post("/api/v1/markets/999999/forecasts/", {"probability": 0.7}, format="json").status_code == 404


def test_insufficient_balance_is_a_400_naming_the_furthest_price(authed, user):
    deep = MarketFactory(liquidity=1000.0)
    entries = LedgerEntry.objects.count()
    response = authed.post(forecasts_url(deep), {"probability": 0.99}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "insufficient_balance" and body["furthest_probability"] == pytest.approx(0.816, abs=1e-3)
    assert "furthest you can afford is 0.8160" in body["detail"]
    assert LedgerEntry.objects.count() == entries


def test_anonymous_writes_are_401(api, market):
    response = api.post(forecasts_url(market), {"probability": 0.7}, format="json")
    assert response.status_code == 401 and response.json()["detail"]
    assert api.get("/api/v1/me/").status_code == 401


def test_wrong_methods_are_405(authed, market):
    assert authed.put(f"/api/v1/markets/{market.pk}/", {}, format="json").status_code == 405
    assert authed.delete(f"/api/v1/markets/{market.pk}/").status_code == 405
    response = authed.post("/api/v1/markets/", {}, format="json")
    assert response.status_code == 405 and "not allowed" in response.json()["detail"]


def test_me_shows_balance_and_positions(authed, user, market):
    forecast_place(user=user, market=market, probability=0.3)
    body = authed.get("/api/v1/me/").json()
    assert body["username"] == user.username and body["balance"] < 1000
    [position] = body["positions"]
    assert position["market_id"] == market.pk and position["shares_no"] > 0 and position["shares_yes"] == 0


def test_me_includes_resolved_markets_with_their_outcome(authed, user, market):
    forecast_place(user=user, market=market, probability=0.3)
    market_resolve(market=market, outcome="no")
    [position] = authed.get("/api/v1/me/").json()["positions"]
    assert position["status"] == "resolved" and position["outcome"] == "no"


def test_forecast_posts_are_throttled_by_the_forecasts_scope(monkeypatch, market):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"forecasts": "2/min"})
    cache.clear()
    client = APIClient()
    client.force_authenticate(UserFactory())
    codes = [client.post(forecasts_url(market), {"probability": p}, format="json").status_code for p in (0.6, 0.7, 0.8)]
    assert codes == [201, 201, 429]
    assert "retry_after_seconds" in client.post(forecasts_url(market), {"probability": 0.5}, format="json").json()
    assert client.get(forecasts_url(market)).status_code == 200  # reads are not in the scope
    cache.clear()


def test_the_openapi_schema_is_valid_and_lists_the_market_paths(api):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    for path in ("/api/v1/auth/token/", "/api/v1/health/", "/api/v1/markets/", "/api/v1/markets/{id}/",
                 "/api/v1/markets/{id}/forecasts/", "/api/v1/me/"):
        assert path in schema["paths"], path
    assert api.get("/api/v1/schema/").status_code == 200


def test_the_docs_page_is_served_without_any_cdn(api):
    html = api.get("/api/v1/docs/").content.decode()
    assert "swagger" in html.lower()
    # Every script and stylesheet is served by us (sidecar), none from another host. (Matching the bare
    # word "cdn" was flaky: the page's random CSRF token sometimes contains it.)
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    assert external == []
    assert "/static/drf_spectacular_sidecar/" in html


def test_token_authentication_refuses_unknown_keys_and_inactive_users(api, user):
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."
    token = Token.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code == 200
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    response = api.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["detail"] == "User inactive or deleted."


def test_token_authentication_builds_the_same_user_as_the_orm(user):
    from core.api.authentication import TokenAuthentication

    token = Token.objects.create(user=user)
    built, got_token = TokenAuthentication().authenticate_credentials(token.key)
    stored = type(user).objects.get(pk=user.pk)
    fields = [f.attname for f in type(user)._meta.concrete_fields]
    assert [getattr(built, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert got_token.key == token.key and got_token.user_id == user.pk and not built._state.adding


def test_forecast_result_body_is_what_the_documented_serializer_gives(user, market):
    from market.api.serializers import ForecastResultSerializer, forecast_result_data
    from market.services import forecast_quote

    for result in (forecast_quote(user=user, market=market, probability=0.64),
                   forecast_place(user=user, market=market, probability=0.64)):
        assert forecast_result_data(result) == ForecastResultSerializer(result).data
        assert list(forecast_result_data(result)) == list(ForecastResultSerializer(result).data)
