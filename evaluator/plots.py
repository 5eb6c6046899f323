"""Server-side inline SVG plots for the evaluator pages (no JavaScript, no CDN).

Each function takes plain data and returns an SVG string in which every piece of text is
HTML-escaped; templates insert it with ``|safe``. Empty data gives a framed "no data yet" message.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

_W, _H = 440, 300
_M = {"l": 48, "r": 14, "t": 16, "b": 40}
_AXIS = "#98a2b3"
_ACCENT = "#3056d3"
_MUTED = "#667085"
_YES, _NO = "#138a4b", "#c0392b"


def _svg(body: list[str], *, width: int = _W, height: int = _H, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" style="max-width:{width}px;background:#fff">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _empty(label: str, message: str) -> str:
    return _svg(
        [
            f'<rect x="1" y="1" width="{_W - 2}" height="{_H - 2}" fill="#f9fafb" stroke="#e4e7ec" rx="6"/>',
            f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle" fill="{_MUTED}" font-size="14">{escape(message)}</text>',
        ],
        label=label,
    )


class _Frame:
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
            f'y2="{self.y(self.y0):.1f}" stroke="{_AXIS}"/>',
            f'<line x1="{self.x(self.x0):.1f}" y1="{self.y(self.y0):.1f}" x2="{self.x(self.x0):.1f}" '
            f'y2="{self.y(self.y1):.1f}" stroke="{_AXIS}"/>',
        ]
        for v, text in xticks:
            out.append(f'<text x="{self.x(v):.1f}" y="{self.y(self.y0) + 15:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="{_MUTED}">{escape(text)}</text>')
        for v, text in yticks:
            out.append(f'<line x1="{self.x(self.x0):.1f}" x2="{self.x(self.x1):.1f}" y1="{self.y(v):.1f}" '
                       f'y2="{self.y(v):.1f}" stroke="#f2f4f7"/>')
            out.append(f'<text x="{self.x(self.x0) - 5:.1f}" y="{self.y(v) + 4:.1f}" font-size="11" '
                       f'text-anchor="end" fill="{_MUTED}">{escape(text)}</text>')
        out.append(f'<text x="{(self.x(self.x0) + self.x(self.x1)) / 2:.1f}" y="{self.h - 6}" font-size="12" '
                   f'text-anchor="middle" fill="{_MUTED}">{escape(xlabel)}</text>')
        cy = (self.y(self.y0) + self.y(self.y1)) / 2
        out.append(f'<text x="12" y="{cy:.1f}" font-size="12" text-anchor="middle" fill="{_MUTED}" '
                   f'transform="rotate(-90 12 {cy:.1f})">{escape(ylabel)}</text>')
        return out


def calibration_svg(bins: Sequence[dict], *, label: str = "Calibration") -> str:
    """Reliability diagram: observed frequency against mean forecast per bin, with the binomial
    consistency band drawn as a grey bar and the point area proportional to the bin's count."""
    filled = [b for b in bins if b.get("count")]
    if not filled:
        return _empty(label, "No resolved forecasts yet")
    f = _Frame(0, 1, 0, 1)
    ticks = [(v / 5, f"{v * 20}%") for v in range(6)]
    out = f.axes(ticks, ticks, "forecast probability", "observed frequency")
    out.append(f'<line x1="{f.x(0)}" y1="{f.y(0)}" x2="{f.x(1)}" y2="{f.y(1)}" stroke="{_AXIS}" stroke-dasharray="4 4"/>')
    biggest = max(b["count"] for b in filled)
    for b in filled:
        x = f.x(b["mean_predicted"])
        lo, hi = f.y(b["band_low"]), f.y(b["band_high"])
        out.append(f'<rect x="{x - 5:.1f}" y="{hi:.1f}" width="10" height="{max(lo - hi, 1):.1f}" fill="#e4e7ec"/>')
        r = 3 + 6 * math.sqrt(b["count"] / biggest)
        inside = b["band_low"] <= b["observed_frequency"] <= b["band_high"]
        tip = (f"forecasts {b['lower']:.1f}–{b['upper']:.1f}: n={b['count']}, mean forecast "
               f"{b['mean_predicted']:.2f}, observed {b['observed_frequency']:.2f}, 90% band "
               f"{b['band_low']:.2f}–{b['band_high']:.2f}")
        out.append(f'<circle cx="{x:.1f}" cy="{f.y(b["observed_frequency"]):.1f}" r="{r:.1f}" '
                   f'fill="{_ACCENT if inside else _NO}" fill-opacity="0.8"><title>{escape(tip)}</title></circle>')
    return _svg(out, label=label)


def scree_svg(eigenvalues: Sequence[float], null_p95: Sequence[float], *, label: str = "Scree plot") -> str:
    """Eigenvalues of the correlation matrix against the parallel-analysis null's 95th percentile."""
    if not eigenvalues:
        return _empty(label, "Not enough setups for a scree plot yet")
    k = len(eigenvalues)
    top = max(max(eigenvalues), max(null_p95 or [0]), 1.0) * 1.1
    f = _Frame(0.5, k + 0.5, 0, top)
    step = 0.5 if top <= 3 else 1.0 if top <= 6 else 2.0
    yt = [(i * step, f"{i * step:g}") for i in range(int(top / step) + 1)]
    out = f.axes([(i + 1, f"PC{i + 1}") for i in range(k)], yt, "component", "eigenvalue")

    def path(values: Sequence[float], color: str, dash: str = "") -> str:
        pts = " ".join(f"{f.x(i + 1):.1f},{f.y(v):.1f}" for i, v in enumerate(values))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{extra}/>'

    out.append(path(null_p95, _MUTED, "5 4"))
    out.append(path(eigenvalues, _ACCENT))
    for i, (v, n) in enumerate(zip(eigenvalues, null_p95)):
        color = _ACCENT if v > n else _MUTED
        out.append(f'<circle cx="{f.x(i + 1):.1f}" cy="{f.y(v):.1f}" r="4" fill="{color}">'
                   f"<title>PC{i + 1}: {v:.2f} (null 95th percentile {n:.2f})</title></circle>")
    out.append(f'<text x="{_W - _M["r"]}" y="{_M["t"] + 10}" font-size="11" text-anchor="end" fill="{_ACCENT}">'
               "— observed</text>")
    out.append(f'<text x="{_W - _M["r"]}" y="{_M["t"] + 24}" font-size="11" text-anchor="end" fill="{_MUTED}">'
               "- - null 95th percentile (independent columns)</text>")
    return _svg(out, label=label)


def loadings_svg(loadings: dict[str, float], ci: dict[str, Sequence[float]], fa: dict[str, float] | None = None,
                 *, label: str = "PC1 loadings") -> str:
    """PC1 loadings per concept with bootstrap intervals (bars), and the one-factor ML loadings (diamonds)."""
    if not loadings:
        return _empty(label, "Not enough setups for loadings yet")
    names = list(loadings)
    height = 40 + 26 * len(names)
    f = _Frame(-1, 1, 0, len(names), height=height)
    out = [f'<line x1="{f.x(0):.1f}" x2="{f.x(0):.1f}" y1="{_M["t"]}" y2="{f.y(0):.1f}" stroke="{_AXIS}"/>']
    for v in (-1, -0.5, 0, 0.5, 1):
        out.append(f'<text x="{f.x(v):.1f}" y="{f.y(0) + 15:.1f}" font-size="11" text-anchor="middle" '
                   f'fill="{_MUTED}">{v:g}</text>')
    for i, name in enumerate(names):
        y = f.y(len(names) - i - 0.5)
        lo, hi = ci.get(name, (loadings[name], loadings[name]))
        out.append(f'<text x="{_M["l"] - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{escape(name)}</text>')
        out.append(f'<line x1="{f.x(lo):.1f}" x2="{f.x(hi):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_ACCENT}" '
                   'stroke-width="3" stroke-opacity="0.35"/>')
        tip = f"{name}: PC1 loading {loadings[name]:.2f} (CI {lo:.2f} to {hi:.2f})"
        out.append(f'<circle cx="{f.x(loadings[name]):.1f}" cy="{y:.1f}" r="5" fill="{_ACCENT}">'
                   f"<title>{escape(tip)}</title></circle>")
        if fa and name in fa:
            x = f.x(fa[name])
            out.append(f'<path d="M{x:.1f},{y - 5:.1f} l5,5 l-5,5 l-5,-5 z" fill="none" stroke="{_YES}">'
                       f"<title>{escape(name)}: one-factor ML loading {fa[name]:.2f}</title></path>")
    return _svg(out, height=height, label=label)


def heatmap_svg(rows: Sequence[dict], concepts: Sequence[str], *, label: str = "Setups × concepts",
                print_values: int = 60) -> str:
    """The factor matrix; each cell is coloured by its percentile within its column (missing: hatched grey).
    Values are printed in the cells up to ``print_values`` rows; beyond that only each cell's tooltip holds
    its value, which keeps a survey of a few hundred rows to a page of reasonable weight."""
    if not rows:
        return _empty(label, "No setups measured yet")
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
        out.append(f'<text x="{left + j * cell_w + cell_w / 2}" y="{top - 8}" font-size="12" text-anchor="middle" '
                   f'font-weight="600">{escape(c)}</text>')
    for i, r in enumerate(rows):
        y = top + i * cell_h
        name = str(r["setup"])
        short = name if len(name) <= 30 else name[:29] + "…"
        out.append(f'<text x="{left - 8}" y="{y + 15}" font-size="11" text-anchor="end"><title>{escape(name)}</title>'
                   f"{escape(short)}</text>")
        for j, c in enumerate(concepts):
            x = left + j * cell_w
            value = r.get(c)
            if value is None:
                out.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="url(#miss)">'
                           f"<title>{escape(name)} · {escape(c)}: not measured</title></rect>")
                continue
            q = ranks[c][i]
            # White (least path-dependent in its column) to the accent blue (most).
            red, green, blue = (round(255 + (t - 255) * q) for t in (48, 86, 211))
            text_color = "#fff" if q > 0.55 else "#1d2330"
            out.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                       f'fill="rgb({red},{green},{blue})" stroke="#e4e7ec"><title>{escape(name)} · {escape(c)}: '
                       f"{value:.4g}</title></rect>")
            if len(rows) <= print_values:
                out.append(f'<text x="{x + cell_w / 2 - 1}" y="{y + 15}" font-size="10" text-anchor="middle" '
                           f'fill="{text_color}">{value:.2g}</text>')
    return _svg(out, width=width, height=height, label=label)


def score_history_svg(history: Sequence[dict], *, label: str = "Peer score by market") -> str:
    """Peer score on each resolved market (bars, green above 0) and the running mean (line)."""
    points = [h for h in history if h.get("peer") is not None]
    if not points:
        return _empty(label, "No resolved markets yet")
    values = [float(h["peer"]) for h in points]
    bound = max(10.0, max(abs(v) for v in values)) * 1.1
    n = len(values)
    f = _Frame(0.5, n + 0.5, -bound, bound)
    step = 10 ** math.floor(math.log10(bound))
    yt = [(k * step, f"{k * step:g}") for k in range(-int(bound // step), int(bound // step) + 1)]
    xt = [(i + 1, str(i + 1)) for i in range(n)] if n <= 20 else [(i, str(i)) for i in range(1, n + 1, max(1, n // 10))]
    out = f.axes(xt, yt, "resolved market (oldest first)", "peer score")
    width = max(2.0, (f.x(2) - f.x(1)) * 0.7) if n > 1 else 20.0
    running = 0.0
    line = []
    for i, (h, v) in enumerate(zip(points, values)):
        x = f.x(i + 1)
        y0, y1 = f.y(0), f.y(v)
        tip = f"#{h.get('market_id')} {h.get('title', '')}: peer {v:.1f}"
        out.append(f'<rect x="{x - width / 2:.1f}" y="{min(y0, y1):.1f}" width="{width:.1f}" '
                   f'height="{max(abs(y1 - y0), 1):.1f}" fill="{_YES if v >= 0 else _NO}" fill-opacity="0.75">'
                   f"<title>{escape(tip)}</title></rect>")
        running += v
        line.append(f"{x:.1f},{f.y(running / (i + 1)):.1f}")
    out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{_ACCENT}" stroke-width="2">'
               "<title>running mean</title></polyline>")
    return _svg(out, label=label)
