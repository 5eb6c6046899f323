"""Numeric markets: the n-outcome LMSR through the services and the API (issue 15)."""

import math
from decimal import Decimal

import numpy as np
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from market.distributions import Bins
from market.exceptions import InsufficientBalance, MarketStateError
from market.models import Account, Forecast, LedgerEntry, Market, Position
from market.reconcile import ledger_reconcile
from market.services import (
    forecast_place,
    market_annul,
    market_close,
    market_reresolve,
    market_resolve_numeric,
)
from market.services.trade_write import decimals_load
from tests.market.factories import NumericMarketFactory, UserFactory

pytestmark = pytest.mark.django_db

PEAK = {"components": [{"center": 0.03, "spread": 0.005, "weight": 1.0}]}


def _prices(market) -> np.ndarray:
    from market.selectors import market_distribution

    market.refresh_from_db()
    return np.array(market_distribution(market=market))


def test_opening_books_the_b_ln_n_subsidy_and_prices_are_uniform():
    market = NumericMarketFactory()
    assert market.n_outcomes == 12  # 10 bins and two overflow bins
    subsidy = LedgerEntry.objects.get(market=market, kind="subsidy").amount
    assert subsidy == Decimal(100 * math.log(12)).quantize(Decimal("1e-8"), rounding="ROUND_CEILING")
    assert _prices(market) == pytest.approx(np.full(12, 1 / 12))
    assert ledger_reconcile().ok


@pytest.mark.parametrize(
    "form",
    [
        PEAK,
        {"quantiles": {"0.1": 0.02, "0.5": 0.03, "0.9": 0.05}},
        {"cdf": [0.02, 0.03, 0.05, 0.2, 0.6, 0.8, 0.9, 0.94, 0.96, 0.97, 0.98]},
    ],
)
def test_each_form_moves_the_distribution_and_the_books_reconcile(form):
    market, user = NumericMarketFactory(), UserFactory()
    quote = forecast_place(user=user, market=market, distribution=form, dry_run=True)
    assert quote.dry_run and Forecast.objects.count() == 0
    result = forecast_place(user=user, market=market, distribution=form)
    assert result.cost == quote.cost and result.cost > 0
    after = _prices(market)
    assert after == pytest.approx(np.array(result.prices_after), abs=1e-6)
    assert after.sum() == pytest.approx(1.0)
    assert int(np.argmax(after)) in (3, 4, 5)  # the bins around 0.03 (index 0 is the overflow below 0)
    position = Position.objects.get(user=user, market=market)
    assert min(decimals_load(position.shares_bins)) == 0  # the cheapest trade: one bin bought nothing
    assert ledger_reconcile().ok


def test_a_trader_sells_held_shares_when_moving_back():
    market, user = NumericMarketFactory(), UserFactory()
    forecast_place(user=user, market=market, distribution=PEAK)
    balance_before = Account.objects.get(user=user).balance
    uniform = {"cdf": list(np.linspace(0.0, 1.0, 11) * (10 / 12) + 1 / 12)}
    back = forecast_place(user=user, market=market, distribution=uniform)
    assert back.cost < 0  # selling shares back pays the trader
    assert Account.objects.get(user=user).balance == balance_before - back.cost
    assert all(s >= 0 for s in back.shares)
    assert ledger_reconcile().ok


def test_an_unaffordable_forecast_states_the_furthest_affordable_t():
    market = NumericMarketFactory()
    user = UserFactory()
    Account.objects.filter(user=user).update(balance=Decimal("2"))  # keep the ledger honest below
    LedgerEntry.objects.filter(credit_account__user=user).update(amount=Decimal("2"))
    house = Account.objects.get(kind="house")
    Account.objects.filter(pk=house.pk).update(
        balance=-sum(a.balance for a in Account.objects.exclude(pk=house.pk))
    )
    with pytest.raises(InsufficientBalance) as refused:
        forecast_place(user=user, market=market, distribution=PEAK)
    t = refused.value.furthest_t
    assert t is not None and 0 < t < 1
    assert f"t = {t:.4f}" in refused.value.message
    # Quoting t·target + (1 − t)·current back is affordable.
    from market.services.forecasts import market_bins, target_validate

    target, _ = target_validate(market=market, data=PEAK)
    mix = t * target + (1 - t) * _prices(market)
    cdf = market_bins(market).cdf_from_pmf(mix)
    quote = forecast_place(
        user=user, market=market, distribution={"cdf": list(np.clip(cdf, 0, 1))}, dry_run=True
    )
    assert quote.cost <= Decimal("2")
    assert Forecast.objects.count() == 0


def test_resolution_pays_the_bin_holding_the_statistic_exactly_once():
    market, alice, bob = NumericMarketFactory(), UserFactory(), UserFactory()
    forecast_place(user=alice, market=market, distribution=PEAK)
    forecast_place(
        user=bob,
        market=market,
        distribution={
            "components": [
                {"center": 0.08, "spread": 0.01, "weight": 0.7},
                {"center": 0.02, "spread": 0.01, "weight": 0.3},
            ]
        },
    )
    market_close(market=market)
    holdings = {
        u: decimals_load(Position.objects.get(user=u, market=market).shares_bins) for u in (alice, bob)
    }
    before = {u: Account.objects.get(user=u).balance for u in (alice, bob)}
    result = market_resolve_numeric(market=market, value=0.0345)
    index = Bins(0.0, 0.1, 10, True, True).outcome_of(0.0345)
    assert result.outcome == str(index) == "4"
    for u in (alice, bob):
        assert Account.objects.get(user=u).balance == before[u] + holdings[u][index]
    again = market_resolve_numeric(market=market, value=0.0349)  # same bin: nothing more is paid
    assert again.already_resolved and again.paid == 0
    with pytest.raises(MarketStateError):
        market_resolve_numeric(market=market, value=0.09)
    market.refresh_from_db()
    assert (market.status, market.outcome_bin, market.outcome_value) == ("resolved", 4, 0.0345)
    assert ledger_reconcile().ok
    # Staff re-resolution after a verified re-run moves the payout to the new bin.
    moved = market_reresolve(market=market, value=0.0855, reason="verified re-run")
    assert (moved.previous, moved.outcome) == ("4", "9")
    market.refresh_from_db()
    assert market.outcome_bin == 9 and ledger_reconcile().ok


def test_annulment_refunds_every_trader():
    market, user = NumericMarketFactory(), UserFactory()
    start = Account.objects.get(user=user).balance
    forecast_place(user=user, market=market, distribution=PEAK)
    market_close(market=market)
    market_annul(market=market, reason="the run failed")
    assert Account.objects.get(user=user).balance == start
    assert ledger_reconcile().ok


def test_reconcile_catches_a_tampered_bin():
    market, user = NumericMarketFactory(), UserFactory()
    forecast_place(user=user, market=market, distribution=PEAK)
    market.refresh_from_db()
    q = list(market.q_bins)
    q[3] = str(Decimal(q[3]) + 1)
    Market.objects.filter(pk=market.pk).update(q_bins=q)
    report = ledger_reconcile()
    assert not report.ok and any("positions sum to" in p for p in report.problems)


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def client_and_user():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client, user


def _snapshot(market) -> tuple:
    market.refresh_from_db()
    return (
        Forecast.objects.count(),
        LedgerEntry.objects.count(),
        Position.objects.count(),
        tuple(market.q_bins),
        tuple(Account.objects.order_by("pk").values_list("balance", flat=True)),
    )


GOOD_CDF = [0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99]

BAD_INPUTS = [
    ("non-monotone cdf", {"cdf": [0.0, 0.2, 0.1, *GOOD_CDF[3:]]}, "cdf"),
    ("nan in cdf", {"cdf": [0.0, float("nan"), *GOOD_CDF[2:]]}, "cdf"),
    ("infinite cdf", {"cdf": [0.0, float("inf"), *GOOD_CDF[2:]]}, "cdf"),
    ("wrong length", {"cdf": GOOD_CDF[:-1]}, "cdf"),
    ("cdf above 1", {"cdf": [*GOOD_CDF[:-1], 1.5]}, "cdf"),
    (
        "weights do not sum to 1",
        {"components": [{"center": 0.03, "spread": 0.01, "weight": 0.6}]},
        "components",
    ),
    ("spread zero", {"components": [{"center": 0.03, "spread": 0.0, "weight": 1.0}]}, "components.0.spread"),
    (
        "spread negative",
        {"components": [{"center": 0.03, "spread": -1, "weight": 1.0}]},
        "components.0.spread",
    ),
    (
        "nan centre",
        {"components": [{"center": float("nan"), "spread": 0.01, "weight": 1.0}]},
        "components.0.center",
    ),
    ("missing weight", {"components": [{"center": 0.03, "spread": 0.01}]}, "components.0.weight"),
    ("four components", {"components": [{"center": 0.03, "spread": 0.01, "weight": 0.25}] * 4}, "components"),
    ("quantiles out of order", {"quantiles": {"0.1": 0.05, "0.5": 0.03, "0.9": 0.06}}, "quantiles"),
    ("quantile level outside (0, 1)", {"quantiles": {"1.5": 0.05, "0.5": 0.03}}, "quantiles"),
    ("a single quantile", {"quantiles": {"0.5": 0.03}}, "quantiles"),
    ("empty body", {}, "distribution"),
    ("two forms at once", {"cdf": GOOD_CDF, "quantiles": {"0.1": 0.01, "0.9": 0.05}}, "quantiles"),
    ("dry_run not a boolean", {"cdf": GOOD_CDF, "dry_run": "perhaps"}, "dry_run"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_INPUTS, ids=[c for c, _, _ in BAD_INPUTS])
def test_bad_numeric_input_is_a_400_naming_the_field_and_changes_nothing(client_and_user, case, body, field):
    import json

    client, _ = client_and_user
    market = NumericMarketFactory()
    before = _snapshot(market)
    response = client.post(
        f"/api/v1/markets/{market.pk}/forecasts/", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert _snapshot(market) == before


def test_quantiles_outside_a_closed_range_are_refused(client_and_user):
    client, _ = client_and_user
    market = NumericMarketFactory(open_lower=False, open_upper=False)
    response = client.post(
        f"/api/v1/markets/{market.pk}/forecasts/", {"quantiles": {"0.1": -0.01, "0.9": 0.05}}, format="json"
    )
    assert response.status_code == 400 and "quantiles.0.1" in response.json()["errors"]


def test_api_quotes_places_and_reports_positions_in_me(client_and_user):
    client, user = client_and_user
    market = NumericMarketFactory()
    url = f"/api/v1/markets/{market.pk}/forecasts/"
    quote = client.post(url, {**PEAK, "dry_run": True}, format="json")
    assert quote.status_code == 200 and quote.json()["dry_run"] is True
    placed = client.post(url, PEAK, format="json")
    assert placed.status_code == 201
    body = placed.json()
    assert body["cost"] == pytest.approx(quote.json()["cost"])
    assert len(body["prices_after"]) == len(body["shares"]) == 12
    detail = client.get(f"/api/v1/markets/{market.pk}/").json()
    assert detail["kind"] == "numeric" and detail["probability"] is None
    assert detail["distribution"] == pytest.approx(body["prices_after"], abs=1e-6)
    assert len(detail["edges"]) == 11
    me = client.get("/api/v1/me/").json()
    (position,) = [p for p in me["positions"] if p["market_id"] == market.pk]
    assert position["kind"] == "numeric"
    assert [r["payout"] for r in position["payouts"]] == pytest.approx(body["shares"])
    assert position["payouts"][0]["region"] == "< 0" and position["payouts"][-1]["high"] is None
    history = client.get(url).json()["results"]
    assert (
        history[0]["prices_after"] == pytest.approx(body["prices_after"])
        and history[0]["probability_after"] is None
    )
    # A binary market keeps {probability} unchanged; a probability on a numeric market is refused.
    refused = client.post(url, {"probability": 0.6}, format="json")
    assert refused.status_code == 400 and "distribution" in refused.json()["errors"]
