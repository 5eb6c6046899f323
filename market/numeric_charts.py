"""Server-side inline SVG of a numeric market's distribution (works without JavaScript).

Bars: the current price of every outcome as a density over its bin (the overflow bins of open ends
are drawn one bin width wide, hatched lighter); lines: a proposed distribution (the quote), the
community mixture; a vertical mark: the resolved outcome. Only numbers enter the markup.
"""

from __future__ import annotations

import numpy as np
from django.utils.safestring import SafeString, mark_safe


def distribution_svg(
    support: list[float],
    current: list[float],
    *,
    proposed: list[float] | None = None,
    community: list[float] | None = None,
    outcome: float | None = None,
    open_lower: bool = False,
    open_upper: bool = False,
    width: int = 720,
    height: int = 220,
) -> SafeString:
    left, right, top, bottom = 44, 12, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    s = np.asarray(support, dtype=float)
    widths = np.diff(s)
    series = [np.asarray(p, dtype=float) / widths for p in (current, proposed, community) if p is not None]
    peak = max(float(d.max()) for d in series) * 1.1 or 1.0
    lo, hi = float(s[0]), float(s[-1])

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    def y(d: float) -> float:
        return top + plot_h * (1.0 - d / peak)

    parts = [
        f'<svg class="numeric-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="Distribution of the statistic" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
    ]
    density = np.asarray(current, dtype=float) / widths
    n = len(density)
    for i in range(n):
        overflow = (i == 0 and open_lower) or (i == n - 1 and open_upper)
        fill = "#c9d8ef" if overflow else "#7aa2d6"
        parts.append(
            f'<rect x="{x(s[i]):.1f}" y="{y(density[i]):.1f}" '
            f'width="{max(x(s[i + 1]) - x(s[i]) - 0.5, 0.5):.1f}" '
            f'height="{top + plot_h - y(density[i]):.1f}" fill="{fill}"/>'
        )
    for values, colour, dash in (
        (proposed, "#d9822b", ""),
        (community, "#2e8b57", ' stroke-dasharray="5,4"'),
    ):
        if values is None:
            continue
        d = np.asarray(values, dtype=float) / widths
        points = " ".join(f"{x(s[i]):.1f},{y(d[i]):.1f} {x(s[i + 1]):.1f},{y(d[i]):.1f}" for i in range(n))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    if outcome is not None and np.isfinite(outcome):
        ox = x(min(max(float(outcome), lo), hi))
        parts.append(
            f'<line x1="{ox:.1f}" y1="{top}" x2="{ox:.1f}" y2="{top + plot_h}" stroke="#b22" '
            f'stroke-width="2"/>'
        )
    for v in np.linspace(lo, hi, 5):
        parts.append(
            f'<text x="{x(v):.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{v:.3g}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
