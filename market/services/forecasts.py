"""Forecasts: moving a market's LMSR prices (one forecast = one trade).

A binary forecast moves the price of YES to a probability; a numeric forecast moves every bin's price
to a target distribution (market.distributions). Both are the same trade on the n-outcome LMSR
(market.lmsr.trade_to_distribution, with target (p, 1 − p) for a binary market) and the same write
path (market.services.trade_write).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from market import lmsr
from market.distributions import Bins, DistributionError, pmf_from_input
from market.exceptions import ForecastNoop, InsufficientBalance, MarketNotOpen, ProbabilityInvalid
from market.models import Market, MarketKind, MarketStatus, Position
from market.models.fields import QUANTUM
from market.services.accounts import account_open
from market.services.trade_write import (
    LockedTrade,
    MarketState,
    TradeWrite,
    decimals_load,
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
    probability_before: float | None  # binary markets
    probability_after: float | None
    delta_yes: Decimal  # YES shares bought (+) or sold (−)
    delta_no: Decimal
    cost: Decimal  # points paid (+) or received (−)
    shares_yes: Decimal  # the position after the trade
    shares_no: Decimal
    balance: Decimal  # the balance after the trade
    dry_run: bool
    forecast_id: int | None = None
    # Numeric markets: the distribution before and after, and the shares per outcome after the trade
    # (each share of the outcome that happens pays 1 point, so ``shares`` is the payout per outcome).
    prices_before: tuple[float, ...] | None = None
    prices_after: tuple[float, ...] | None = None
    deltas: tuple[Decimal, ...] | None = None
    shares: tuple[Decimal, ...] | None = None

    @property
    def payout_if_yes(self) -> Decimal:
        return self.shares_yes

    @property
    def payout_if_no(self) -> Decimal:
        return self.shares_no


@dataclass(frozen=True)
class _Plan:
    deltas: tuple[Decimal, ...]
    cost: Decimal
    prices_before: np.ndarray
    prices_after: np.ndarray


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


def market_bins(market: Market) -> Bins:
    """The outcome space of a numeric market."""
    return Bins(lo=float(market.range_lo), hi=float(market.range_hi), n=int(market.n_bins),
                open_lower=market.open_lower, open_upper=market.open_upper)


def target_validate(*, market: Market, data: dict) -> tuple[np.ndarray, str]:
    """A numeric forecast's target distribution (one probability per outcome) from ``{cdf}``,
    ``{components}`` or ``{quantiles}``; raises DistributionError naming the field."""
    return pmf_from_input(market_bins(market), data)


def _check_open(market: Market | MarketState) -> None:
    if market.status != MarketStatus.OPEN:
        raise MarketNotOpen(f"This market is {market.status}; it no longer accepts forecasts.")
    if timezone.now() >= market.close_time:
        raise MarketNotOpen(
            f"This market closed at {market.close_time:%Y-%m-%d %H:%M} UTC; it no longer accepts forecasts."
        )


def _plan(market: MarketState, held: tuple[Decimal, ...], target: np.ndarray) -> _Plan:
    """The trade to ``target`` in exact decimals: q stays the exact sum of all deltas, no holding goes
    below zero, and the trader pays the LMSR cost of the quantized shares rounded up to 1e-8 (so the
    maker never loses to rounding)."""
    b = market.liquidity
    q = np.array([float(x) for x in market.q])
    h = np.array([float(x) for x in held])
    # lmsr.trade_to_distribution: Δ_i = c − x_i − h_i with x_i = q_i − h_i − b·ln p_i' and c = max x.
    # Quantizing c − x_i (≥ 0) and subtracting the exact holding keeps every holding ≥ 0 exactly.
    x = q - h - b * np.log(target)
    c = float(x.max())
    # "%.8f" rounds the exact binary value half-even, as Decimal(v).quantize(QUANTUM) would, in a
    # fraction of the time (n up to 202 per forecast).
    bought = [f"{v:.8f}" for v in (c - x).tolist()]
    deltas = tuple(Decimal(v) - hi for v, hi in zip(bought, held, strict=True))
    q1 = q - h + np.array(bought, dtype=float)  # = q + Δ, as floats
    c0, c1 = lmsr.cost_n(q, b), lmsr.cost_n(q1, b)
    moved = any(deltas)
    # p_i = exp((q_i − C(q))/b): the prices from the costs already computed (lmsr.prices_n, without
    # computing the log-sum-exp twice on the hot path).
    before, after = np.exp((q - c0) / b), np.exp((q1 - c1) / b)
    return _Plan(
        deltas=deltas,
        cost=Decimal(c1 - c0).quantize(QUANTUM, rounding=ROUND_CEILING) if moved else ZERO,
        prices_before=before / before.sum(),
        prices_after=after / after.sum(),
    )


def _binary_target(p: float) -> np.ndarray:
    return np.array([p, 1.0 - p])


def _refuse_binary(market: MarketState, plan: _Plan, p: float, balance: Decimal,
                   held: tuple[Decimal, ...]) -> InsufficientBalance:
    p0 = float(plan.prices_before[0])
    low, high = settings.PATHMARKET["MIN_PROBABILITY"], settings.PATHMARKET["MAX_PROBABILITY"]
    furthest = lmsr.furthest_affordable(
        float(market.q_yes), float(market.q_no), market.liquidity, p,
        max(float(balance) - 1e-6, 0.0),  # margin for the 1e-8 rounding of shares and cost
        held_yes=float(held[0]), held_no=float(held[1]),
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


def _refuse_numeric(market: MarketState, plan: _Plan, target: np.ndarray, balance: Decimal,
                    held: tuple[Decimal, ...], field: str) -> InsufficientBalance:
    t = lmsr.furthest_affordable_t(
        [float(x) for x in market.q], market.liquidity, target, max(float(balance) - 1e-6, 0.0),
        held=[float(x) for x in held],
    )
    t = math.floor(t * 1e4) / 1e4  # toward the current distribution, so the figure is affordable
    tail = (f"The furthest you can afford is t = {t:.4f} of the way: t·target + (1 − t)·current."
            if t > 0 else "You cannot afford to move this market's distribution towards that target.")
    return InsufficientBalance(
        f"Insufficient balance: moving the distribution to your target costs {plan.cost:.2f} points but "
        f"your balance is {balance:.2f}. {tail}",
        cost=plan.cost, balance=balance, furthest_probability=None, furthest_t=t if t > 0 else None,
        field=field,
    )


def _checked_plan(market: MarketState, balance: Decimal, held: tuple[Decimal, ...], target: np.ndarray,
                  *, field: str) -> _Plan:
    """The plan to ``target``, or the refusal a quote and a forecast share (market not open, no move,
    balance too low)."""
    _check_open(market)
    plan = _plan(market, held, target)
    if not any(plan.deltas) or float(np.abs(target - plan.prices_before).max()) < NOOP_TOLERANCE:
        if market.numeric:
            refusal = ForecastNoop("The market's distribution is already your target: this forecast would "
                                   "trade nothing.")
            refusal.field = field
            raise refusal
        before, p = float(plan.prices_before[0]), float(target[0])
        raise ForecastNoop(f"The price is already {before:.1%}: a forecast of {p:.1%} would trade nothing. "
                           "Pick a different probability to move the price.")
    if plan.cost > balance:
        if market.numeric:
            raise _refuse_numeric(market, plan, target, balance, held, field)
        raise _refuse_binary(market, plan, float(target[0]), balance, held)
    return plan


def _market_id(market: Market | int) -> int:
    return market.pk if isinstance(market, Market) else int(market)


def _state_of(market: Market) -> MarketState:
    q = decimals_load(market.q_bins) if market.kind == MarketKind.NUMERIC else (market.q_yes, market.q_no)
    return MarketState(pk=market.pk, status=market.status, close_time=market.close_time,
                       liquidity=market.liquidity, kind=market.kind, q=q)


def _result(market: MarketState, plan: _Plan, held: tuple[Decimal, ...], balance: Decimal, *, dry_run: bool,
            forecast_id: int | None = None) -> ForecastResult:
    shares = tuple(h + d for h, d in zip(held, plan.deltas, strict=True))
    numeric = market.numeric
    return ForecastResult(
        market_id=market.pk,
        probability_before=None if numeric else float(plan.prices_before[0]),
        probability_after=None if numeric else float(plan.prices_after[0]),
        delta_yes=ZERO if numeric else plan.deltas[0], delta_no=ZERO if numeric else plan.deltas[1],
        cost=plan.cost,
        shares_yes=ZERO if numeric else shares[0], shares_no=ZERO if numeric else shares[1],
        balance=balance, dry_run=dry_run, forecast_id=forecast_id,
        prices_before=tuple(float(x) for x in plan.prices_before) if numeric else None,
        prices_after=tuple(float(x) for x in plan.prices_after) if numeric else None,
        deltas=plan.deltas if numeric else None, shares=shares if numeric else None,
    )


def _target_of(market: Market | MarketState, probability: object, distribution: dict | None) -> tuple[np.ndarray, str]:
    """(target distribution, the input field it came from)."""
    numeric = market.kind == MarketKind.NUMERIC
    if numeric:
        if distribution is None:
            raise DistributionError("distribution", "a numeric market takes a distribution: send one of "
                                                        "cdf, components or quantiles.")
        if not isinstance(market, Market):
            raise TypeError("a numeric target needs the market row")
        return target_validate(market=market, data=distribution)
    if distribution is not None and probability is None:
        raise ProbabilityInvalid("a binary market takes a probability, not a distribution.")
    return _binary_target(probability_validate(probability)), "probability"


def forecast_quote(*, user: AbstractBaseUser, market: Market | int, probability: float | None = None,
                   distribution: dict | None = None) -> ForecastResult:
    """What ``forecast_place`` would do now, without writing anything (raises the same errors)."""
    market_obj = market if isinstance(market, Market) else Market.objects.get(pk=_market_id(market))
    target, field = _target_of(market_obj, probability, distribution)
    state = _state_of(market_obj)
    _check_open(state)  # before opening an account for the user
    account = account_open(user=user)
    position = Position.objects.filter(user=user, market=market_obj).first()
    held = _position_held(state, position)
    plan = _checked_plan(state, account.balance, held, target, field=field)
    return _result(state, plan, held, account.balance - plan.cost, dry_run=True)


def _position_held(state: MarketState, position: Position | None) -> tuple[Decimal, ...]:
    if position is None:
        return tuple(ZERO for _ in state.q)
    if state.numeric:
        return decimals_load(position.shares_bins) or tuple(ZERO for _ in state.q)
    return (position.shares_yes, position.shares_no)


def _decide(locked: LockedTrade, *, user_id: int, target: np.ndarray, field: str) -> TradeWrite:
    """The trade to write from the locked state, or a refusal (market not open, balance too low)."""
    market = locked.market
    if len(target) != len(market.q):
        raise DistributionError(field, "the market's bins changed; quote again.")
    plan = _checked_plan(market, locked.balance, locked.held, target, field=field)
    numeric = market.numeric
    return TradeWrite(
        user_id=user_id, market_id=market.pk, account_id=locked.account_id, maker_id=locked.maker_id,
        position_id=locked.position_id, numeric=numeric,
        probability_before=None if numeric else float(plan.prices_before[0]),
        probability_after=None if numeric else float(plan.prices_after[0]),
        prices_before=tuple(float(x) for x in plan.prices_before) if numeric else None,
        prices_after=tuple(float(x) for x in plan.prices_after) if numeric else None,
        deltas=plan.deltas, cost=plan.cost,
        q=tuple(q + d for q, d in zip(market.q, plan.deltas, strict=True)),
        shares=tuple(h + d for h, d in zip(locked.held, plan.deltas, strict=True)),
        net_cost=locked.held_cost + plan.cost,
        account_balance=locked.balance - plan.cost, maker_balance=locked.maker_balance + plan.cost,
        now=timezone.now(),
    )


def forecast_place(
    *, user: AbstractBaseUser, market: Market | int, probability: float | None = None,
    distribution: dict | None = None, dry_run: bool = False,
) -> ForecastResult:
    """Move the market's prices for ``user``: to ``probability`` (binary) or to the target ``distribution``
    (numeric: ``{cdf}``, ``{components}`` or ``{quantiles}``), selling held shares first, then buying.

    One transaction: lock the market row, then the trader's and the maker's accounts; refuse (changing
    nothing) when the market is not open, the input is invalid or the balance cannot pay. On PostgreSQL,
    outside a caller's transaction, that is two pipelined round trips (market.services.trade_write);
    elsewhere the ORM writes the same rows.
    """
    if dry_run:
        return forecast_quote(user=user, market=market, probability=probability, distribution=distribution)
    market_id = _market_id(market)
    if distribution is None and probability is None:  # say what this market takes
        _target_of(market if isinstance(market, Market) else Market.objects.get(pk=market_id), None, None)
    if distribution is not None:  # numeric: the bins come from the market row (they never change)
        market_obj = market if isinstance(market, Market) else Market.objects.get(pk=market_id)
        target, field = _target_of(market_obj, probability, distribution)
    else:
        target, field = _binary_target(probability_validate(probability)), "probability"

    def decide(locked: LockedTrade) -> TradeWrite:
        if locked.market.numeric != (distribution is not None):
            if locked.market.numeric:
                raise DistributionError("distribution", "a numeric market takes a distribution: send one "
                                                            "of cdf, components or quantiles.")
            raise ProbabilityInvalid("a binary market takes a probability, not a distribution.")
        return _decide(locked, user_id=user.pk, target=target, field=field)

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
    held = tuple(s - d for s, d in zip(trade.shares, trade.deltas, strict=True))
    plan = _Plan(deltas=trade.deltas, cost=trade.cost, prices_before=_prices_before(trade),
                 prices_after=np.array(trade.prices_after if trade.numeric else
                                       (trade.probability_after, 1 - trade.probability_after)))
    state = MarketState(pk=trade.market_id, status=MarketStatus.OPEN, close_time=timezone.now(), liquidity=0.0,
                        kind=MarketKind.NUMERIC if trade.numeric else MarketKind.BINARY, q=trade.q)
    return _result(state, plan, held, trade.account_balance, dry_run=False, forecast_id=forecast_id)


def _prices_before(trade: TradeWrite) -> np.ndarray:
    if not trade.numeric:
        return np.array([trade.probability_before, 1 - trade.probability_before])
    return np.asarray(trade.prices_before, dtype=float)
