"""Server-side SVG of a balance over time (no JavaScript): a step line over entry index, so that a burst
of trades in one minute stays as readable as a month of quiet."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def balance_chart_svg(
    series: list[tuple[datetime, Decimal]], *, width: int = 720, height: int = 200
) -> SafeString:
    if not series:
        return mark_safe("")
    left, right, top, bottom = 64, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for _, v in series]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 1.0)  # points; a flat history still gets a visible band
    low, high = low - pad, high + pad
    n = len(values)

    def x(i: int) -> float:
        return left + plot_w * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return top + plot_h * (1.0 - (v - low) / (high - low))

    path = "".join(
        f"M{x(0):.1f},{y(values[0]):.1f}" if i == 0 else f"H{x(i):.1f}V{y(v):.1f}"
        for i, v in enumerate(values)
    )
    ticks = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d0d5dd" '
        'stroke-dasharray="3 3"/>'
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#475467">'
        f"{v:,.0f}</text>"
        for v in (low, (low + high) / 2, high)
    )
    first, last = series[0][0], series[-1][0]
    labels = (
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="#475467">'
        f'{escape(f"{first:%Y-%m-%d}")}</text>'
        f'<text x="{width - right}" y="{height - 8}" font-size="11" fill="#475467" text-anchor="end">'
        f"{escape(f'{last:%Y-%m-%d %H:%M}')} · {n} ledger entries</text>"
    )
    svg = (
        f'<svg class="balance-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Balance after each of {n} ledger entries; now {values[-1]:,.2f} points" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>{ticks}{labels}'
        f'<path d="{path}" fill="none" stroke="#3056d3" stroke-width="2"/>'
        f'<circle cx="{x(n - 1):.1f}" cy="{y(values[-1]):.1f}" r="4" fill="#3056d3"/></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers and escaped dates only
