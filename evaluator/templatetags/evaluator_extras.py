"""Number formatting for the evaluator pages (None and NaN render as an en dash)."""
from __future__ import annotations

import math

from django import template

register = template.Library()
_DASH = "–"


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def score(value, digits: int = 1) -> str:
    """A score with an explicit sign: +12.3, −4.0."""
    number = _finite(value)
    if number is None:
        return _DASH
    return f"{number:+.{int(digits)}f}".replace("-", "−")


@register.filter
def num(value, digits: int = 3) -> str:
    number = _finite(value)
    return _DASH if number is None else f"{number:.{int(digits)}f}".replace("-", "−")


@register.filter
def percent(value, digits: int = 0) -> str:
    number = _finite(value)
    return _DASH if number is None else f"{100 * number:.{int(digits)}f}%"
