"""Filters of the resolution report: ISO timestamps to the second, amounts to two decimals."""
from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def to_second(value: object) -> str:
    """"2026-11-29T22:11:47.221803+00:00" → "2026-11-29 22:11:47 UTC" (the input back if unparsable)."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    suffix = " UTC" if moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


@register.filter
def points(value: object) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)
