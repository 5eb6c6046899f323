"""Reading the locked state of one trade and writing it: the forecast, the market's q, the position,
the ledger entry and both balances. Binary and numeric markets share it: the state is a vector of
outstanding shares, ``(q_yes, q_no)`` or one entry per bin.

A trade locks the market row, then the trader's and the maker's accounts (ascending id, like every
writer), decides in Python from what it read (market.services.forecasts), and writes absolute values.

The columns a trade writes are listed once, in ``trade_rows``; everything else is generated from those
names and the models' metadata (table and column names, database types, value adaptation):

* on PostgreSQL, the hot path of the site: two *pipelined* round trips, with server-side binding so
  the statements are prepared once per connection. The first sends ``BEGIN``, the market lock and the
  account locks (with the trader's position) together; the second sends the five writes (one
  statement of data-modifying CTEs with named parameters) and ``COMMIT`` together. The server still
  runs the statements one after the other, so the lock order and the snapshot rules are those of the
  ORM; only the network waits, the ORM's query compilation and the server's planning go. Anything that
  fails rolls the transaction back. Inside a caller's transaction the same write statement runs alone.
* elsewhere (SQLite), the ORM writes the same rows (tests/market/test_trade_write.py checks both).

Why not the ORM alone: on this project's 2-core machine the ORM path placed 166 and 145 forecasts/s at
16 clients, below the 200/s the project asks for (docs/markets.md, "Throughput").
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model, Q, Subquery

from market.models import Account, Forecast, LedgerEntry, Market, MarketKind, Position

ZERO = Decimal(0)


def decimals_load(values: object) -> tuple[Decimal, ...]:
    """A JSON list of decimal strings (q_bins, shares_bins, deltas) as Decimals; () for None."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = json.loads(values)
    return tuple(Decimal(v) if isinstance(v, str) else Decimal(str(v)) for v in values)


def decimals_dump(values: tuple[Decimal, ...]) -> list[str]:
    return [str(v) for v in values]


@dataclass(frozen=True)
class MarketState:
    """The market row's trading fields, as locked; ``q`` is (q_yes, q_no) or the shares per bin."""

    pk: int
    status: str
    close_time: datetime
    liquidity: float
    kind: str
    q: tuple[Decimal, ...]

    @property
    def numeric(self) -> bool:
        return self.kind == MarketKind.NUMERIC

    @property
    def q_yes(self) -> Decimal:
        return self.q[0]

    @property
    def q_no(self) -> Decimal:
        return self.q[1]


@dataclass(frozen=True)
class LockedTrade:
    """Everything a trade decides from, read under the market and account locks."""

    market: MarketState
    account_id: int
    balance: Decimal
    position_id: int | None  # None: the trader's first trade in this market
    held: tuple[Decimal, ...]  # shares held per outcome, like market.q
    held_cost: Decimal
    maker_id: int
    maker_balance: Decimal

    @property
    def held_yes(self) -> Decimal:
        return self.held[0]

    @property
    def held_no(self) -> Decimal:
        return self.held[1]


@dataclass(frozen=True)
class TradeWrite:
    user_id: int
    market_id: int
    account_id: int  # the trader's account
    maker_id: int  # the market maker's account
    position_id: int | None  # None: the trader's first trade in this market
    numeric: bool
    probability_before: float | None  # binary markets
    probability_after: float | None
    prices_before: tuple[float, ...] | None  # numeric markets: the distribution before the trade
    prices_after: tuple[float, ...] | None  # numeric markets: the distribution after the trade
    deltas: tuple[Decimal, ...]  # shares bought (+) or sold (−) per outcome
    cost: Decimal  # > 0: the trader pays the maker; < 0: the maker pays the trader
    q: tuple[Decimal, ...]  # the market's state after the trade
    shares: tuple[Decimal, ...]  # the position after the trade
    net_cost: Decimal
    account_balance: Decimal  # balances after the trade
    maker_balance: Decimal
    now: datetime

    @property
    def delta_yes(self) -> Decimal:
        return ZERO if self.numeric else self.deltas[0]

    @property
    def delta_no(self) -> Decimal:
        return ZERO if self.numeric else self.deltas[1]

    @property
    def shares_yes(self) -> Decimal:
        return ZERO if self.numeric else self.shares[0]

    @property
    def shares_no(self) -> Decimal:
        return ZERO if self.numeric else self.shares[1]


Decide = Callable[[LockedTrade], TradeWrite]
"""Turns the locked state into the trade to write, or raises (refusals) to write nothing."""


def _ledger_sides(trade: TradeWrite) -> tuple[int, int]:
    """(debit, credit) account ids of the trade's ledger entry."""
    return (trade.account_id, trade.maker_id) if trade.cost > 0 else (trade.maker_id, trade.account_id)


def trade_rows(trade: TradeWrite) -> dict[str, dict[str, object]]:
    """The one place that says which columns a trade writes, by model field name.

    ``forecast``: the new Forecast; ``market``: the Market's new state; ``position``: the trader's
    Position (inserted or updated); ``ledger``: the trade's LedgerEntry (with the forecast's id), written
    only when points move. Adding a column to one of these models means adding it here.
    """
    numeric = trade.numeric
    debit, credit = _ledger_sides(trade)
    return {
        "forecast": {
            "user": trade.user_id, "market": trade.market_id,
            "probability_before": trade.probability_before, "probability_after": trade.probability_after,
            "delta_yes": trade.delta_yes, "delta_no": trade.delta_no, "cost": trade.cost,
            "deltas": decimals_dump(trade.deltas) if numeric else None,
            "prices_after": list(trade.prices_after) if numeric and trade.prices_after is not None else None,
            "created_at": trade.now,
        },
        "market": {
            "q_yes": ZERO if numeric else trade.q[0], "q_no": ZERO if numeric else trade.q[1],
            "q_bins": decimals_dump(trade.q) if numeric else None,
        },
        "position": {
            "user": trade.user_id, "market": trade.market_id,
            "shares_yes": trade.shares_yes, "shares_no": trade.shares_no,
            "shares_bins": decimals_dump(trade.shares) if numeric else None,
            "net_cost": trade.net_cost, "updated_at": trade.now,
        },
        "ledger": {
            "kind": LedgerEntry.Kind.TRADE.value, "debit_account": debit, "credit_account": credit,
            "amount": abs(trade.cost), "market": trade.market_id, "memo": "", "created_at": trade.now,
        },
    }


# --- ORM path (SQLite) ------------------------------------------------------------------------------

_MARKET_FIELDS = ("id", "status", "close_time", "liquidity", "kind", "q_yes", "q_no", "q_bins")
_POSITION_FIELDS = ("id", "shares_yes", "shares_no", "shares_bins", "net_cost")


def _state(kind: str, q_yes: Decimal, q_no: Decimal, q_bins: object) -> tuple[Decimal, ...]:
    return decimals_load(q_bins) if kind == MarketKind.NUMERIC else (q_yes, q_no)


def _held(market: MarketState, yes: Decimal | None, no: Decimal | None, bins: object) -> tuple[Decimal, ...]:
    if market.numeric:
        return decimals_load(bins) or tuple(ZERO for _ in market.q)
    return (yes if yes is not None else ZERO, no if no is not None else ZERO)


def trade_lock(*, user_id: int, market_id: int) -> LockedTrade | None:
    """Lock the market row, then both accounts, and read the trader's position (inside the caller's
    transaction). None when the trader has no account yet. Raises ``Market.DoesNotExist``.

    The account statement runs after the market lock is granted, so its snapshot already holds the
    last trade of this market, and only holders of that lock change the position."""
    market = Market.objects.select_for_update().only(*_MARKET_FIELDS).get(pk=market_id)
    position = Position.objects.filter(user_id=user_id, market_id=market_id)
    rows = list(
        Account.objects.select_for_update()
        .filter(Q(user_id=user_id) | Q(market_id=market_id))
        .annotate(**{
            f"held_{name}": Subquery(position.values(name), output_field=Position._meta.get_field(name))
            for name in _POSITION_FIELDS
        })
        .order_by("pk")
    )
    state = MarketState(pk=market.pk, status=market.status, close_time=market.close_time,
                        liquidity=market.liquidity, kind=market.kind,
                        q=_state(market.kind, market.q_yes, market.q_no, market.q_bins))
    account = next((a for a in rows if a.user_id == user_id), None)
    maker = next((a for a in rows if a.market_id == market_id), None)
    if maker is None:
        raise Account.DoesNotExist(f"market {market_id} has no maker account")
    if account is None:
        return None
    return LockedTrade(market=state, account_id=account.pk, balance=account.balance, position_id=account.held_id,
                       held=_held(state, account.held_shares_yes, account.held_shares_no, account.held_shares_bins),
                       held_cost=account.held_net_cost or ZERO, maker_id=maker.pk, maker_balance=maker.balance)


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


def _write_orm(trade: TradeWrite) -> int:
    rows = trade_rows(trade)
    forecast = Forecast.objects.create(**_ids(Forecast, rows["forecast"]))
    Market.objects.filter(pk=trade.market_id).update(**rows["market"])
    position = _ids(Position, rows["position"])
    if trade.position_id is None:
        Position.objects.create(**position)
    else:
        Position.objects.filter(pk=trade.position_id).update(**position)
    if trade.cost:
        LedgerEntry.objects.create(forecast=forecast, **_ids(LedgerEntry, rows["ledger"]))
        from market.services.accounts import balances_set

        balances_set({trade.account_id: trade.account_balance, trade.maker_id: trade.maker_balance})
    return forecast.pk


def _ids(model: type[Model], values: dict[str, object]) -> dict[str, object]:
    """Field names → attnames (a foreign key takes its id: ``market`` → ``market_id``)."""
    return {model._meta.get_field(name).attname: value for name, value in values.items()}


# --- PostgreSQL: SQL generated from trade_rows' names and the models' metadata ---------------------

def _column(model: type[Model], name: str) -> tuple[str, str]:
    """(quoted column, database type) of a model field."""
    field = model._meta.get_field(name)
    return connection.ops.quote_name(field.column), field.db_type(connection)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _placeholder(model: type[Model], prefix: str, name: str) -> str:
    """A named, typed parameter (typed, so the statement can be prepared with server-side binding)."""
    return f"%({prefix}__{name})s::{_column(model, name)[1]}"


@cache
def _write_sql(names: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """The write statement for these column names per row (``trade_rows``' keys), built once."""
    cols = dict(names)

    def insert(model: type[Model], prefix: str) -> tuple[str, str]:
        columns = ", ".join(_column(model, n)[0] for n in cols[prefix])
        values = ", ".join(_placeholder(model, prefix, n) for n in cols[prefix])
        return columns, values

    f_cols, f_vals = insert(Forecast, "forecast")
    p_cols, p_vals = insert(Position, "position")
    l_cols, l_vals = insert(LedgerEntry, "ledger")
    m_set = ", ".join(f"{_column(Market, n)[0]} = {_placeholder(Market, 'market', n)}" for n in cols["market"])
    unique = [_column(Position, n)[0] for n in ("user", "market")]
    p_update = ", ".join(f"{c} = EXCLUDED.{c}" for c in (_column(Position, n)[0] for n in cols["position"])
                         if c not in unique)
    q = connection.ops.quote_name
    balance, account_id = _column(Account, "balance"), q(Account._meta.pk.column)
    return f"""
    WITH f AS (
        INSERT INTO {_table(Forecast)} ({f_cols}) VALUES ({f_vals}) RETURNING {q(Forecast._meta.pk.column)}
    ), m AS (
        UPDATE {_table(Market)} SET {m_set} WHERE {q(Market._meta.pk.column)} = %(market_id)s::bigint
    ), p AS (
        INSERT INTO {_table(Position)} ({p_cols}) VALUES ({p_vals})
        ON CONFLICT ({", ".join(unique)}) DO UPDATE SET {p_update}
    ), l AS (
        INSERT INTO {_table(LedgerEntry)} ({l_cols}, {_column(LedgerEntry, "forecast")[0]})
        SELECT {l_vals}, f.{q(Forecast._meta.pk.column)} FROM f WHERE %(moves_points)s::boolean
    ), a AS (
        UPDATE {_table(Account)} SET {balance[0]} = CASE {account_id}
            WHEN %(account_id)s::bigint THEN %(account_balance)s::{balance[1]}
            ELSE %(maker_balance)s::{balance[1]} END
        WHERE {account_id} IN (%(account_id)s::bigint, %(maker_id)s::bigint) AND %(moves_points)s::boolean
    )
    SELECT {q(Forecast._meta.pk.column)} FROM f
    """


_MODELS = {"forecast": Forecast, "market": Market, "position": Position, "ledger": LedgerEntry}


@cache
def _prep(names: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[str, str, Callable], ...]:
    """(row, field name, the field's value adaptation) for every column, looked up once."""
    return tuple((prefix, name, _MODELS[prefix]._meta.get_field(name).get_db_prep_save)
                 for prefix, fields in names for name in fields)


def _write_statement(trade: TradeWrite) -> tuple[str, dict[str, object]]:
    rows = trade_rows(trade)
    names = tuple((prefix, tuple(values)) for prefix, values in rows.items())
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy's per-attribute lookups add up here
    params: dict[str, object] = {
        "market_id": trade.market_id, "moves_points": bool(trade.cost), "account_id": trade.account_id,
        "maker_id": trade.maker_id, "account_balance": trade.account_balance, "maker_balance": trade.maker_balance,
    }
    for prefix, name, prep in _prep(names):
        params[f"{prefix}__{name}"] = prep(rows[prefix][name], conn)
    return _write_sql(names), params


@cache
def _lock_sql() -> tuple[str, str]:
    """(market lock, accounts lock with the trader's position), generated from the field lists."""
    q = connection.ops.quote_name
    market_cols = ", ".join(_column(Market, n)[0] for n in _MARKET_FIELDS)
    market_sql = f"SELECT {market_cols} FROM {_table(Market)} WHERE {q(Market._meta.pk.column)} = %s FOR UPDATE"
    a_user, a_market = _column(Account, "user")[0], _column(Account, "market")[0]
    p_user, p_market = _column(Position, "user")[0], _column(Position, "market")[0]
    position_cols = ", ".join(f"p.{_column(Position, n)[0]}" for n in _POSITION_FIELDS)
    # The maker's account has no user, so the join finds a position only for the trader.
    accounts_sql = f"""
        SELECT a.{q(Account._meta.pk.column)}, a.{a_user}, a.{_column(Account, "balance")[0]}, {position_cols}
        FROM {_table(Account)} a
        LEFT JOIN {_table(Position)} p ON p.{p_user} = a.{a_user} AND p.{p_market} = %s
        WHERE a.{a_user} = %s OR a.{a_market} = %s
        ORDER BY a.{q(Account._meta.pk.column)}
        FOR UPDATE OF a
    """
    return market_sql, accounts_sql


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
    market_sql, accounts_sql = _lock_sql()
    with connection.wrap_database_errors:
        try:
            with raw.pipeline():
                psycopg.Cursor(raw).execute("BEGIN")
                market_cur = psycopg.Cursor(raw)
                market_cur.execute(market_sql, (market_id,), prepare=True)
                accounts_cur = psycopg.Cursor(raw)
                accounts_cur.execute(accounts_sql, (market_id, user_id, market_id), prepare=True)
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
    pk, status, close_time, liquidity, kind, q_yes, q_no, q_bins = market_row
    state = MarketState(pk=pk, status=status, close_time=close_time, liquidity=liquidity, kind=kind,
                        q=_state(kind, q_yes, q_no, q_bins))
    account = next((r for r in account_rows if r[1] == user_id), None)
    maker = next((r for r in account_rows if r[1] is None), None)
    if maker is None:
        raise Account.DoesNotExist(f"market {market_id} has no maker account")
    if account is None:
        return None
    account_id, _, balance, position_id, held_yes, held_no, held_bins, held_cost = account
    return LockedTrade(market=state, account_id=account_id, balance=balance, position_id=position_id,
                       held=_held(state, held_yes, held_no, held_bins),
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
