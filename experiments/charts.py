"""The project's SVG charts, drawn on the server as inline markup (no JavaScript, no CDN).

One module for every chart of the site, so they share a palette, a document frame and escaping:

* markets: :func:`price_chart_svg` (price and community aggregate per forecast, the viewer's forecasts,
  the resolution);
* experiment reports: :func:`ci_chart_svg` (statistics with their CIs against a market's threshold);
* the evaluator: :func:`calibration_svg`, :func:`scree_svg`, :func:`loadings_svg`, :func:`heatmap_svg`,
  :func:`score_history_svg` (the factor page's robustness plots in ``evaluator/factor_plots.py`` are
  drawn with this module's :func:`chart`, :func:`empty_chart` and palette).

Each function takes plain data (numbers, strings, dates) and returns a ``SafeString``: every piece of
text is HTML-escaped and everything else interpolated is a number, so templates may insert it as is.
Empty data gives an empty string (price, CI) or a framed "no data yet" message (evaluator). The
charts sit under the site's CSP, which allows SVG ``style`` attributes but no script. It imports no
app, so any app may use it.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

__all__ = [
    "ACCENT", "AXIS", "GRID", "INK", "MUTED", "NO", "YES", "Frame", "Interval", "calibration_svg", "chart",
    "ci_chart_svg", "empty_chart", "heatmap_svg", "loadings_svg", "price_chart_svg", "scree_svg",
    "score_history_svg", "svg_document",
]

# palette (shared with static/css): accent blue, muted grey text, axes, light grid, YES green, NO red
ACCENT, MUTED, AXIS, GRID, INK = "#3056d3", "#667085", "#98a2b3", "#e4e7ec", "#1d2330"
YES, NO = "#138a4b", "#c0392b"
_W, _H = 440, 300
_M = {"l": 48, "r": 14, "t": 16, "b": 40}


def svg_document(body: Sequence[str], *, width: int, height: int, label: str, title: str | None = None,
                 css_class: str | None = None, max_width: bool = True, attrs: str = "") -> SafeString:
    """The ``<svg>`` element around ``body`` (markup already escaped): a ``viewBox`` of ``width`` ×
    ``height`` scaled to the container, ``role="img"`` with ``label`` as its accessible name and
    ``title`` (default ``label``) as its tooltip."""
    cls = f' class="{escape(css_class)}"' if css_class else ""
    style = f' style="max-width:{width}px;background:#fff"' if max_width else ""
    return mark_safe(  # noqa: S308 - label and title escaped here, body escaped by the callers
        f'<svg{cls} xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}"{style}{attrs}>'
        f"<title>{escape(title if title is not None else label)}</title>" + "".join(body) + "</svg>"
    )


def chart(body: list[str], *, width: int = _W, height: int = _H, label: str) -> SafeString:
    """The evaluator charts' frame: :func:`svg_document` at 440 × 300 unless told otherwise."""
    return svg_document(body, width=width, height=height, label=label)


def empty_chart(label: str, message: str) -> SafeString:
    """A framed "no data yet" ``message`` in place of a chart."""
    return chart(
        [
            f'<rect x="1" y="1" width="{_W - 2}" height="{_H - 2}" fill="#f9fafb" stroke="{GRID}" rx="6"/>',
            f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle" fill="{MUTED}" font-size="14">'
            f"{escape(message)}</text>",
        ],
        label=label,
    )


class Frame:
    """Maps data coordinates to pixels inside the margins."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float, width: int = _W, height: int = _H) -> None:
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1
        self.w, self.h = width, height

    def x(self, v: float) -> float:
        return _M["l"] + (v - self.x0) / (self.x1 - self.x0) * (self.w - _M["l"] - _M["r"])

    def y(self, v: float) -> float:
        return self.h - _M["b"] - (v - self.y0) / (self.y1 - self.y0) * (self.h - _M["t"] - _M["b"])

    def axes(self, xticks: Sequence[tuple[float, str]], yticks: Sequence[tuple[float, str]], xlabel: str,
             ylabel: str) -> list[str]:
        out = [
            f'<line x1="{self.x(self.x0):.1f}" y1="{self.y(self.y0):.1f}" x2="{self.x(self.x1):.1f}" '
            f'y2="{self.y(self.y0):.1f}" stroke="{AXIS}"/>',
            f'<line x1="{self.x(self.x0):.1f}" y1="{self.y(self.y0):.1f}" x2="{self.x(self.x0):.1f}" '
            f'y2="{self.y(self.y1):.1f}" stroke="{AXIS}"/>',
        ]
        for v, text in xticks:
            out.append(f'<text x="{self.x(v):.1f}" y="{self.y(self.y0) + 15:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="{MUTED}">{escape(text)}</text>')
        for v, text in yticks:
            out.append(f'<line x1="{self.x(self.x0):.1f}" x2="{self.x(self.x1):.1f}" y1="{self.y(v):.1f}" '
                       f'y2="{self.y(v):.1f}" stroke="#f2f4f7"/>')
            out.append(f'<text x="{self.x(self.x0) - 5:.1f}" y="{self.y(v) + 4:.1f}" font-size="11" '
                       f'text-anchor="end" fill="{MUTED}">{escape(text)}</text>')
        out.append(f'<text x="{(self.x(self.x0) + self.x(self.x1)) / 2:.1f}" y="{self.h - 6}" font-size="12" '
                   f'text-anchor="middle" fill="{MUTED}">{escape(xlabel)}</text>')
        cy = (self.y(self.y0) + self.y(self.y1)) / 2
        out.append(f'<text x="12" y="{cy:.1f}" font-size="12" text-anchor="middle" fill="{MUTED}" '
                   f'transform="rotate(-90 12 {cy:.1f})">{escape(ylabel)}</text>')
        return out


# --- markets --------------------------------------------------------------------------------------

def price_chart_svg(history: list[dict], *, community: list[dict] | None = None,
                    mine: list[int] | None = None, resolution: str | None = None,
                    width: int = 720, height: int = 260) -> SafeString:
    """A step chart of ``[{time, probability}]`` over **trade index**: the opening price, then one step
    per forecast. A time axis bunched every trade of a busy hour into one spike at the right edge; an
    index axis keeps each trade readable, and the labels under it give the time of the trades they mark.

    ``community`` (same shape) is drawn as a dashed green step line: the evaluator's community
    aggregate (recency-weighted median of each forecaster's latest probability), placed at the trade it
    follows. ``mine`` lists the indices (1 = first forecast) of the viewer's own forecasts, drawn as red
    dots. ``resolution`` ("YES", "NO" or "annulled") is drawn as a labelled line at the right edge.
    """
    left, right, top, bottom = 44, 14, 22, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    if not history:
        return mark_safe("")
    n = len(history) - 1  # forecasts
    slots = max(n + 1, 2)  # the last step runs on to the right edge
    mine_colour = "#b42318"

    def x(i: float) -> float:
        return left + plot_w * min(max(i / slots, 0.0), 1.0)

    def y(p: float) -> float:
        return top + plot_h * (1.0 - p)

    def step_path(points: list[tuple[float, float]]) -> str:
        parts = [f"M{x(i):.1f},{y(p):.1f}" if k == 0 else f"H{x(i):.1f}V{y(p):.1f}"
                 for k, (i, p) in enumerate(points)]
        parts.append(f"H{x(slots):.1f}")
        return "".join(parts)

    times = [point["time"] for point in history]
    last = history[-1]["probability"]
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):
        gy = y(p)
        body.append(
            f'<line x1="{left}" x2="{x(slots):.1f}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="{GRID}" '
            f'stroke-dasharray="{"0" if p in (0.0, 1.0) else "3 3"}"/>'
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{p:.0%}</text>"
        )
    # Up to five labelled trades along the bottom: "#k" and when it happened (UTC).
    for i in sorted({0, n, *(round(n * f) for f in (0.25, 0.5, 0.75))}) if n else [0]:
        anchor = "start" if i == 0 else "middle"
        body.append(
            f'<text x="{x(i):.1f}" y="{height - 16}" font-size="10" fill="{MUTED}" text-anchor="{anchor}">'
            f'{"open" if i == 0 else f"#{i}"}</text>'
            f'<text x="{x(i):.1f}" y="{height - 4}" font-size="10" fill="{MUTED}" text-anchor="{anchor}">'
            f'{escape(f"{times[i]:%m-%d %H:%M}")}</text>'
        )
    legend = [(ACCENT, "market price", "0")]
    if community:
        # Each aggregate point sits at the trade it follows (the last forecast at or before its time).
        points = [(float(max(bisect_right(times, c["time"]) - 1, 0)), c["probability"]) for c in community]
        body.append(f'<path d="{step_path(points)}" fill="none" stroke="{YES}" stroke-width="1.5" '
                    'stroke-dasharray="5 3"/>')
        legend.append((YES, "community aggregate", "5 3"))
    body.append(f'<path d="{step_path([(float(i), h["probability"]) for i, h in enumerate(history)])}" '
                f'fill="none" stroke="{ACCENT}" stroke-width="2"/>'
                f'<circle cx="{x(n):.1f}" cy="{y(last):.1f}" r="3" fill="{ACCENT}"/>')
    if mine:
        body.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(history[i]["probability"]):.1f}" r="4.5" fill="{mine_colour}" '
            f'stroke="#fff" stroke-width="1.5"><title>your forecast: {history[i]["probability"]:.1%}</title>'
            "</circle>"
            for i in mine if 0 < i <= n
        )
        legend.append((mine_colour, "your forecasts", "dot"))
    lx = float(left + 4)
    for colour, text, dash in legend:
        if dash == "dot":
            body.append(f'<circle cx="{lx + 10}" cy="{top - 10}" r="4" fill="{colour}"/>')
        else:
            body.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{top - 10}" y2="{top - 10}" stroke="{colour}" '
                        f'stroke-width="2" stroke-dasharray="{dash}"/>')
        body.append(f'<text x="{lx + 24}" y="{top - 6}" font-size="11" fill="{INK}">{escape(text)}</text>')
        lx += 34 + 6.2 * len(text)
    if resolution:
        rx = x(slots)
        # The label sits inside the plot, left of the line, just inside the outcome's edge (100% or 0%).
        label_y = {"YES": y(1.0) + 16, "NO": y(0.0) - 8}.get(resolution, y(0.5))
        label = f"resolved {resolution}" if resolution in ("YES", "NO") else resolution
        body.append(
            f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{INK}" '
            'stroke-width="2"/>'
            f'<text x="{rx - 6:.1f}" y="{label_y:.1f}" font-size="12" font-weight="700" fill="{INK}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    return svg_document(body, width=width, height=height, css_class="price-chart", max_width=False,
                        label=f"Market probability after each of {n} forecasts; now {last:.1%}",
                        title=f"Probability of YES after each forecast (now {last:.1%}, {n} forecasts)")


# --- experiment reports ---------------------------------------------------------------------------

WIDTH, ROW, TOP, LEFT, RIGHT = 640, 34, 28, 130, 24


@dataclass(frozen=True)
class Interval:
    """One row of the CI chart: a label, the point estimate and its CI."""

    label: str
    statistic: float | None
    ci_low: float | None
    ci_high: float | None


def _finite_interval(item: Interval) -> tuple[float, float, float] | None:
    """(statistic, low, high) when all three are finite numbers, else None."""
    statistic, low, high = item.statistic, item.ci_low, item.ci_high
    if statistic is None or low is None or high is None:
        return None
    return (statistic, low, high) if all(map(math.isfinite, (statistic, low, high))) else None


def ci_chart_svg(intervals: list[Interval], *, threshold: float | None, comparator: str | None) -> SafeString:
    """One CI per row and a dashed threshold line; the YES side of the axis is shaded.

    Rows without a finite CI are labelled "no finite interval". Returns an empty string when there is
    nothing to draw.
    """
    finite = [_finite_interval(i) for i in intervals]
    points = [v for triple in finite if triple is not None for v in triple]
    if threshold is not None and math.isfinite(threshold):
        points.append(threshold)
    if not intervals or not points:
        return mark_safe("")
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.12 or max(abs(hi), 1.0) * 0.1
    lo, hi = lo - pad, hi + pad
    rows_h = ROW * len(intervals)
    height = TOP + rows_h + 26

    def x(value: float) -> float:
        return LEFT + (value - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)

    parts = []
    if threshold is not None and math.isfinite(threshold) and comparator:
        tx = x(threshold)
        yes_right = comparator in (">=", ">")
        sx, sw = (tx, WIDTH - RIGHT - tx) if yes_right else (LEFT, tx - LEFT)
        parts.append(f'<rect x="{sx:.1f}" y="{TOP - 8}" width="{max(sw, 0):.1f}" height="{rows_h + 8}" '
                     'fill="#e7f6ec" />')
        label_x = (tx + 6) if yes_right else (tx - 6)
        anchor = "start" if yes_right else "end"
        parts.append(f'<text x="{label_x:.1f}" y="{TOP - 12}" text-anchor="{anchor}" fill="{YES}">YES side '
                     f"({escape(comparator)} {threshold:g})</text>")
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP - 8}" y2="{TOP + rows_h}" '
                     f'stroke="{NO}" stroke-width="1.5" stroke-dasharray="5,4" />')
    for row, (item, triple) in enumerate(zip(intervals, finite)):
        y = TOP + ROW * row + ROW / 2
        parts.append(f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(item.label)}</text>')
        if triple is None:
            parts.append(f'<text x="{LEFT + 6}" y="{y + 4:.1f}" fill="{MUTED}">no finite interval</text>')
            continue
        statistic, low, high = triple
        x0, x1, xs = x(low), x(high), x(statistic)
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{ACCENT}" '
                     'stroke-width="3" />')
        for end in (x0, x1):
            parts.append(f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{y - 7:.1f}" y2="{y + 7:.1f}" '
                         f'stroke="{ACCENT}" stroke-width="2" />')
        parts.append(f'<circle cx="{xs:.1f}" cy="{y:.1f}" r="5" fill="{INK}"><title>{statistic:.6g} '
                     f"[{low:.6g}, {high:.6g}]</title></circle>")
    axis_y = TOP + rows_h + 6
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="{AXIS}" />')
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{x(value):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="{MUTED}">'
                     f"{value:.3g}</text>")
    return svg_document(parts, width=WIDTH, height=height, css_class="ci-chart", max_width=False,
                        label="Statistic with its confidence interval against the threshold",
                        attrs=' font-family="system-ui, sans-serif" font-size="12"')


# --- evaluator ------------------------------------------------------------------------------------

def calibration_svg(bins: Sequence[dict], *, label: str = "Calibration") -> SafeString:
    """Reliability diagram: observed frequency against mean forecast per bin, with the binomial
    consistency band drawn as a grey bar and the point area proportional to the bin's count."""
    filled = [b for b in bins if b.get("count")]
    if not filled:
        return empty_chart(label, "No resolved forecasts yet")
    f = Frame(0, 1, 0, 1)
    ticks = [(v / 5, f"{v * 20}%") for v in range(6)]
    out = f.axes(ticks, ticks, "forecast probability", "observed frequency")
    out.append(f'<line x1="{f.x(0)}" y1="{f.y(0)}" x2="{f.x(1)}" y2="{f.y(1)}" stroke="{AXIS}" '
               'stroke-dasharray="4 4"/>')
    biggest = max(b["count"] for b in filled)
    for b in filled:
        x = f.x(b["mean_predicted"])
        lo, hi = f.y(b["band_low"]), f.y(b["band_high"])
        out.append(f'<rect x="{x - 5:.1f}" y="{hi:.1f}" width="10" height="{max(lo - hi, 1):.1f}" '
                   f'fill="{GRID}"/>')
        r = 3 + 6 * math.sqrt(b["count"] / biggest)
        inside = b["band_low"] <= b["observed_frequency"] <= b["band_high"]
        tip = (f"forecasts {b['lower']:.1f}–{b['upper']:.1f}: n={b['count']}, mean forecast "
               f"{b['mean_predicted']:.2f}, observed {b['observed_frequency']:.2f}, 90% band "
               f"{b['band_low']:.2f}–{b['band_high']:.2f}")
        out.append(f'<circle cx="{x:.1f}" cy="{f.y(b["observed_frequency"]):.1f}" r="{r:.1f}" '
                   f'fill="{ACCENT if inside else NO}" fill-opacity="0.8">'
                   f"<title>{escape(tip)}</title></circle>")
    return chart(out, label=label)


def scree_svg(eigenvalues: Sequence[float], null_p95: Sequence[float], *,
              label: str = "Scree plot") -> SafeString:
    """Eigenvalues of the correlation matrix against the parallel-analysis null's 95th percentile."""
    if not eigenvalues:
        return empty_chart(label, "Not enough setups for a scree plot yet")
    k = len(eigenvalues)
    top = max(max(eigenvalues), max(null_p95 or [0]), 1.0) * 1.1
    f = Frame(0.5, k + 0.5, 0, top)
    step = 0.5 if top <= 3 else 1.0 if top <= 6 else 2.0
    yt = [(i * step, f"{i * step:g}") for i in range(int(top / step) + 1)]
    out = f.axes([(i + 1, f"PC{i + 1}") for i in range(k)], yt, "component", "eigenvalue")

    def path(values: Sequence[float], color: str, dash: str = "") -> SafeString:
        pts = " ".join(f"{f.x(i + 1):.1f},{f.y(v):.1f}" for i, v in enumerate(values))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{extra}/>'

    out.append(path(null_p95, MUTED, "5 4"))
    out.append(path(eigenvalues, ACCENT))
    for i, (v, n) in enumerate(zip(eigenvalues, null_p95)):
        color = ACCENT if v > n else MUTED
        out.append(f'<circle cx="{f.x(i + 1):.1f}" cy="{f.y(v):.1f}" r="4" fill="{color}">'
                   f"<title>PC{i + 1}: {v:.2f} (null 95th percentile {n:.2f})</title></circle>")
    legend_x = _W - _M["r"]
    out.append(f'<text x="{legend_x}" y="{_M["t"] + 10}" font-size="11" text-anchor="end" fill="{ACCENT}">'
               "— observed</text>")
    out.append(f'<text x="{legend_x}" y="{_M["t"] + 24}" font-size="11" text-anchor="end" fill="{MUTED}">'
               "- - null 95th percentile (independent columns)</text>")
    return chart(out, label=label)


def loadings_svg(loadings: dict[str, float], ci: dict[str, Sequence[float]],
                 fa: dict[str, float] | None = None, *, label: str = "PC1 loadings") -> SafeString:
    """PC1 loadings per concept with bootstrap intervals (bars), and the one-factor ML loadings (diamonds)."""
    if not loadings:
        return empty_chart(label, "Not enough setups for loadings yet")
    names = list(loadings)
    height = 40 + 26 * len(names)
    f = Frame(-1, 1, 0, len(names), height=height)
    out = [f'<line x1="{f.x(0):.1f}" x2="{f.x(0):.1f}" y1="{_M["t"]}" y2="{f.y(0):.1f}" stroke="{AXIS}"/>']
    for v in (-1, -0.5, 0, 0.5, 1):
        out.append(f'<text x="{f.x(v):.1f}" y="{f.y(0) + 15:.1f}" font-size="11" text-anchor="middle" '
                   f'fill="{MUTED}">{v:g}</text>')
    for i, name in enumerate(names):
        y = f.y(len(names) - i - 0.5)
        lo, hi = ci.get(name, (loadings[name], loadings[name]))
        out.append(f'<text x="{_M["l"] - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                   f"{escape(name)}</text>")
        out.append(f'<line x1="{f.x(lo):.1f}" x2="{f.x(hi):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{ACCENT}" '
                   'stroke-width="3" stroke-opacity="0.35"/>')
        tip = f"{name}: PC1 loading {loadings[name]:.2f} (CI {lo:.2f} to {hi:.2f})"
        out.append(f'<circle cx="{f.x(loadings[name]):.1f}" cy="{y:.1f}" r="5" fill="{ACCENT}">'
                   f"<title>{escape(tip)}</title></circle>")
        if fa and name in fa:
            x = f.x(fa[name])
            out.append(f'<path d="M{x:.1f},{y - 5:.1f} l5,5 l-5,5 l-5,-5 z" fill="none" stroke="{YES}">'
                       f"<title>{escape(name)}: one-factor ML loading {fa[name]:.2f}</title></path>")
    return chart(out, height=height, label=label)


def heatmap_svg(rows: Sequence[dict], concepts: Sequence[str], *, label: str = "Setups × concepts",
                print_values: int = 60) -> SafeString:
    """The factor matrix; each cell is coloured by its percentile within its column (missing: hatched
    grey). Values are printed in the cells up to ``print_values`` rows; beyond that only each cell's
    tooltip holds its value, which keeps a survey of a few hundred rows to a page of reasonable weight."""
    if not rows:
        return empty_chart(label, "No setups measured yet")
    cell_w, cell_h, left, top = 44, 22, 210, 26
    width = left + cell_w * len(concepts) + 10
    height = top + cell_h * len(rows) + 10
    ranks: dict[str, dict[int, float]] = {}
    for c in concepts:
        vals = sorted((r[c], i) for i, r in enumerate(rows) if r.get(c) is not None)
        n = len(vals)
        ranks[c] = {i: (k / (n - 1) if n > 1 else 0.5) for k, (_, i) in enumerate(vals)}
    out = [
        '<defs><pattern id="miss" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#f2f4f7"/><path d="M0,6 L6,0" stroke="#d0d5dd"/></pattern></defs>'
    ]
    for j, c in enumerate(concepts):
        out.append(f'<text x="{left + j * cell_w + cell_w / 2}" y="{top - 8}" font-size="12" '
                   f'text-anchor="middle" font-weight="600">{escape(c)}</text>')
    for i, r in enumerate(rows):
        y = top + i * cell_h
        name = str(r["setup"])
        short = name if len(name) <= 30 else name[:29] + "…"
        out.append(f'<text x="{left - 8}" y="{y + 15}" font-size="11" text-anchor="end">'
                   f"<title>{escape(name)}</title>{escape(short)}</text>")
        for j, c in enumerate(concepts):
            x = left + j * cell_w
            value = r.get(c)
            if value is None:
                out.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                           f'fill="url(#miss)"><title>{escape(name)} · {escape(c)}: not measured</title>'
                           "</rect>")
                continue
            q = ranks[c][i]
            # White (least path-dependent in its column) to the accent blue (most).
            red, green, blue = (round(255 + (t - 255) * q) for t in (48, 86, 211))
            text_color = "#fff" if q > 0.55 else "#1d2330"
            out.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                       f'fill="rgb({red},{green},{blue})" stroke="{GRID}">'
                       f"<title>{escape(name)} · {escape(c)}: {value:.4g}</title></rect>")
            if len(rows) <= print_values:
                out.append(f'<text x="{x + cell_w / 2 - 1}" y="{y + 15}" font-size="10" text-anchor="middle" '
                           f'fill="{text_color}">{value:.2g}</text>')
    return chart(out, width=width, height=height, label=label)


def score_history_svg(history: Sequence[dict], *, label: str = "Peer score by market") -> SafeString:
    """Peer score on each resolved market (bars, green above 0) and the running mean (line)."""
    points = [h for h in history if h.get("peer") is not None]
    if not points:
        return empty_chart(label, "No resolved markets yet")
    values = [float(h["peer"]) for h in points]
    bound = max(10.0, max(abs(v) for v in values)) * 1.1
    n = len(values)
    f = Frame(0.5, n + 0.5, -bound, bound)
    step = 10 ** math.floor(math.log10(bound))
    yt = [(k * step, f"{k * step:g}") for k in range(-int(bound // step), int(bound // step) + 1)]
    if n <= 20:
        xt = [(i + 1, str(i + 1)) for i in range(n)]
    else:
        xt = [(i, str(i)) for i in range(1, n + 1, max(1, n // 10))]
    out = f.axes(xt, yt, "resolved market (oldest first)", "peer score")
    width = max(2.0, (f.x(2) - f.x(1)) * 0.7) if n > 1 else 20.0
    running = 0.0
    line = []
    for i, (h, v) in enumerate(zip(points, values)):
        x = f.x(i + 1)
        y0, y1 = f.y(0), f.y(v)
        tip = f"#{h.get('market_id')} {h.get('title', '')}: peer {v:.1f}"
        out.append(f'<rect x="{x - width / 2:.1f}" y="{min(y0, y1):.1f}" width="{width:.1f}" '
                   f'height="{max(abs(y1 - y0), 1):.1f}" fill="{YES if v >= 0 else NO}" fill-opacity="0.75">'
                   f"<title>{escape(tip)}</title></rect>")
        running += v
        line.append(f"{x:.1f},{f.y(running / (i + 1)):.1f}")
    out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{ACCENT}" stroke-width="2">'
               "<title>running mean</title></polyline>")
    return chart(out, label=label)
