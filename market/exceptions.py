"""Errors raised by market services. Each carries a message written for the person who caused it."""
from __future__ import annotations

from decimal import Decimal


class MarketError(Exception):
    """Base class; ``field`` names the input at fault (``probability``) or is None."""

    field: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProbabilityInvalid(MarketError, ValueError):
    field = "probability"


class ForecastNoop(ProbabilityInvalid):
    """The forecast would not move the price (it is already at that probability): nothing to trade."""


class MarketNotOpen(MarketError):
    """The market no longer accepts forecasts (closed, running, resolved, annulled or past close_time)."""


class InsufficientBalance(MarketError):
    field = "probability"

    def __init__(self, message: str, *, cost: Decimal, balance: Decimal, furthest_probability: float | None,
                 furthest_t: float | None = None, field: str = "probability") -> None:
        super().__init__(message)
        self.cost = cost
        self.balance = balance
        self.furthest_probability = furthest_probability  # binary: the furthest affordable price
        self.furthest_t = furthest_t  # numeric: the largest affordable t of t·target + (1 − t)·current
        self.field = field


class MarketStateError(MarketError):
    """A lifecycle action does not apply in the market's current state (e.g. annulling a resolved market)."""
