"""Writing one trade: the forecast, the market's q, the position, the ledger entry and both balances.

All values are absolute and computed by the caller from rows it has locked. On PostgreSQL the five
writes go to the server as one statement (data-modifying CTEs) — one round trip on the hot path of the
site; other databases use the ORM. Both produce the same rows (tests/market/test_trade_write.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from market.models import Account, Forecast, LedgerEntry, Market, Position


@dataclass(frozen=True)
class TradeWrite:
    user_id: int
    market_id: int
    account_id: int  # the trader's account
    maker_id: int  # the market maker's account
    position_id: int | None  # None: the trader's first trade in this market
    probability_before: float
    probability_after: float
    delta_yes: Decimal
    delta_no: Decimal
    cost: Decimal  # > 0: the trader pays the maker; < 0: the maker pays the trader
    q_yes: Decimal  # the market's state after the trade
    q_no: Decimal
    shares_yes: Decimal  # the position after the trade
    shares_no: Decimal
    net_cost: Decimal
    account_balance: Decimal  # balances after the trade
    maker_balance: Decimal
    now: datetime


def trade_write(trade: TradeWrite, *, single_statement: bool | None = None) -> int:
    """Write the trade; returns the new Forecast's id."""
    if single_statement is None:
        single_statement = connection.vendor == "postgresql"
    return _write_single_statement(trade) if single_statement else _write_orm(trade)


def _ledger_sides(trade: TradeWrite) -> tuple[int, int]:
    """(debit, credit) account ids of the trade's ledger entry."""
    return (trade.account_id, trade.maker_id) if trade.cost > 0 else (trade.maker_id, trade.account_id)


def _write_orm(trade: TradeWrite) -> int:
    forecast = Forecast.objects.create(
        user_id=trade.user_id, market_id=trade.market_id,
        probability_before=trade.probability_before, probability_after=trade.probability_after,
        delta_yes=trade.delta_yes, delta_no=trade.delta_no, cost=trade.cost,
    )
    Market.objects.filter(pk=trade.market_id).update(q_yes=trade.q_yes, q_no=trade.q_no)
    position = {"shares_yes": trade.shares_yes, "shares_no": trade.shares_no, "net_cost": trade.net_cost,
                "updated_at": trade.now}
    if trade.position_id is None:
        Position.objects.create(user_id=trade.user_id, market_id=trade.market_id, **position)
    else:
        Position.objects.filter(pk=trade.position_id).update(**position)
    if trade.cost:
        debit, credit = _ledger_sides(trade)
        LedgerEntry.objects.create(kind=LedgerEntry.Kind.TRADE, debit_account_id=debit, credit_account_id=credit,
                                   amount=abs(trade.cost), market_id=trade.market_id, forecast=forecast)
        from market.services.accounts import balances_set

        balances_set({trade.account_id: trade.account_balance, trade.maker_id: trade.maker_balance})
    return forecast.pk


def _write_single_statement(trade: TradeWrite) -> int:
    forecast, market, position = Forecast._meta.db_table, Market._meta.db_table, Position._meta.db_table
    ledger, account = LedgerEntry._meta.db_table, Account._meta.db_table
    debit, credit = _ledger_sides(trade)
    moves_points = bool(trade.cost)
    sql = f"""
        WITH f AS (
            INSERT INTO {forecast} (user_id, market_id, probability_before, probability_after,
                                    delta_yes, delta_no, cost, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
        ), m AS (
            UPDATE {market} SET q_yes = %s, q_no = %s WHERE id = %s
        ), p AS (
            INSERT INTO {position} (user_id, market_id, shares_yes, shares_no, net_cost, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (user_id, market_id) DO UPDATE SET shares_yes = EXCLUDED.shares_yes,
                shares_no = EXCLUDED.shares_no, net_cost = EXCLUDED.net_cost, updated_at = EXCLUDED.updated_at
        ), l AS (
            INSERT INTO {ledger} (kind, debit_account_id, credit_account_id, amount, market_id, forecast_id,
                                  memo, created_at)
            SELECT %s, %s, %s, %s, %s, f.id, '', %s FROM f WHERE %s
        ), a AS (
            UPDATE {account} SET balance = CASE id WHEN %s THEN %s::numeric ELSE %s::numeric END
            WHERE id IN (%s, %s) AND %s
        )
        SELECT id FROM f
    """
    params = [
        trade.user_id, trade.market_id, trade.probability_before, trade.probability_after,
        trade.delta_yes, trade.delta_no, trade.cost, trade.now,
        trade.q_yes, trade.q_no, trade.market_id,
        trade.user_id, trade.market_id, trade.shares_yes, trade.shares_no, trade.net_cost, trade.now,
        LedgerEntry.Kind.TRADE.value, debit, credit, abs(trade.cost), trade.market_id, trade.now, moves_points,
        trade.account_id, trade.account_balance, trade.maker_balance, trade.account_id, trade.maker_id, moves_points,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
