"""Reading the locked state of one trade and writing it: the forecast, the market's q, the position,
the ledger entry and both balances.

A trade locks the market row, then the trader's and the maker's accounts (ascending id, like every
writer), decides in Python from what it read (market.services.forecasts), and writes absolute values.

Two implementations produce the same rows (tests/market/test_trade_write.py):

* the ORM one, used on SQLite and whenever the caller is already inside a transaction;
* on PostgreSQL, the hot path of the site: two *pipelined* round trips, with server-side binding so
  the statements are prepared once per connection. The first sends ``BEGIN``, the market lock and the
  account locks (with the trader's position) together; the second sends the five writes (one
  statement of data-modifying CTEs) and ``COMMIT`` together. The server still runs the statements one
  after the other, so the lock order and the snapshot rules are those of the ORM path; only the
  network waits, the ORM's query compilation and the server's planning (the three statements are
  prepared once per connection) go. Anything that fails rolls the transaction back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Subquery

from market.models import Account, Forecast, LedgerEntry, Market, Position

ZERO = Decimal(0)


@dataclass(frozen=True)
class MarketState:
    """The market row's trading fields, as locked."""

    pk: int
    status: str
    close_time: datetime
    liquidity: float
    q_yes: Decimal
    q_no: Decimal


@dataclass(frozen=True)
class LockedTrade:
    """Everything a trade decides from, read under the market and account locks."""

    market: MarketState
    account_id: int
    balance: Decimal
    position_id: int | None  # None: the trader's first trade in this market
    held_yes: Decimal
    held_no: Decimal
    held_cost: Decimal
    maker_id: int
    maker_balance: Decimal


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


Decide = Callable[[LockedTrade], TradeWrite]
"""Turns the locked state into the trade to write, or raises (refusals) to write nothing."""


# --- ORM path --------------------------------------------------------------------------------------

_TRADE_FIELDS = ("id", "status", "close_time", "liquidity", "q_yes", "q_no")


def trade_lock(*, user_id: int, market_id: int) -> LockedTrade | None:
    """Lock the market row, then both accounts, and read the trader's position (inside the caller's
    transaction). None when the trader has no account yet. Raises ``Market.DoesNotExist``.

    The account statement runs after the market lock is granted, so its snapshot already holds the
    last trade of this market, and only holders of that lock change the position."""
    market = Market.objects.select_for_update().only(*_TRADE_FIELDS).get(pk=market_id)
    position = Position.objects.filter(user_id=user_id, market_id=market_id)
    rows = list(
        Account.objects.select_for_update()
        .filter(Q(user_id=user_id) | Q(market_id=market_id))
        .annotate(
            position_id=Subquery(position.values("pk")),
            held_yes=Subquery(position.values("shares_yes"), output_field=Position._meta.get_field("shares_yes")),
            held_no=Subquery(position.values("shares_no"), output_field=Position._meta.get_field("shares_no")),
            held_cost=Subquery(position.values("net_cost"), output_field=Position._meta.get_field("net_cost")),
        )
        .order_by("pk")
    )
    state = MarketState(pk=market.pk, status=market.status, close_time=market.close_time,
                        liquidity=market.liquidity, q_yes=market.q_yes, q_no=market.q_no)
    account = next((a for a in rows if a.user_id == user_id), None)
    maker = next((a for a in rows if a.market_id == market_id), None)
    if maker is None:
        raise Account.DoesNotExist(f"market {market_id} has no maker account")
    if account is None:
        return None
    return LockedTrade(market=state, account_id=account.pk, balance=account.balance, position_id=account.position_id,
                       held_yes=account.held_yes or ZERO, held_no=account.held_no or ZERO,
                       held_cost=account.held_cost or ZERO, maker_id=maker.pk, maker_balance=maker.balance)


def trade_write(trade: TradeWrite, *, single_statement: bool | None = None) -> int:
    """Write the trade (inside the caller's transaction); returns the new Forecast's id."""
    if single_statement is None:
        single_statement = connection.vendor == "postgresql"
    if single_statement:
        sql, params = _write_statement(trade)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    return _write_orm(trade)


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


# --- PostgreSQL: one statement for the writes, and the pipelined hot path -------------------------

_T = {"forecast": Forecast._meta.db_table, "market": Market._meta.db_table, "position": Position._meta.db_table,
      "ledger": LedgerEntry._meta.db_table, "account": Account._meta.db_table}

_WRITE_SQL = f"""
    WITH f AS (
        INSERT INTO {_T["forecast"]} (user_id, market_id, probability_before, probability_after,
                                      delta_yes, delta_no, cost, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
    ), m AS (
        UPDATE {_T["market"]} SET q_yes = %s, q_no = %s WHERE id = %s
    ), p AS (
        INSERT INTO {_T["position"]} (user_id, market_id, shares_yes, shares_no, net_cost, updated_at)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, market_id) DO UPDATE SET shares_yes = EXCLUDED.shares_yes,
            shares_no = EXCLUDED.shares_no, net_cost = EXCLUDED.net_cost, updated_at = EXCLUDED.updated_at
    ), l AS (
        INSERT INTO {_T["ledger"]} (kind, debit_account_id, credit_account_id, amount, market_id, forecast_id,
                                    memo, created_at)
        SELECT %s::varchar, %s::bigint, %s::bigint, %s::numeric, %s::bigint, f.id, '', %s::timestamptz
        FROM f WHERE %s::boolean
    ), a AS (
        UPDATE {_T["account"]} SET balance = CASE id WHEN %s THEN %s::numeric ELSE %s::numeric END
        WHERE id IN (%s, %s) AND %s::boolean
    )
    SELECT id FROM f
"""

_MARKET_LOCK_SQL = (f"SELECT id, status, close_time, liquidity, q_yes, q_no FROM {_T['market']} "
                    f"WHERE id = %s FOR UPDATE")

# The maker's account has no user, so the join finds a position only for the trader.
_ACCOUNTS_LOCK_SQL = f"""
    SELECT a.id, a.user_id, a.balance, p.id, p.shares_yes, p.shares_no, p.net_cost
    FROM {_T["account"]} a
    LEFT JOIN {_T["position"]} p ON p.user_id = a.user_id AND p.market_id = %s
    WHERE a.user_id = %s OR a.market_id = %s
    ORDER BY a.id
    FOR UPDATE OF a
"""


def _write_statement(trade: TradeWrite) -> tuple[str, list]:
    debit, credit = _ledger_sides(trade)
    moves_points = bool(trade.cost)
    params = [
        trade.user_id, trade.market_id, trade.probability_before, trade.probability_after,
        trade.delta_yes, trade.delta_no, trade.cost, trade.now,
        trade.q_yes, trade.q_no, trade.market_id,
        trade.user_id, trade.market_id, trade.shares_yes, trade.shares_no, trade.net_cost, trade.now,
        LedgerEntry.Kind.TRADE.value, debit, credit, abs(trade.cost), trade.market_id, trade.now, moves_points,
        trade.account_id, trade.account_balance, trade.maker_balance, trade.account_id, trade.maker_id, moves_points,
    ]
    return _WRITE_SQL, params


def pipelined_available() -> bool:
    """The pipelined path applies: PostgreSQL (psycopg 3 with pipeline support) and no open transaction
    (inside one, the caller's transaction must own BEGIN and COMMIT, so the ORM path runs)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    import psycopg

    return psycopg.Pipeline.is_supported() and connection.get_autocommit()


def trade_pipelined(*, user_id: int, market_id: int, decide: Decide) -> tuple[TradeWrite, int] | None:
    """Run one trade as its own transaction in two pipelined round trips (see the module docstring).

    Returns (the trade, the new Forecast's id), or None — with nothing written — when the trader has no
    account yet. Raises ``Market.DoesNotExist``, whatever ``decide`` raises, or a database error; in
    every such case the transaction is rolled back.
    """
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        try:
            with raw.pipeline():
                psycopg.Cursor(raw).execute("BEGIN")
                market_cur = psycopg.Cursor(raw)
                market_cur.execute(_MARKET_LOCK_SQL, (market_id,), prepare=True)
                accounts_cur = psycopg.Cursor(raw)
                accounts_cur.execute(_ACCOUNTS_LOCK_SQL, (market_id, user_id, market_id), prepare=True)
                market_row = market_cur.fetchone()
                account_rows = accounts_cur.fetchall()
            if market_row is None:
                raise Market.DoesNotExist(f"No market with id {market_id}.")
            locked = _locked_from_rows(market_row, account_rows, user_id=user_id, market_id=market_id)
            if locked is None:
                _rollback(raw)
                return None
            trade = decide(locked)
            sql, params = _write_statement(trade)
            with raw.pipeline():
                write_cur = psycopg.Cursor(raw)
                write_cur.execute(sql, params, prepare=True)
                psycopg.Cursor(raw).execute("COMMIT")
                forecast_id = write_cur.fetchone()[0]
            return trade, forecast_id
        except BaseException:
            _rollback(raw)
            raise


def _locked_from_rows(market_row: tuple, account_rows: list[tuple], *, user_id: int,
                      market_id: int) -> LockedTrade | None:
    state = MarketState(*market_row)
    account = next((r for r in account_rows if r[1] == user_id), None)
    maker = next((r for r in account_rows if r[1] is None), None)
    if maker is None:
        raise Account.DoesNotExist(f"market {market_id} has no maker account")
    if account is None:
        return None
    _, _, balance, position_id, held_yes, held_no, held_cost = account
    return LockedTrade(market=state, account_id=account[0], balance=balance, position_id=position_id,
                       held_yes=held_yes if held_yes is not None else ZERO,
                       held_no=held_no if held_no is not None else ZERO,
                       held_cost=held_cost if held_cost is not None else ZERO,
                       maker_id=maker[0], maker_balance=maker[2])


def _rollback(raw: object) -> None:
    """Roll back whatever transaction the pipelined path left open (a no-op when none is)."""
    from psycopg.pq import TransactionStatus

    if raw.closed:  # type: ignore[attr-defined]
        return
    try:
        if raw.info.transaction_status != TransactionStatus.IDLE:  # type: ignore[attr-defined]
            raw.execute("ROLLBACK")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the connection is broken: drop it, the server rolls back
        connection.close()
