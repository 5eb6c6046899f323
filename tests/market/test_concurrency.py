"""Concurrent forecasts against a real PostgreSQL: the market row lock serializes trades, none is lost."""
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

import market.services.forecasts as forecasts
from market.exceptions import ForecastNoop, InsufficientBalance
from market.models import Forecast, LedgerEntry, Market, Position
from market.reconcile import ledger_reconcile
from market.services import forecast_place
from tests.market.factories import MarketFactory, UserFactory

THREADS = 8
FORECASTS_PER_THREAD = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["pipelined", "orm"])
def test_concurrent_forecasts_lose_no_trade_and_reconcile(require_postgres, monkeypatch, path):
    """Both transaction paths of forecast_place: PostgreSQL's pipelined one (the default) and the ORM's."""
    if path == "orm":
        monkeypatch.setattr(forecasts, "pipelined_available", lambda: False)
    else:
        assert forecasts.pipelined_available()
    market = MarketFactory(liquidity=200.0)
    users = [UserFactory() for _ in range(THREADS)]
    errors: list[BaseException] = []
    refused = [0] * THREADS
    start = threading.Barrier(THREADS)

    def trade(index: int) -> None:
        try:
            start.wait()
            for i in range(FORECASTS_PER_THREAD):
                # Each thread pulls the price its own way, so trades cross and positions are sold back.
                p = 0.2 + 0.6 * (((index * 7 + i * 13) % 23) / 22)
                try:
                    forecast_place(user=users[index], market=market.pk, probability=round(p, 4))
                except (InsufficientBalance, ForecastNoop):  # refusals are fine; lost trades are not
                    refused[index] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trade, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    close_old_connections()
    assert not errors, errors

    market.refresh_from_db()
    placed = Forecast.objects.filter(market=market)
    assert placed.count() + sum(refused) == THREADS * FORECASTS_PER_THREAD
    assert placed.count() >= THREADS * FORECASTS_PER_THREAD * 0.9
    sum_yes = sum((f.delta_yes for f in placed), Decimal(0))
    sum_no = sum((f.delta_no for f in placed), Decimal(0))
    assert (market.q_yes, market.q_no) == (sum_yes, sum_no)  # no lost update of q
    positions = Position.objects.filter(market=market)
    assert sum(p.shares_yes for p in positions) == market.q_yes
    # Every trade started from the price the previous one left: the history is one unbroken chain.
    chain = list(placed.order_by("pk").values_list("probability_before", "probability_after"))
    assert all(abs(chain[i][0] - chain[i - 1][1]) < 1e-12 for i in range(1, len(chain)))
    assert LedgerEntry.objects.filter(kind="trade", market=market).count() == placed.exclude(cost=0).count()
    report = ledger_reconcile()
    assert report.ok, report.summary()
    assert Market.objects.get(pk=market.pk).status == "open"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["pipelined", "orm"])
def test_concurrent_numeric_forecasts_lose_no_update_and_reconcile(require_postgres, monkeypatch, path):
    """Several threads trade one numeric market: q per bin stays the sum of every trade and position."""
    from market.services.trade_write import decimals_load
    from tests.market.factories import NumericMarketFactory

    if path == "orm":
        monkeypatch.setattr(forecasts, "pipelined_available", lambda: False)
    market = NumericMarketFactory(liquidity=200.0, n_bins=50)
    threads_n, per_thread = 6, 15
    users = [UserFactory() for _ in range(threads_n)]
    errors: list[BaseException] = []
    refused = [0] * threads_n
    start = threading.Barrier(threads_n)

    def trade(index: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                center = 0.005 + 0.09 * (((index * 7 + i * 13) % 23) / 22)
                try:
                    forecast_place(user=users[index], market=market.pk, distribution={"components": [
                        {"center": center, "spread": 0.004 + 0.002 * (i % 3), "weight": 0.8},
                        {"center": 0.05, "spread": 0.03, "weight": 0.2}]})
                except (InsufficientBalance, ForecastNoop):  # a repeated target is a no-op refusal
                    refused[index] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trade, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    close_old_connections()
    assert not errors, errors
    market.refresh_from_db()
    placed = Forecast.objects.filter(market=market)
    assert placed.count() + sum(refused) == threads_n * per_thread
    assert placed.count() >= threads_n * per_thread // 2
    q = decimals_load(market.q_bins)
    deltas = [decimals_load(f.deltas) for f in placed]
    assert q == tuple(sum(col, Decimal(0)) for col in zip(*deltas, strict=True))  # no lost update
    shares = [decimals_load(p.shares_bins) for p in Position.objects.filter(market=market)]
    assert q == tuple(sum(col, Decimal(0)) for col in zip(*shares, strict=True))
    report = ledger_reconcile()
    assert report.ok, report.summary()
