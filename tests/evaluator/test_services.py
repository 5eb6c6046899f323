"""Score storage through the real market services and database: recompute on resolution, idempotency,
annulment, pseudo-forecasters, the community series and the factor matrix upsert."""
from __future__ import annotations

import math

import pytest

from evaluator import selectors
from evaluator.models import CommunityPoint, FactorCell, Score
from evaluator.services import factor_record, market_scores_recompute
from market import selectors as market_selectors
from market.models import Market, MarketStatus
from tests.evaluator.factories import forecast, make_market, make_user, resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_trader_market():
    alice, bob = make_user("alice"), make_user("bob")
    market = make_market(hours=10)
    forecast(market, alice, 0.8, hours=0)
    forecast(market, bob, 0.3, hours=5, before=0.8)
    forecast(market, alice, 0.6, hours=5, before=0.3)
    return market, alice, bob


def _scores(market, **filters) -> dict:
    return {(s.forecaster, s.user_id, s.kind): s for s in Score.objects.filter(market=market, **filters)}


def test_resolving_a_market_stores_time_averaged_scores_for_every_forecaster(two_trader_market):
    market, alice, bob = two_trader_market
    resolve(market, "yes")
    rows = _scores(market)
    a_peer = rows[("user", alice.pk, "peer")]
    assert a_peer.value == pytest.approx(0.5 * 100 * (math.log(0.6) - math.log(0.3)))
    assert rows[("user", bob.pk, "peer")].value == pytest.approx(-a_peer.value)
    assert a_peer.coverage == pytest.approx(1.0) and rows[("user", bob.pk, "peer")].coverage == pytest.approx(0.5)
    assert rows[("user", alice.pk, "brier")].value == pytest.approx(0.16)
    assert rows[("user", alice.pk, "brier")].probability == 0.6 and a_peer.outcome is True
    assert rows[("user", bob.pk, "log_loss")].value == pytest.approx(-math.log(0.3))
    assert rows[("user", alice.pk, "baseline")].value == pytest.approx(
        50 * (math.log2(0.8) + 1) + 50 * (math.log2(0.6) + 1))
    # Pseudo-forecasters: the price (0.8 then 0.6 after the last trade) and the community aggregate.
    price = rows[("market_price", None, "peer")]
    assert price.value == pytest.approx(0.5 * 100 * (math.log(0.6) - (math.log(0.6) + math.log(0.3)) / 2))
    assert rows[("market_price", None, "brier")].probability == pytest.approx(0.6)
    community = rows[("community", None, "brier")]
    assert community.probability == pytest.approx(0.45)  # median of 0.6 and 0.3 (N = 2: equal weights)
    assert len(rows) == 4 * 4
    assert {s.concept for s in rows.values()} == {"A"}


def test_recompute_is_idempotent(two_trader_market):
    market, *_ = two_trader_market
    resolve(market, "no")
    before = {k: (s.value, s.coverage) for k, s in _scores(market).items()}
    assert market_scores_recompute(market_id=market.pk) == len(before)
    after = {k: (s.value, s.coverage) for k, s in _scores(market).items()}
    assert after == before
    assert CommunityPoint.objects.filter(market=market).count() == 2


def test_a_changed_outcome_leaves_no_stale_score(two_trader_market):
    market, alice, _ = two_trader_market
    resolve(market, "yes")
    yes_peer = _scores(market)[("user", alice.pk, "peer")].value
    Market.objects.filter(pk=market.pk).update(outcome="no")  # a re-resolution after a verified re-run
    market_scores_recompute(market_id=market.pk)
    rows = _scores(market)
    assert rows[("user", alice.pk, "peer")].value == pytest.approx(0.5 * 100 * (math.log(0.4) - math.log(0.7)))
    assert rows[("user", alice.pk, "peer")].value != yes_peer
    assert all(s.outcome is False for s in rows.values())


def test_an_annulled_market_ends_with_no_score_rows(two_trader_market):
    from market.services import market_annul

    market, *_ = two_trader_market
    resolve(market, "yes")
    assert Score.objects.filter(market=market).exists()
    # Annulment after resolution is refused by the market app; simulate the state and recompute.
    Market.objects.filter(pk=market.pk).update(status=MarketStatus.ANNULLED, outcome=None)
    assert market_scores_recompute(market_id=market.pk) == 0
    assert not Score.objects.filter(market=market).exists()
    assert not CommunityPoint.objects.filter(market=market).exists()
    # The real annulment path on an open market writes none either.
    other = make_market(title="Another")
    forecast(other, make_user("carol"), 0.7, hours=1)
    market_annul(market=other, reason="spec bug")
    assert not Score.objects.filter(market=other).exists()


def test_unresolved_market_gets_no_scores(two_trader_market):
    market, *_ = two_trader_market
    assert market_scores_recompute(market_id=market.pk) == 0


def test_market_without_forecasts_scores_only_the_price():
    market = resolve(make_market(), "yes")
    rows = _scores(market)
    assert {k[0] for k in rows} == {"market_price"}
    assert rows[("market_price", None, "baseline")].value == pytest.approx(0.0)  # 50 % all along


def test_forecasts_through_the_market_service_are_scored():
    from market.services import account_open, forecast_place
    from tests.market.factories import MarketFactory

    market = MarketFactory()
    users = [make_user(f"u{i}") for i in range(3)]
    for user, p in zip(users, (0.7, 0.4, 0.65)):
        account_open(user=user)
        forecast_place(user=user, market=market, probability=p)
    resolve(market, "yes")
    peers = Score.objects.filter(market=market, forecaster="user", kind="peer")
    assert peers.count() == 3
    assert sum(s.value for s in peers) == pytest.approx(0.0, abs=1e-6)


def test_community_selectors_follow_the_latest_forecasts(two_trader_market):
    market, alice, bob = two_trader_market
    assert market_selectors.community_probability(market_id=market.pk) == pytest.approx(0.45)
    series = market_selectors.community_series(market_id=market.pk)
    assert [round(p["probability"], 6) for p in series] == [0.8, 0.45]
    assert series[0]["time"] == market.opened_at
    empty = make_market(title="empty")
    assert market_selectors.community_probability(market_id=empty.pk) is None
    assert market_selectors.community_series(market_id=empty.pk) == []


def test_factor_record_upserts_one_cell_per_setup_and_concept():
    kwargs = {"setup": "digits/mlp/tiny", "task": "digits", "arch": "mlp", "concept": "A", "run_id": None,
              "source": "suite"}
    factor_record(statistic=0.1, **kwargs)
    factor_record(statistic=0.25, **{**kwargs, "run_id": 7, "source": "run"})
    factor_record(statistic=0.5, **{**kwargs, "concept": "b"})
    cells = {c.concept: c for c in FactorCell.objects.all()}
    assert set(cells) == {"A", "B"}
    assert cells["A"].statistic == 0.25 and cells["A"].run_id == 7 and cells["A"].source == "run"
    matrix = selectors.factor_matrix()
    assert matrix.loc["digits/mlp/tiny", "A"] == 0.25 and math.isnan(matrix.loc["digits/mlp/tiny", "C"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"concept": "Z"}, "concept"),
        ({"statistic": float("nan")}, "finite"),
        ({"statistic": "high"}, "number"),
        ({"source": "guess"}, "source"),
        ({"setup": " "}, "setup"),
    ],
)
def test_factor_record_rejects_bad_input(override, message):
    kwargs = {"setup": "s", "task": "digits", "arch": "mlp", "concept": "A", "statistic": 0.1, "run_id": None,
              "source": "suite"} | override
    with pytest.raises(ValueError, match=message):
        factor_record(**kwargs)
    assert not FactorCell.objects.exists()


def test_scores_are_recomputed_by_a_task_sent_after_the_settlement_commits(two_trader_market,
                                                                           django_capture_on_commit_callbacks):
    from market.services import market_resolve

    market, *_ = two_trader_market
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        market_resolve(market=market, outcome="yes")
    # The market's own event signal (market.signals.market_event, for notifications) is the other callback.
    callbacks = [c for c in callbacks if "market_event_on_commit" not in c.__qualname__]
    assert len(callbacks) == 1 and not Score.objects.filter(market=market).exists()  # nothing inside the transaction
    from tests.scoring_support import scores_recomputed_on_commit

    with scores_recomputed_on_commit():
        callbacks[0]()  # what the commit does: send evaluator.tasks.market_scores_recompute_task (eager here)
    first = {k: s.value for k, s in _scores(market).items()}
    assert first and all(math.isfinite(v) for v in first.values())
    from evaluator.tasks import market_scores_recompute_task

    market_scores_recompute_task.apply(args=[market.pk]).get()  # a re-delivered task writes the same rows
    assert {k: s.value for k, s in _scores(market).items()} == first


def test_a_scoring_failure_leaves_the_payouts_in_place(monkeypatch):
    from celery.exceptions import Retry

    from market.models import LedgerEntry
    from market.services import forecast_place, market_resolve
    from tests.market.factories import MarketFactory, UserFactory
    from tests.scoring_support import scores_recomputed_on_commit

    market = MarketFactory()
    forecast_place(user=UserFactory(), market=market, probability=0.9)  # a real position, so YES pays out

    def broken(**kwargs):
        raise RuntimeError("scoring bug")

    monkeypatch.setattr("evaluator.tasks.market_scores_recompute", broken)
    # The task fails (and asks Celery for a retry: celery.exceptions.Retry, eagerly) after the commit.
    with pytest.raises(Retry, match="scoring bug"), scores_recomputed_on_commit():
        market_resolve(market=market, outcome="yes")
    market.refresh_from_db()
    assert market.status == MarketStatus.RESOLVED and market.outcome == "yes"
    assert LedgerEntry.objects.filter(market=market, kind=LedgerEntry.Kind.PAYOUT).exists()
    assert not Score.objects.filter(market=market).exists()
    monkeypatch.undo()
    assert market_scores_recompute(market_id=market.pk) > 0  # and it can simply be run again
