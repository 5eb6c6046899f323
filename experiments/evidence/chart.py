"""The evidence strip: one dot per nearby setting on the statistic's axis, stacked where values are
close, with the threshold as a line and the YES side shaded. Drawn in experiments/charts.py's frame
and palette (no script, no style attribute); every piece of text is HTML-escaped."""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

from django.utils.safestring import SafeString

from experiments.charts import AXIS, INK, MUTED, NO, YES, svg_document

_W, _ML, _MR = 480, 14, 14
_R = 6.5  # dot radius, px
_BINS = 32


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n)) if span > 0 else 1.0
    for mult in (1, 2, 2.5, 5, 10):
        if span / (step * mult) <= n:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def evidence_svg(evidence: Mapping[str, Any]) -> SafeString | str:
    """The strip of ``experiments.evidence.selectors.setting_evidence``'s nearest rows ("" when none)."""
    rows = [r for r in evidence.get("rows", []) if r.get("value") is not None]
    if not rows:
        return ""
    threshold, statistic = float(evidence["threshold"]), str(evidence["statistic"])
    comparator = str(evidence["comparator"])
    values = [float(r["value"]) for r in rows]
    lo, hi = min(*values, threshold), max(*values, threshold)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.05)
    lo, hi = lo - pad, hi + pad
    width = _W - _ML - _MR

    def x(v: float) -> float:
        return _ML + (v - lo) / (hi - lo) * width

    stacks: dict[int, int] = {}
    dots = []
    for r, v in sorted(zip(rows, values, strict=True), key=lambda rv: rv[1]):
        b = min(int((v - lo) / (hi - lo) * _BINS), _BINS - 1)
        level = stacks.get(b, 0)
        stacks[b] = level + 1
        dots.append((r, v, b, level))
    levels = max(stacks.values())
    step = min(2 * _R + 1, 120 / levels)
    top = 30
    base = top + levels * step + 4
    height = int(base + 42)
    yes_right = comparator in (">=", ">")
    tx = x(threshold)
    shade_x, shade_w = (tx, _ML + width - tx) if yes_right else (_ML, tx - _ML)
    label = (
        f"{statistic} of the {len(rows)} nearest settings; threshold {threshold:g}; "
        f"YES when {statistic} {comparator} {threshold:g}"
    )
    body = [
        f'<rect x="{shade_x:.1f}" y="{top - 6}" width="{max(shade_w, 0):.1f}" height="{base - top + 6:.1f}" '
        f'fill="{YES}" fill-opacity="0.07"/>',
        f'<line x1="{_ML}" x2="{_ML + width}" y1="{base:.1f}" y2="{base:.1f}" stroke="{AXIS}"/>',
    ]
    for t in _ticks(lo, hi):
        body.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{base:.1f}" y2="{base + 4:.1f}" stroke="{AXIS}"/>'
        )
        body.append(
            f'<text x="{x(t):.1f}" y="{base + 19:.1f}" font-size="15" text-anchor="middle" '
            f'fill="{MUTED}">{escape(f"{t:g}")}</text>'
        )
    body.append(
        f'<text x="{_ML + width / 2:.1f}" y="{height - 4}" font-size="15" text-anchor="middle" '
        f'fill="{MUTED}">{escape(statistic)}</text>'
    )
    for r, v, _b, level in dots:
        cx = x(v)
        cy = base - _R - 2 - level * step
        colour = YES if r.get("side") == "yes" else NO
        where = {
            "survey": f"survey {r.get('campaign')} row {r.get('row')}",
            "subset": f"simulated survey {r.get('row')}",
        }.get(str(r.get("source")), f"run {r.get('run_id')}")
        tip = escape(f"{where}: {statistic} = {v:.4g} ({r.get('setup')})")
        if r.get("source") == "run":
            s = _R + 1
            body.append(
                f'<path d="M{cx:.1f} {cy - s:.1f} L{cx + s:.1f} {cy:.1f} L{cx:.1f} {cy + s:.1f} '
                f'L{cx - s:.1f} {cy:.1f} Z" fill="{colour}" fill-opacity="0.85"><title>{tip}</title></path>'
            )
        else:
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{_R}" fill="{colour}" fill-opacity="0.8">'
                f"<title>{tip}</title></circle>"
            )
    anchor = "end" if tx > _ML + width * 0.6 else "start"
    nudge = -4 if anchor == "end" else 4
    body.append(
        f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 12}" y2="{base + 4:.1f}" stroke="{INK}" '
        f'stroke-width="2" stroke-dasharray="5 3"/>'
    )
    side = "YES →" if yes_right else "← YES"
    body.append(
        f'<text x="{tx + nudge:.1f}" y="{top - 16:.1f}" font-size="15" text-anchor="{anchor}" '
        f'fill="{INK}">{escape(f"threshold {threshold:g} · {side}")}</text>'
    )
    return svg_document(
        body, width=_W, height=height, label=label, css_class="evidence-strip", max_width=False
    )
