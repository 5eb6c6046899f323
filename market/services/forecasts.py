"""Forecasts: moving a market's LMSR price to a probability (one forecast = one trade)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from market import lmsr
from market.exceptions import ForecastNoop, InsufficientBalance, MarketNotOpen, ProbabilityInvalid
from market.models import Market, MarketStatus, Position
from market.models.fields import QUANTUM
from market.services.accounts import account_open
from market.services.trade_write import (
    LockedTrade,
    MarketState,
    TradeWrite,
    pipelined_available,
    trade_lock,
    trade_pipelined,
    trade_write,
)

ZERO = Decimal(0)
NOOP_TOLERANCE = 1e-4  # probability; a move smaller than 0.01 percentage points is no forecast


@dataclass(frozen=True)
class ForecastResult:
    market_id: int
    probability_before: float
    probability_after: float
    delta_yes: Decimal  # YES shares bought (+) or sold (−)
    delta_no: Decimal
    cost: Decimal  # points paid (+) or received (−)
    shares_yes: Decimal  # the position after the trade
    shares_no: Decimal
    balance: Decimal  # the balance after the trade
    dry_run: bool
    forecast_id: int | None = None

    @property
    def payout_if_yes(self) -> Decimal:
        return self.shares_yes

    @property
    def payout_if_no(self) -> Decimal:
        return self.shares_no


@dataclass(frozen=True)
class _Plan:
    delta_yes: Decimal
    delta_no: Decimal
    cost: Decimal
    probability_before: float
    probability_after: float


def probability_validate(value: object) -> float:
    """The probability as a float in [MIN_PROBABILITY, MAX_PROBABILITY], or ProbabilityInvalid."""
    low, high = settings.PATHMARKET["MIN_PROBABILITY"], settings.PATHMARKET["MAX_PROBABILITY"]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ProbabilityInvalid(f"probability must be a number between {low} and {high}.")
    p = float(value)
    if not math.isfinite(p):
        raise ProbabilityInvalid(f"probability must be a finite number between {low} and {high}, not {p}.")
    if not (low <= p <= high):
        raise ProbabilityInvalid(f"probability must be between {low} and {high}; got {p:g}.")
    return p


def _check_open(market: Market | MarketState) -> None:
    if market.status != MarketStatus.OPEN:
        raise MarketNotOpen(f"This market is {market.status}; it no longer accepts forecasts.")
    if timezone.now() >= market.close_time:
        raise MarketNotOpen(
            f"This market closed at {market.close_time:%Y-%m-%d %H:%M} UTC; it no longer accepts forecasts."
        )


def _plan(market: Market | MarketState, held_yes: Decimal, held_no: Decimal, p: float) -> _Plan:
    """The trade to ``p`` in exact decimals: q stays the exact sum of all deltas, and the trader pays
    the LMSR cost of the quantized shares rounded up to 1e-8 (so the maker never loses to rounding)."""
    b = market.liquidity
    q_yes, q_no = market.q_yes, market.q_no
    move = Decimal(lmsr.shares_to_price(float(q_yes), float(q_no), b, p)).quantize(QUANTUM)
    if move >= 0:
        sell_no = min(held_no, move)
        delta_yes, delta_no = move - sell_no, -sell_no
    else:
        sell_yes = min(held_yes, -move)
        delta_yes, delta_no = -sell_yes, -move - sell_yes
    new_yes, new_no = q_yes + delta_yes, q_no + delta_no
    raw = lmsr.cost(float(new_yes), float(new_no), b) - lmsr.cost(float(q_yes), float(q_no), b)
    return _Plan(
        delta_yes=delta_yes,
        delta_no=delta_no,
        cost=Decimal(raw).quantize(QUANTUM, rounding=ROUND_CEILING) if (delta_yes or delta_no) else ZERO,
        probability_before=lmsr.price(float(q_yes), float(q_no), b),
        probability_after=lmsr.price(float(new_yes), float(new_no), b),
    )


def _refuse_unaffordable(market: Market | MarketState, plan: _Plan, p: float, balance: Decimal, held_yes: Decimal,
                         held_no: Decimal) -> InsufficientBalance:
    p0 = plan.probability_before
    low, high = settings.PATHMARKET["MIN_PROBABILITY"], settings.PATHMARKET["MAX_PROBABILITY"]
    furthest = lmsr.furthest_affordable(
        float(market.q_yes), float(market.q_no), market.liquidity, p,
        max(float(balance) - 1e-6, 0.0),  # margin for the 1e-8 rounding of shares and cost
        held_yes=float(held_yes), held_no=float(held_no),
    )
    # Round toward the current price, so quoting the figure back is always affordable.
    furthest = math.floor(furthest * 1e4) / 1e4 if p > p0 else math.ceil(furthest * 1e4) / 1e4
    furthest = min(max(furthest, low), high)
    reachable = (furthest > p0) if p > p0 else (furthest < p0)
    tail = (
        f"The furthest you can afford is {furthest:.4f}."
        if reachable
        else "You cannot afford to move this market's price in that direction."
    )
    return InsufficientBalance(
        f"Insufficient balance: moving the price to {p:g} costs {plan.cost:.2f} points but your balance "
        f"is {balance:.2f}. {tail}",
        cost=plan.cost,
        balance=balance,
        furthest_probability=furthest if reachable else None,
    )


def _market_id(market: Market | int) -> int:
    return market.pk if isinstance(market, Market) else int(market)


def forecast_quote(*, user: AbstractBaseUser, market: Market | int, probability: float) -> ForecastResult:
    """What ``forecast_place`` would do now, without writing anything (raises the same errors)."""
    p = probability_validate(probability)
    market_obj = Market.objects.get(pk=_market_id(market))
    _check_open(market_obj)  # before opening an account for the user
    account = account_open(user=user)
    position = Position.objects.filter(user=user, market=market_obj).first()
    held_yes, held_no = (position.shares_yes, position.shares_no) if position else (ZERO, ZERO)
    plan = _checked_plan(market_obj, account.balance, held_yes, held_no, p)
    return ForecastResult(
        market_id=market_obj.pk,
        probability_before=plan.probability_before,
        probability_after=plan.probability_after,
        delta_yes=plan.delta_yes,
        delta_no=plan.delta_no,
        cost=plan.cost,
        shares_yes=held_yes + plan.delta_yes,
        shares_no=held_no + plan.delta_no,
        balance=account.balance - plan.cost,
        dry_run=True,
    )


def _checked_plan(market: Market | MarketState, balance: Decimal, held_yes: Decimal, held_no: Decimal,
                  p: float) -> _Plan:
    """The plan to ``p``, or the refusal a quote and a forecast share (market not open, no move, balance
    too low)."""
    _check_open(market)
    plan = _plan(market, held_yes, held_no, p)
    if abs(p - plan.probability_before) < NOOP_TOLERANCE or not (plan.delta_yes or plan.delta_no):
        raise ForecastNoop(
            f"The price is already {plan.probability_before:.1%}: a forecast of {p:.1%} would trade nothing. "
            "Pick a different probability to move the price."
        )
    if plan.cost > balance:
        raise _refuse_unaffordable(market, plan, p, balance, held_yes, held_no)
    return plan


def _decide(locked: LockedTrade, *, user_id: int, p: float) -> TradeWrite:
    """The trade to write from the locked state, or a refusal (market not open, balance too low)."""
    market = locked.market
    plan = _checked_plan(market, locked.balance, locked.held_yes, locked.held_no, p)
    return TradeWrite(
        user_id=user_id, market_id=market.pk, account_id=locked.account_id, maker_id=locked.maker_id,
        position_id=locked.position_id,
        probability_before=plan.probability_before, probability_after=plan.probability_after,
        delta_yes=plan.delta_yes, delta_no=plan.delta_no, cost=plan.cost,
        q_yes=market.q_yes + plan.delta_yes, q_no=market.q_no + plan.delta_no,
        shares_yes=locked.held_yes + plan.delta_yes, shares_no=locked.held_no + plan.delta_no,
        net_cost=locked.held_cost + plan.cost,
        account_balance=locked.balance - plan.cost, maker_balance=locked.maker_balance + plan.cost,
        now=timezone.now(),
    )


def forecast_place(
    *, user: AbstractBaseUser, market: Market | int, probability: float, dry_run: bool = False
) -> ForecastResult:
    """Move the market's price to ``probability`` for ``user``: sell opposite shares first, then buy.

    One transaction: lock the market row, then the trader's and the maker's accounts; refuse (changing
    nothing) when the market is not open, the probability is outside [0.01, 0.99] or the balance cannot
    pay. On PostgreSQL, outside a caller's transaction, that is two pipelined round trips
    (market.services.trade_write); elsewhere the ORM runs the same steps.
    """
    if dry_run:
        return forecast_quote(user=user, market=market, probability=probability)
    p = probability_validate(probability)
    market_id = _market_id(market)

    def decide(locked: LockedTrade) -> TradeWrite:
        return _decide(locked, user_id=user.pk, p=p)

    placed = trade_pipelined(user_id=user.pk, market_id=market_id, decide=decide) if pipelined_available() else None
    if placed is None:  # not PostgreSQL, inside a transaction, or the trader's first forecast ever
        with transaction.atomic():
            locked = trade_lock(user_id=user.pk, market_id=market_id)
            if locked is None:
                account_open(user=user)
                locked = trade_lock(user_id=user.pk, market_id=market_id)
            trade = decide(locked)
            placed = trade, trade_write(trade)
    trade, forecast_id = placed
    return ForecastResult(
        market_id=trade.market_id,
        probability_before=trade.probability_before,
        probability_after=trade.probability_after,
        delta_yes=trade.delta_yes,
        delta_no=trade.delta_no,
        cost=trade.cost,
        shares_yes=trade.shares_yes,
        shares_no=trade.shares_no,
        balance=trade.account_balance,
        dry_run=False,
        forecast_id=forecast_id,
    )
