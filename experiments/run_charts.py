"""Inline SVG of statistics with their confidence intervals drawn against a market's threshold."""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, ROW, TOP, LEFT, RIGHT = 640, 34, 28, 130, 24


@dataclass(frozen=True)
class Interval:
    """One row of the chart: a label, the point estimate and its CI."""

    label: str
    statistic: float | None
    ci_low: float | None
    ci_high: float | None


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def ci_chart_svg(intervals: list[Interval], *, threshold: float | None, comparator: str | None) -> SafeString:
    """An SVG with one CI per row and a dashed threshold line; the YES side of the axis is shaded.

    Rows without a finite CI are labelled "no finite interval". Returns an empty string when there is
    nothing to draw.
    """
    drawable = [i for i in intervals if _finite(i.statistic, i.ci_low, i.ci_high)]
    points = [v for i in drawable for v in (i.ci_low, i.ci_high, i.statistic)]
    if threshold is not None and math.isfinite(threshold):
        points.append(threshold)
    if not intervals or not points:
        return mark_safe("")
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.12 or max(abs(hi), 1.0) * 0.1
    lo, hi = lo - pad, hi + pad
    height = TOP + ROW * len(intervals) + 26

    def x(value: float) -> float:
        return LEFT + (value - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)

    parts = [
        f'<svg class="ci-chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">',
        "<title>Statistic with its confidence interval against the threshold</title>",
    ]
    if threshold is not None and math.isfinite(threshold) and comparator:
        tx = x(threshold)
        yes_right = comparator in (">=", ">")
        sx, sw = (tx, WIDTH - RIGHT - tx) if yes_right else (LEFT, tx - LEFT)
        parts.append(f'<rect x="{sx:.1f}" y="{TOP - 8}" width="{max(sw, 0):.1f}" height="{ROW * len(intervals) + 8}" '
                     'fill="#e7f6ec" />')
        label_x = (tx + 6) if yes_right else (tx - 6)
        anchor = "start" if yes_right else "end"
        parts.append(f'<text x="{label_x:.1f}" y="{TOP - 12}" text-anchor="{anchor}" fill="#1a7f37">YES side '
                     f"({escape(comparator)} {threshold:g})</text>")
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP - 8}" y2="{TOP + ROW * len(intervals)}" '
                     'stroke="#b42318" stroke-width="1.5" stroke-dasharray="5,4" />')
    for row, item in enumerate(intervals):
        y = TOP + ROW * row + ROW / 2
        parts.append(f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(item.label)}</text>')
        if not _finite(item.statistic, item.ci_low, item.ci_high):
            parts.append(f'<text x="{LEFT + 6}" y="{y + 4:.1f}" fill="#6b7280">no finite interval</text>')
            continue
        x0, x1, xs = x(item.ci_low), x(item.ci_high), x(item.statistic)
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#1f4fd1" stroke-width="3" />')
        for end in (x0, x1):
            parts.append(f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{y - 7:.1f}" y2="{y + 7:.1f}" stroke="#1f4fd1" stroke-width="2" />')
        parts.append(f'<circle cx="{xs:.1f}" cy="{y:.1f}" r="5" fill="#111827"><title>{item.statistic:.6g} '
                     f"[{item.ci_low:.6g}, {item.ci_high:.6g}]</title></circle>")
    axis_y = TOP + ROW * len(intervals) + 6
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#9ca3af" />')
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{x(value):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#6b7280">{value:.3g}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated string is escaped above
