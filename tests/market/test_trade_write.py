"""The PostgreSQL writers (single statement; pipelined transaction) and the ORM writer produce the same rows."""
import dataclasses
import functools
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone
from psycopg.pq import TransactionStatus

import market.services.forecasts as forecasts
import market.services.trade_write as trade_write_module
from market.exceptions import InsufficientBalance, MarketNotOpen
from market.models import Account, Forecast, LedgerEntry, Market, MarketStatus, Position
from market.reconcile import ledger_reconcile
from market.services import forecast_place
from market.services.trade_write import trade_write
from tests.market.factories import MarketFactory, UserFactory

SEQUENCE = [0.7, 0.3, 0.55, 0.6, 0.9, 0.1]  # (a repeated price is now refused as a no-op before any write)


def _trade_sequence(monkeypatch, *, single_statement: bool) -> dict:
    monkeypatch.setattr(forecasts, "trade_write", functools.partial(trade_write, single_statement=single_statement))
    market, alice, bob = MarketFactory(), UserFactory(), UserFactory()
    for i, p in enumerate(SEQUENCE):
        forecast_place(user=alice if i % 2 == 0 else bob, market=market, probability=p)
    market.refresh_from_db()
    return {
        "q": (market.q_yes, market.q_no),
        "forecasts": list(Forecast.objects.filter(market=market).order_by("pk").values_list(
            "probability_before", "probability_after", "delta_yes", "delta_no", "cost")),
        "positions": sorted(Position.objects.filter(market=market).values_list("shares_yes", "shares_no", "net_cost")),
        "trades": list(LedgerEntry.objects.filter(market=market, kind="trade").order_by("pk").values_list(
            "amount", "debit_account__kind", "credit_account__kind")),
        "balances": [Account.objects.get(user=u).balance for u in (alice, bob)]
        + [Account.objects.get(market=market).balance],
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_single_statement_and_orm_writers_agree(require_postgres, monkeypatch):
    fast = _trade_sequence(monkeypatch, single_statement=True)
    orm = _trade_sequence(monkeypatch, single_statement=False)
    assert fast == orm
    assert len(fast["forecasts"]) == len(SEQUENCE) and len(fast["trades"]) == len(SEQUENCE)  # no-ops are refused
    assert ledger_reconcile().ok


# --- The pipelined PostgreSQL path (its own transaction: only outside a caller's atomic block) -------

def _state(market, alice, bob) -> dict:
    market.refresh_from_db()
    role = {alice.pk: "alice", bob.pk: "bob"}
    return {
        "q": (market.q_yes, market.q_no),
        "forecasts": [(role[u], *rest) for u, *rest in Forecast.objects.filter(market=market).order_by("pk")
                      .values_list("user_id", "probability_before", "probability_after", "delta_yes", "delta_no",
                                   "cost")],
        "positions": sorted((role[u], *rest) for u, *rest in Position.objects.filter(market=market)
                            .values_list("user_id", "shares_yes", "shares_no", "net_cost")),
        "trades": list(LedgerEntry.objects.filter(market=market, kind="trade").order_by("pk").values_list(
            "amount", "debit_account__kind", "credit_account__kind")),
        "balances": [Account.objects.get(user=u).balance for u in (alice, bob)]
        + [Account.objects.get(market=market).balance],
    }


def _play(monkeypatch, *, pipelined: bool) -> tuple[dict, list]:
    """The same scripted trades (first trade, sell-back, no-op, refusal) through one path."""
    if not pipelined:
        monkeypatch.setattr(forecasts, "pipelined_available", lambda: False)
    market, alice, bob = MarketFactory(), UserFactory(), UserFactory()
    results = []
    for i, p in enumerate(SEQUENCE + [0.99]):
        try:
            r = forecast_place(user=alice if i % 2 == 0 else bob, market=market.pk, probability=p)
            results.append((r.probability_after, r.cost, r.shares_yes, r.shares_no, r.balance))
        except InsufficientBalance as exc:
            results.append(("refused", exc.cost, exc.furthest_probability))
    return _state(market, alice, bob), results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pipelined_and_orm_paths_write_the_same_rows(require_postgres, monkeypatch):
    from django.db import connection

    # Make the last forecast (to 0.99) unaffordable for alice, so both paths refuse it alike.
    monkeypatch.setitem(settings.PATHMARKET, "SIGNUP_GRANT", 60)
    calls = []
    real = trade_write_module.trade_pipelined
    monkeypatch.setattr(forecasts, "trade_pipelined", lambda **kw: calls.append(1) or real(**kw))
    fast, fast_results = _play(monkeypatch, pipelined=True)
    assert len(calls) == len(SEQUENCE) + 1  # every forecast went through the pipelined path
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    orm, orm_results = _play(monkeypatch, pipelined=False)
    assert len(calls) == len(SEQUENCE) + 1  # …and none of the ORM run's
    assert fast_results == orm_results
    assert fast_results[-1][0] == "refused"
    assert fast == orm
    assert ledger_reconcile().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pipelined_refusals_and_errors_write_nothing_and_leave_the_connection_clean(require_postgres):
    from django.db import IntegrityError, connection

    market, user = MarketFactory(), UserFactory()
    closed = MarketFactory()
    Market.objects.filter(pk=closed.pk).update(status=MarketStatus.CLOSED, closed_at=timezone.now())
    before = _counts()
    with pytest.raises(MarketNotOpen):
        forecast_place(user=user, market=closed.pk, probability=0.6)
    with pytest.raises(Market.DoesNotExist):
        forecast_place(user=user, market=10**9, probability=0.6)
    # A write the database refuses (a balance below zero breaks a CHECK constraint) rolls back.
    broken = dataclasses.replace
    with pytest.raises(IntegrityError):
        trade_write_module.trade_pipelined(
            user_id=user.pk, market_id=market.pk,
            decide=lambda locked: broken(forecasts._decide(locked, user_id=user.pk,
                                                           target=np.array([0.6, 0.4]), field="probability"),
                                         account_balance=Decimal("-1")))
    assert _counts() == before
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    # The connection is still usable and the next forecast goes through.
    result = forecast_place(user=user, market=market.pk, probability=0.6)
    assert result.forecast_id is not None and _counts()[0] == before[0] + 1
    assert ledger_reconcile().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_trader_without_an_account_gets_one_on_the_first_forecast(require_postgres):
    from django.contrib.auth import get_user_model

    market = MarketFactory()
    user = get_user_model().objects.create_user("no-account-yet", password="pw-test-2026")
    assert not Account.objects.filter(user=user).exists()
    result = forecast_place(user=user, market=market.pk, probability=0.6)
    assert result.forecast_id is not None
    assert Account.objects.get(user=user).balance == result.balance
    assert ledger_reconcile().ok


def _counts() -> tuple[int, int, int]:
    return Forecast.objects.count(), LedgerEntry.objects.count(), Position.objects.count()


def test_trade_rows_name_every_column_the_trade_writes():
    """Adding a column to Forecast or Position touches one place: ``trade_rows`` (the SQL and the ORM writer
    are generated from its names). This fails until a new column is either listed there or has a default."""
    from market.models import Forecast, Position
    from market.services.trade_write import trade_rows

    trade = trade_write_module.TradeWrite(
        user_id=1, market_id=1, account_id=1, maker_id=2, position_id=None, numeric=False,
        probability_before=0.5, probability_after=0.6, prices_before=None, prices_after=None,
        deltas=(Decimal(1), Decimal(0)), cost=Decimal(1), q=(Decimal(1), Decimal(0)), shares=(Decimal(1), Decimal(0)),
        net_cost=Decimal(1), account_balance=Decimal(9), maker_balance=Decimal(2), now=timezone.now())
    rows = trade_rows(trade)
    for model, key in ((Forecast, "forecast"), (Position, "position")):
        written = {model._meta.get_field(name).name for name in rows[key]}
        columns = {f.name for f in model._meta.concrete_fields if not f.primary_key}
        assert columns - written == set(), f"{model.__name__} columns missing from trade_rows: {columns - written}"
