"""Logarithmic market scoring rule (Hanson 2003) over n outcomes, pure float maths, no Django.

State: outstanding shares ``q = (q_1 … q_n)`` and the liquidity ``b`` (points).

* cost      C(q)  = b · ln Σ_i exp(q_i/b)                  (log-sum-exp, stable for large q)
* price     p_i   = exp(q_i/b) / Σ_j exp(q_j/b)             (softmax; the prices sum to 1)
* a forecast moves every price to a target distribution p': q_i' = b · ln p_i' + c. Only relative q
  matters, so ``c`` is the smallest constant that leaves no holding negative (the trader sells held
  shares first); the trade then costs C(q') − C(q) = c − C(q).
* the maker's worst loss is b · ln n (the subsidy funds it).

The binary market is the case n = 2 with ``q = (q_yes, q_no)``: the functions ``cost``, ``price``,
``trade_to_price`` … below are that case of the n-outcome functions, written with the YES/NO names
the binary market uses. There, moving the price from p0 up to p1 buys YES shares
Δ = b·ln(p1(1−p0)/(p0(1−p1))) for b·ln((1−p0)/(1−p1)), the closed form of ``cost_to_price``.

Reference: R. Hanson, "Combinatorial information market design", Inf. Syst. Frontiers 5 (2003).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)
MAX_OUTCOMES = 1000  # a sanity bound for the maths; markets allow far fewer bins


def _check_b(b: float) -> None:
    if not (b > 0 and math.isfinite(b)):
        raise ValueError(f"liquidity b must be a positive finite number, got {b!r}")


def _check_p(p: float) -> None:
    if not (0.0 < p < 1.0):
        raise ValueError(f"probability must lie strictly between 0 and 1, got {p!r}")


def _vector(q: Sequence[float] | np.ndarray, name: str = "q") -> np.ndarray:
    arr = np.asarray(q, dtype=float)
    if arr.ndim != 1 or not (2 <= arr.size <= MAX_OUTCOMES):
        raise ValueError(f"{name} must be a vector of 2 to {MAX_OUTCOMES} outcomes, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _distribution(p: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = _vector(p, "target distribution")
    if arr.size != n:
        raise ValueError(f"target distribution must have {n} probabilities, got {arr.size}")
    if np.any(arr <= 0) or np.any(arr >= 1):
        raise ValueError("every probability of the target distribution must lie strictly between 0 and 1")
    if abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError(f"the target distribution must sum to 1, got {arr.sum()!r}")
    return arr / arr.sum()


# --- n outcomes -------------------------------------------------------------------------------------

def cost_n(q: Sequence[float] | np.ndarray, b: float) -> float:
    """C(q) = b·ln Σ exp(q_i/b), points."""
    _check_b(b)
    arr = _vector(q)
    hi = float(arr.max())
    return hi + b * math.log(float(np.exp((arr - hi) / b).sum()))


def prices_n(q: Sequence[float] | np.ndarray, b: float) -> np.ndarray:
    """The price (probability) of every outcome; they sum to 1."""
    _check_b(b)
    arr = _vector(q)
    e = np.exp((arr - arr.max()) / b)
    return e / e.sum()


def max_loss_n(b: float, n: int) -> float:
    """The maker's worst-case loss b·ln n, which the opening subsidy funds."""
    _check_b(b)
    if not (2 <= n <= MAX_OUTCOMES):
        raise ValueError(f"n must lie between 2 and {MAX_OUTCOMES}, got {n!r}")
    return b * math.log(n)


@dataclass(frozen=True)
class TradeN:
    """A trade to a target distribution; ``deltas`` are the trader's (and q's) signed share changes."""

    deltas: np.ndarray
    cost: float  # points the trader pays (negative: receives)
    prices_before: np.ndarray
    prices_after: np.ndarray


def _held(held: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    if held is None:
        return np.zeros(n)
    arr = np.asarray(held, dtype=float)
    if arr.shape != (n,) or np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError(f"held shares must be {n} non-negative finite numbers")
    return arr


def trade_to_distribution(
    q: Sequence[float] | np.ndarray, b: float, target: Sequence[float] | np.ndarray, *,
    held: Sequence[float] | np.ndarray | None = None,
) -> TradeN:
    """The cheapest trade that moves every price to ``target`` for a trader holding ``held`` shares.

    q_i' = b·ln p_i' + c with c = max_i (q_i − h_i − b·ln p_i'): the smallest c for which no holding
    h_i + Δ_i goes below zero (one holding ends at exactly zero; the trader sells before buying).
    """
    _check_b(b)
    q_arr = _vector(q)
    p = _distribution(target, q_arr.size)
    h = _held(held, q_arr.size)
    log_p = np.log(p)
    c = float(np.max(q_arr - h - b * log_p))
    deltas = b * log_p + c - q_arr
    return TradeN(deltas=deltas, cost=c - cost_n(q_arr, b), prices_before=prices_n(q_arr, b), prices_after=p)


def trade_cost_n(q: Sequence[float] | np.ndarray, b: float, deltas: Sequence[float] | np.ndarray) -> float:
    """C(q + Δ) − C(q): what buying (Δ > 0) and selling (Δ < 0) those shares costs, points."""
    q_arr = _vector(q)
    return cost_n(q_arr + np.asarray(deltas, dtype=float), b) - cost_n(q_arr, b)


def furthest_affordable_t(
    q: Sequence[float] | np.ndarray, b: float, target: Sequence[float] | np.ndarray, budget: float, *,
    held: Sequence[float] | np.ndarray | None = None, tol: float = 1e-9,
) -> float:
    """The largest t in [0, 1] for which moving to t·target + (1−t)·current costs at most ``budget``.

    The cost of that move, c(t) − C(q) with c(t) = max_i (q_i − h_i − b·ln p_i(t)), is a maximum of
    functions convex in t (−ln of an affine function), so it is convex; it starts at −min h ≤ 0 at
    t = 0, and the affordable set is an interval [0, t*] that bisection finds.
    """
    if not (budget >= 0 and math.isfinite(budget)):
        raise ValueError("budget must be a non-negative finite number")
    q_arr = _vector(q)
    p1 = _distribution(target, q_arr.size)
    p0 = prices_n(q_arr, b)
    h = _held(held, q_arr.size)
    base = q_arr - h
    c0 = cost_n(q_arr, b)

    def cost_at(t: float) -> float:
        return float(np.max(base - b * np.log(t * p1 + (1.0 - t) * p0))) - c0

    if cost_at(1.0) <= budget:
        return 1.0
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if cost_at(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


# --- the binary market: n = 2, q = (q_yes, q_no) ----------------------------------------------------

def cost(q_yes: float, q_no: float, b: float) -> float:
    """LMSR cost function C(q), points."""
    return cost_n((q_yes, q_no), b)


def price(q_yes: float, q_no: float, b: float) -> float:
    """Price of YES, i.e. the market probability, in (0, 1)."""
    return float(prices_n((q_yes, q_no), b)[0])


def logit(p: float) -> float:
    _check_p(p)
    return math.log(p) - math.log1p(-p)


def shares_to_price(q_yes: float, q_no: float, b: float, p: float) -> float:
    """Signed change of d = q_yes − q_no that moves the price to ``p``.

    Positive: buy that many YES shares (or sell NO); negative: buy that many NO shares (or sell YES).
    """
    _check_b(b)
    return b * logit(p) - (q_yes - q_no)


def cost_to_price(q_yes: float, q_no: float, b: float, p: float) -> float:
    """Cost of moving the price to ``p`` by buying only (no position to sell), points.

    Closed form: up by buying YES costs b·ln((1−p0)/(1−p1)); down by buying NO costs b·ln(p0/p1).
    """
    p0 = price(q_yes, q_no, b)
    _check_p(p)
    if p >= p0:
        return b * (math.log1p(-p0) - math.log1p(-p))
    return b * (math.log(p0) - math.log(p))


def max_loss(b: float, n: int = 2) -> float:
    """The maker's worst-case loss b·ln n (b·ln 2 for a binary market)."""
    return max_loss_n(b, n)


@dataclass(frozen=True)
class Trade:
    """A trade that moves the price; deltas are signed share changes of the trader (and of q)."""

    delta_yes: float
    delta_no: float
    cost: float  # points the trader pays (negative: receives)
    probability_before: float
    probability_after: float


def split_move(d: float, *, held_yes: float = 0.0, held_no: float = 0.0) -> tuple[float, float]:
    """Split a signed move of q_yes − q_no into (delta_yes, delta_no), selling held opposite shares first.

    Moving up (d > 0) first sells NO shares the trader holds, then buys YES; moving down is symmetric.
    """
    if held_yes < 0 or held_no < 0:
        raise ValueError("held shares must be non-negative")
    if d >= 0:
        sell_no = min(held_no, d)
        return d - sell_no, -sell_no
    sell_yes = min(held_yes, -d)
    return -sell_yes, -d - sell_yes


def trade_to_price(
    q_yes: float, q_no: float, b: float, p: float, *, held_yes: float = 0.0, held_no: float = 0.0
) -> Trade:
    """The trade that moves the price to ``p`` for a trader holding ``held_yes``/``held_no`` shares.

    The n = 2 case of ``trade_to_distribution`` with target (p, 1 − p). A binary trader holds one side
    at most (the other is sold first), so its smallest constant is the one that sells that side."""
    _check_p(p)
    trade = trade_to_distribution((q_yes, q_no), b, (p, 1.0 - p), held=(held_yes, held_no))
    d = float(trade.deltas[0] - trade.deltas[1])
    delta_yes, delta_no = split_move(d, held_yes=held_yes, held_no=held_no)
    return Trade(
        delta_yes=delta_yes,
        delta_no=delta_no,
        cost=trade_cost_n((q_yes, q_no), b, (delta_yes, delta_no)),
        probability_before=float(trade.prices_before[0]),
        probability_after=price(q_yes + delta_yes, q_no + delta_no, b),
    )


def furthest_affordable(
    q_yes: float, q_no: float, b: float, p: float, budget: float, *, held_yes: float = 0.0,
    held_no: float = 0.0,
) -> float:
    """The price closest to ``p`` (in the direction of ``p``) that a trader with ``budget`` points can reach.

    Selling held opposite shares only earns points, so the trader always reaches the point where that
    position is exhausted; beyond it, buying from p_k with the remaining budget B' reaches
    1 − (1 − p_k)·exp(−B'/b) going up and p_k·exp(−B'/b) going down.
    """
    if budget < 0:
        raise ValueError("budget must be non-negative")
    p0 = price(q_yes, q_no, b)
    trade = trade_to_price(q_yes, q_no, b, p, held_yes=held_yes, held_no=held_no)
    if trade.cost <= budget:
        return p
    up = p > p0
    # The point where selling stops (the trader's opposite position is used up).
    kink_yes, kink_no = (q_yes, q_no - held_no) if up else (q_yes - held_yes, q_no)
    p_k = price(kink_yes, kink_no, b)
    left = budget - (cost(kink_yes, kink_no, b) - cost(q_yes, q_no, b))
    if up:
        return 1.0 - (1.0 - p_k) * math.exp(-left / b)
    return p_k * math.exp(-left / b)
