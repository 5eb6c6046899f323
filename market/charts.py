"""Server-side inline SVG of a market's probability over time (no JavaScript, no CDN)."""
from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def price_chart_svg(history: list[dict], *, end: datetime, width: int = 720, height: int = 240) -> SafeString:
    """A step chart of ``[{time, probability}]`` from the first point to ``end``.

    Only numbers and escaped date labels enter the markup, so it is safe to mark it safe.
    """
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    if not history:
        return mark_safe("")
    start = history[0]["time"]
    span = max((end - start).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        return left + plot_w * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    def y(p: float) -> float:
        return top + plot_h * (1.0 - p)

    path, prev_y = [], None
    for point in history:
        px, py = x(point["time"]), y(point["probability"])
        if prev_y is None:
            path.append(f"M{px:.1f},{py:.1f}")
        else:
            path.append(f"H{px:.1f}V{py:.1f}")
        prev_y = py
    path.append(f"H{x(end):.1f}")
    last = history[-1]["probability"]

    grid = []
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):
        gy = y(p)
        grid.append(
            f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#e4e7ec" '
            f'stroke-dasharray="{"0" if p in (0.0, 1.0) else "3 3"}"/>'
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" fill="#667085">{p:.0%}</text>'
        )
    labels = (
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="#667085">{escape(f"{start:%Y-%m-%d %H:%M}")}</text>'
        f'<text x="{width - right}" y="{height - 8}" font-size="11" fill="#667085" text-anchor="end">'
        f'{escape(f"{end:%Y-%m-%d %H:%M}")}</text>'
    )
    svg = (
        f'<svg class="price-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Market probability over time; now {last:.1%}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>Probability of YES over time (now {last:.1%}, {len(history) - 1} forecasts)</title>"
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>'
        + "".join(grid)
        + labels
        + f'<path d="{"".join(path)}" fill="none" stroke="#3056d3" stroke-width="2"/>'
        f'<circle cx="{x(end):.1f}" cy="{y(last):.1f}" r="4" fill="#3056d3"/>'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - numbers and escaped labels only
