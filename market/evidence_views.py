"""``/markets/<id>/evidence.csv``: the rows behind a market's "Evidence so far" panel (docs/evidence.md)."""

from __future__ import annotations

import csv
import io

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from experiments.evidence.selectors import criterion_evidence
from market.models import Market

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = [
    "rank",
    "source",
    "campaign",
    "row",
    "run_id",
    "setup",
    "task",
    "arch",
    "distance",
    "value",
    "ci_low",
    "ci_high",
    "side",
    "ci_side",
]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value  # a spreadsheet would run it as a formula
    return value


@require_GET
def market_evidence_csv(request: HttpRequest, pk: int) -> HttpResponse:
    market = get_object_or_404(Market, pk=pk)
    evidence = criterion_evidence(market)
    names = sorted({k for r in evidence["rows"] for k in r["params"]})
    out = io.StringIO()
    for line in (
        f"pathmarket evidence for market {market.pk}: {market.statistic} {market.comparator} "
        f"{market.threshold:g}",
        f"nearest: {evidence['nearness']['text']}",
        evidence["headline"] or evidence["message"],
    ):
        out.write("# " + line.replace("\n", " ").replace("\r", " ") + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *(f"p_{n}" for n in names)])
    for rank, row in enumerate(evidence["rows"], start=1):
        writer.writerow(
            [_cell(v) for v in (rank, *(row[c] for c in COLUMNS[1:]), *(row["params"].get(n) for n in names))]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pathmarket-market-{market.pk}-evidence.csv"'
    return response


def evidence_panel(market: Market) -> dict:
    """The panel's context: the evidence, its strip chart and its links."""
    from experiments.evidence.chart import evidence_svg
    from market.api.evidence import evidence_links

    evidence = criterion_evidence(market)
    return {**evidence, "chart": evidence_svg(evidence), "links": evidence_links(market.pk)}
