from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def pct(value: float | Decimal | None, digits: int = 1) -> str:
    """0.7 → "70.0%"; None → "—"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def pts(value: float | Decimal | None) -> str:
    """Points with two decimals and thousands separators."""
    if value is None:
        return "—"
    return f"{float(value):,.2f}"
