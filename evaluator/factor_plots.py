"""Server-side SVG plots of the factor page's robustness section (no JavaScript), in the style of
:mod:`evaluator.plots`: plain data in, an SVG string out, every piece of text HTML-escaped."""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from experiments.charts import ACCENT as _ACCENT
from experiments.charts import AXIS as _AXIS
from experiments.charts import MUTED as _MUTED
from experiments.charts import NO as _NO
from experiments.charts import chart as _svg
from experiments.charts import empty_chart as _empty

__all__ = ["correlation_svg", "estimates_svg", "loto_svg", "scatter_matrix_svg"]

# Okabe-Ito palette (colour-blind safe), one colour per task.
_TASK_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _interval_rows(rows: Sequence[dict], *, label: str, width: int = 440) -> str:
    """Rows of (name, share, ci, null): a dot with its interval against a grey band up to the null's 95th
    percentile, the name above each row so that the plot stays legible when a phone scales it down."""
    left, right, top, step = 12, 44, 8, 42
    height = top + step * len(rows) + 40
    upper = max([0.5, *(r["ci"][1] if r.get("ci") else r.get("share") or 0 for r in rows),
                 *(r.get("null") or 0 for r in rows)])
    upper = min(1.0, math.ceil(upper * 10) / 10)

    def x(v: float) -> float:
        return left + v / upper * (width - left - right)

    out = []
    for k in range(int(round(upper * 10)) + 1):
        v = k / 10
        out.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top}" y2="{height - 34}" stroke="#f2f4f7"/>')
        out.append(f'<text x="{x(v):.1f}" y="{height - 20}" font-size="11" text-anchor="middle" '
                   f'fill="{_MUTED}">{_pct(v)}</text>')
    out.append(f'<text x="{left}" y="{height - 4}" font-size="11" fill="{_MUTED}">PC1 share of variance; grey: where '
               "it lands 95% of the time with no factor</text>")
    for i, r in enumerate(rows):
        y = top + i * step + 30
        out.append(f'<text x="{left}" y="{y - 13:.1f}" font-size="12">{escape(r["name"])}</text>')
        if r.get("share") is None:
            out.append(f'<text x="{left}" y="{y + 4:.1f}" font-size="11" fill="{_MUTED}">'
                       f'{escape(r.get("reason") or "not available")}</text>')
            continue
        null = r.get("null") or 0.0
        out.append(f'<rect x="{x(0):.1f}" y="{y - 7:.1f}" width="{x(null) - x(0):.1f}" height="14" fill="#e4e7ec">'
                   f"<title>null 95th percentile {_pct(null)}</title></rect>")
        colour = _ACCENT if r["share"] > null else _NO
        end = r["share"]
        if r.get("ci"):
            lo, end = r["ci"]
            out.append(f'<line x1="{x(lo):.1f}" x2="{x(end):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                       'stroke-width="3" stroke-opacity="0.45"/>')
        tip = f"{r['name']}: PC1 {_pct(r['share'])}" + (f" (CI {_pct(r['ci'][0])}–{_pct(r['ci'][1])})" if r.get("ci")
                                                        else "") + f", null 95th percentile {_pct(null)}"
        out.append(f'<circle cx="{x(r["share"]):.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{escape(tip)}</title>'
                   "</circle>")
        out.append(f'<text x="{x(end) + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="{colour}">{_pct(r["share"])}</text>')
    return _svg(out, width=width, height=height, label=label)


def estimates_svg(estimates: dict[str, dict], *, label: str = "PC1 share of each estimate against its null") -> str:
    """PC1 share with its bootstrap interval for each estimate (pooled, z, within task, partialled),
    each against its own parallel-analysis null; red where the share does not beat the null."""
    if not estimates or not any(e.get("available") for e in estimates.values()):
        return _empty(label, "Not enough setups for an estimate yet")
    rows = [{"name": e["label"], "share": e.get("pc1_share"), "ci": e.get("pc1_ci"), "null": e.get("null_p95"),
             "reason": e.get("reason")} for e in estimates.values()]
    return _interval_rows(rows, label=label)


def loto_svg(loto: Sequence[dict], *, pooled_share: float | None, pooled_null: float | None,
             label: str = "PC1 share leaving one task out") -> str:
    """PC1 share (and its null) with all tasks, then with each task left out."""
    if not loto or pooled_share is None:
        return _empty(label, "Needs two or more tasks")
    rows = [{"name": "all tasks", "share": pooled_share, "null": pooled_null}]
    rows += [{"name": f"without {r['left_out']} ({r['n_left_out']})", "share": r["pc1_share"], "null": r["null_p95"],
              "reason": "too few rows left"} for r in loto]
    return _interval_rows(rows, label=label)


def _diverging(r: float) -> str:
    """-1 red, 0 white, +1 the accent blue."""
    end = (48, 86, 211) if r >= 0 else (192, 57, 43)
    t = min(abs(r), 1.0)
    red, green, blue = (round(255 + (c - 255) * t) for c in end)
    return f"rgb({red},{green},{blue})"


def correlation_svg(correlation: dict, *, names: dict[str, str] | None = None,
                    label: str = "Correlations between the concept statistics") -> str:
    """Heat map of the pairwise correlation matrix (blue positive, red negative), values printed."""
    cols = correlation.get("columns") or []
    matrix = correlation.get("matrix") or []
    if not cols or all(v is None for row in matrix for i, v in enumerate(row)):
        return _empty(label, "Not enough setups for correlations yet")
    cell, left, top = 46, 34, 26
    size = left + cell * len(cols) + 8
    out = []
    for j, c in enumerate(cols):
        title = escape(f"{c}: {names[c]}" if names and c in names else c)
        out.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 8}" font-size="12" text-anchor="middle" '
                   f'font-weight="600"><title>{title}</title>{escape(c)}</text>')
        out.append(f'<text x="{left - 8}" y="{top + j * cell + cell / 2 + 4}" font-size="12" text-anchor="end" '
                   f'font-weight="600"><title>{title}</title>{escape(c)}</text>')
    n_pairs = correlation.get("n_pairs") or [[None] * len(cols)] * len(cols)
    for i, a in enumerate(cols):
        for j, b in enumerate(cols):
            x, y = left + j * cell, top + i * cell
            r = matrix[i][j]
            if r is None:
                out.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#f2f4f7">'
                           f"<title>{escape(a)}–{escape(b)}: fewer than 3 common rows</title></rect>")
                continue
            tip = f"{a}–{b}: r = {r:.2f} over {n_pairs[i][j]} rows"
            out.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_diverging(r)}" '
                       f'stroke="#e4e7ec"><title>{escape(tip)}</title></rect>')
            out.append(f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="11" text-anchor="middle" '
                       f'fill="{"#fff" if abs(r) > 0.55 else "#1d2330"}">{r:.2f}</text>')
    return _svg(out, width=size, height=top + cell * len(cols) + 8, label=label)


def scatter_matrix_svg(rows: Sequence[dict], concepts: Sequence[str], *, task_key: str = "task",
                       label: str = "Scatter matrix of the concept statistics") -> str:
    """Pairwise scatter plots of the statistics' ranks (below the diagonal), coloured by task, with the
    letters on the diagonal and the number of common rows above it. Ranks put every statistic on the same
    scale, as the rank-based factor analysis sees them."""
    if len(rows) < 3:
        return _empty(label, "Not enough setups for a scatter matrix yet")
    k = len(concepts)
    cell, left, top, legend = 62, 8, 8, 26
    size = left + cell * k + 8
    tasks = sorted({str(r.get(task_key)) for r in rows})
    colour = {t: _TASK_COLOURS[i % len(_TASK_COLOURS)] for i, t in enumerate(tasks)}
    ranks: dict[str, dict[int, float]] = {}
    for c in concepts:
        vals = sorted((r[c], i) for i, r in enumerate(rows) if r.get(c) is not None)
        n = len(vals)
        ranks[c] = {i: (q / (n - 1) if n > 1 else 0.5) for q, (_, i) in enumerate(vals)}
    out = []
    for a in range(k):
        for b in range(k):
            x0, y0 = left + b * cell, top + a * cell
            out.append(f'<rect x="{x0}" y="{y0}" width="{cell - 4}" height="{cell - 4}" fill="#fff" stroke="{_AXIS}" '
                       'stroke-width="0.5"/>')
            ca, cb = concepts[a], concepts[b]
            if a == b:
                out.append(f'<text x="{x0 + (cell - 4) / 2}" y="{y0 + cell / 2 + 4}" font-size="16" font-weight="600" '
                           f'text-anchor="middle">{escape(ca)}</text>')
                continue
            common = [i for i in ranks[ca] if i in ranks[cb]]
            if a < b:
                out.append(f'<text x="{x0 + (cell - 4) / 2}" y="{y0 + cell / 2 + 3}" font-size="10" '
                           f'text-anchor="middle" fill="{_MUTED}">n={len(common)}</text>')
                continue
            pad, inner = 4, cell - 12
            # One path per task and panel, each point a zero-length round-capped segment: a fifth of the bytes
            # of one <circle> per point (192 rows × 28 panels would otherwise weigh ~400 kB).
            dots: dict[str, list[str]] = {}
            for i in common:
                px, py = x0 + pad + ranks[cb][i] * inner, y0 + pad + (1 - ranks[ca][i]) * inner
                dots.setdefault(str(rows[i].get(task_key)), []).append(f"M{px:.1f} {py:.1f}h0")
            for task, segments in dots.items():
                out.append(f'<path class="dots" d="{"".join(segments)}" stroke="{colour[task]}" stroke-width="3.2" '
                           'stroke-linecap="round" stroke-opacity="0.75"/>')
    y = top + cell * k + 14
    x = left
    for t in tasks:
        out.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="4" fill="{colour[t]}"/>')
        out.append(f'<text x="{x + 13}" y="{y}" font-size="11" fill="{_MUTED}">{escape(t)}</text>')
        x += 18 + 7 * len(t)
        if x > size - 60:
            x, y = left, y + 16
    out.append(f'<text x="{left}" y="{y + 18}" font-size="11" fill="{_MUTED}">Below the diagonal: rank of the row statistic '
               "(up) against the column statistic (right).</text>")
    out.append(f'<text x="{left}" y="{y + 32}" font-size="11" fill="{_MUTED}">Above: rows measured on both.</text>')
    return _svg(out, width=size, height=y + legend + 14, label=label)
