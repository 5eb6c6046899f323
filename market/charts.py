"""Server-side inline SVG of a market's probability over time (no JavaScript, no CDN)."""
from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def price_chart_svg(history: list[dict], *, end: datetime, community: list[dict] | None = None,
                    width: int = 720, height: int = 240) -> SafeString:
    """A step chart of ``[{time, probability}]`` from the first point to ``end``.

    ``community`` (same shape) is drawn as a dashed green step line: the evaluator's community
    aggregate (recency-weighted median of each forecaster's latest probability) beside the LMSR price.

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

    def step_path(points: list[dict]) -> str:
        parts = []
        for i, point in enumerate(points):
            px, py = x(point["time"]), y(point["probability"])
            parts.append(f"M{px:.1f},{py:.1f}" if i == 0 else f"H{px:.1f}V{py:.1f}")
        parts.append(f"H{x(end):.1f}")
        return "".join(parts)

    last = history[-1]["probability"]
    community_svg = ""
    if community:
        community_svg = (
            f'<path d="{step_path(community)}" fill="none" stroke="#138a4b" stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<line x1="{left + 8}" x2="{left + 28}" y1="{top + 8}" y2="{top + 8}" stroke="#3056d3" stroke-width="2"/>'
            f'<text x="{left + 32}" y="{top + 12}" font-size="11" fill="#1d2330">market price</text>'
            f'<line x1="{left + 118}" x2="{left + 138}" y1="{top + 8}" y2="{top + 8}" stroke="#138a4b" '
            f'stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{left + 142}" y="{top + 12}" font-size="11" fill="#1d2330">community aggregate</text>'
        )

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
        + community_svg
        + f'<path d="{step_path(history)}" fill="none" stroke="#3056d3" stroke-width="2"/>'
        f'<circle cx="{x(end):.1f}" cy="{y(last):.1f}" r="4" fill="#3056d3"/>'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - numbers and escaped labels only
