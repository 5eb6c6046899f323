"""A resolved numeric market is scored, counted on the leaderboard and in the PIT calibration."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from evaluator import numeric, selectors
from evaluator.models import Score, ScoreKind
from evaluator.services import market_scores_recompute
from market.models import Forecast, Market
from market.services import forecast_place, market_close, market_resolve_numeric
from market.services.forecasts import market_bins
from tests.market.factories import NumericMarketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_resolving_a_numeric_market_scores_every_forecaster_and_the_references():
    market, sharp, vague = NumericMarketFactory(), UserFactory(), UserFactory()
    forecast_place(
        user=sharp,
        market=market,
        distribution={"components": [{"center": 0.035, "spread": 0.004, "weight": 1.0}]},
    )
    forecast_place(
        user=vague,
        market=market,
        distribution={"components": [{"center": 0.07, "spread": 0.03, "weight": 1.0}]},
    )
    # Move the window so both forecasts stand for a while before close.
    Market.objects.filter(pk=market.pk).update(opened_at=timezone.now() - timedelta(hours=2))
    Forecast.objects.filter(market=market, user=sharp).update(created_at=timezone.now() - timedelta(hours=1))
    market_close(market=market)
    market_resolve_numeric(market=market, value=0.0352)
    market_scores_recompute(market_id=market.pk)  # what the on-commit scoring task runs
    scores = {(s.user_id, s.forecaster, s.kind): s for s in Score.objects.filter(market=market)}
    assert (
        scores[(sharp.pk, "user", ScoreKind.PEER)].value
        > 0
        > scores[(vague.pk, "user", ScoreKind.PEER)].value
    )
    assert scores[(sharp.pk, "user", ScoreKind.CRPS)].value < scores[(vague.pk, "user", ScoreKind.CRPS)].value
    assert (None, "market_price", ScoreKind.PEER) in scores and (None, "community", ScoreKind.CRPS) in scores
    # The stored CRPS is the one of the last distribution, recomputed here from the forecast row.
    bins = market_bins(market)
    support = numeric.support_edges(bins.edges, open_lower=True, open_upper=True)
    last = np.array(Forecast.objects.get(market=market, user=sharp).prices_after)
    assert scores[(sharp.pk, "user", ScoreKind.CRPS)].value == pytest.approx(
        numeric.crps_bins(last, support, 0.0352)
    )
    assert scores[(sharp.pk, "user", ScoreKind.CRPS)].pit == pytest.approx(
        numeric.pit_value(last, support, 0.0352)
    )
    # The leaderboard counts the numeric market like a binary one (one market, its peer score).
    board = {row["user"]: row for row in selectors.leaderboard()["rows"]}
    assert board[sharp.username]["n_markets"] == 1
    assert board[sharp.username]["peer_score"] == pytest.approx(
        scores[(sharp.pk, "user", ScoreKind.PEER)].value
    )
    pit = selectors.pit_calibration(user=sharp)
    assert pit["n"] == 1 and sum(pit["counts"]) == 1
    # Binary calibration (reliability of P(YES)) leaves numeric scores out.
    assert selectors.calibration(user=sharp)["n"] == 0
    history = selectors.user_score_history(user=sharp)
    assert history[0]["outcome"] == "bin" and history[0]["crps"] is not None


def test_profile_and_leaderboard_pages_include_numeric_markets():
    from django.test import Client

    market, user = NumericMarketFactory(), UserFactory()
    forecast_place(
        user=user,
        market=market,
        distribution={"components": [{"center": 0.035, "spread": 0.004, "weight": 1.0}]},
    )
    Market.objects.filter(pk=market.pk).update(opened_at=timezone.now() - timedelta(hours=2))
    Forecast.objects.filter(market=market).update(created_at=timezone.now() - timedelta(hours=1))
    market_close(market=market)
    market_resolve_numeric(market=market, value=0.0352)
    market_scores_recompute(market_id=market.pk)  # what the on-commit scoring task runs
    client = Client()
    profile = client.get(f"/users/{user.username}/").content.decode()
    assert 'id="pit-calibration"' in profile and "CRPS" in profile and market.title in profile
    board = client.get("/leaderboard/").content.decode()
    assert 'id="scores-combine"' in board and user.username in board
    api = client.get(f"/api/v1/users/{user.username}/calibration/").json()
    assert api["numeric_pit"]["n"] == 1
