"""Binary logarithmic market scoring rule (Hanson 2003), pure float maths, no Django.

State: outstanding shares ``q_yes`` and ``q_no`` and the liquidity ``b`` (points).

* cost      C(q) = b · ln(exp(q_yes/b) + exp(q_no/b))      (log-sum-exp, stable for large q)
* price     p    = exp(q_yes/b) / (exp(q_yes/b) + exp(q_no/b)) = σ((q_yes − q_no)/b)
* the price depends only on d = q_yes − q_no: moving it to p needs d = b · logit(p)
* buying YES from p0 to p1 costs b · ln((1 − p0)/(1 − p1)); the maker's loss is at most b · ln 2.

Reference: R. Hanson, "Combinatorial information market design", Inf. Syst. Frontiers 5 (2003).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

LN2 = math.log(2.0)


def _check_b(b: float) -> None:
    if not (b > 0 and math.isfinite(b)):
        raise ValueError(f"liquidity b must be a positive finite number, got {b!r}")


def _check_p(p: float) -> None:
    if not (0.0 < p < 1.0):
        raise ValueError(f"probability must lie strictly between 0 and 1, got {p!r}")


def cost(q_yes: float, q_no: float, b: float) -> float:
    """LMSR cost function C(q), points."""
    _check_b(b)
    hi = max(q_yes, q_no)
    return hi + b * math.log(math.exp((q_yes - hi) / b) + math.exp((q_no - hi) / b))


def price(q_yes: float, q_no: float, b: float) -> float:
    """Price of YES, i.e. the market probability, in (0, 1)."""
    _check_b(b)
    x = (q_yes - q_no) / b
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


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


def max_loss(b: float) -> float:
    """The maker's worst-case loss b·ln 2, which the opening subsidy funds."""
    _check_b(b)
    return b * LN2


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
    """The trade that moves the price to ``p`` for a trader holding ``held_yes``/``held_no`` shares."""
    p0 = price(q_yes, q_no, b)
    delta_yes, delta_no = split_move(shares_to_price(q_yes, q_no, b, p), held_yes=held_yes, held_no=held_no)
    q1_yes, q1_no = q_yes + delta_yes, q_no + delta_no
    return Trade(
        delta_yes=delta_yes,
        delta_no=delta_no,
        cost=cost(q1_yes, q1_no, b) - cost(q_yes, q_no, b),
        probability_before=p0,
        probability_after=price(q1_yes, q1_no, b),
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
