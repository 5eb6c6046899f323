"""Reads of the resolution app's pages: a factor market's campaign rows, as a table and as a CSV export.

The campaign's status (seed, commitment, progress, decisions, estimate) is
``resolution.campaigns.campaign_market_status``; this module adds the row-level data behind it: every
row of the current stage (its task, drawn parameters and the eight concept statistics with each cell's
status), and the provenance header of ``/markets/{id}/campaign.csv`` (docs/factor-markets.md).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from django.utils import timezone

from experiments.concepts import CONCEPTS as CONCEPT_INFO
from experiments.concepts import LETTERS
from experiments.survey.models import SurveyCell, SurveyRow
from market.models import Market, MarketCampaign


def market_campaign_link(*, market: Market) -> MarketCampaign | None:
    """The market's campaign link (None for a market that is not a factor market)."""
    return MarketCampaign.objects.select_related("campaign").filter(market=market).first()


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def campaign_rows(*, link: MarketCampaign) -> list[dict[str, Any]]:
    """The rows of the campaign's current stage (the first ``rows_planned`` of its design), in order.

    Each row: ``index, task, arch, params, params_text, cells`` (one ``{status, statistic}`` per concept
    A–H, ``None`` where the row has no cell of that concept), ``n_done, n_failed, n_running, status``
    (``done`` when all eight are done, ``failed`` when a cell failed, else ``running`` or ``pending``).
    Empty before the campaign starts.
    """
    if link.campaign_id is None:
        return []
    rows = (SurveyRow.objects.filter(campaign_id=link.campaign_id, index__lt=link.rows_planned)
            .order_by("index"))
    cells: dict[int, dict[str, dict[str, Any]]] = {}
    for row_id, concept, status, statistic in (
            SurveyCell.objects.filter(row__in=rows).values_list("row_id", "concept", "status", "statistic")):
        cells.setdefault(row_id, {})[concept] = {"status": status, "statistic": statistic}
    out = []
    for row in rows:
        mine = cells.get(row.pk, {})
        statuses = [c["status"] for c in mine.values()]
        n_done = statuses.count(SurveyCell.Status.DONE)
        n_failed = statuses.count(SurveyCell.Status.FAILED)
        n_running = statuses.count(SurveyCell.Status.RUNNING)
        if statuses and n_done == len(statuses):
            status = "done"
        elif n_failed:
            status = "failed"
        elif n_running or n_done:
            status = "running"
        else:
            status = "pending"
        out.append({"index": row.index, "task": row.task, "arch": row.arch, "params": row.params,
                    "params_text": _params_text(row.params), "cells": [mine.get(c) for c in LETTERS],
                    "n_done": n_done, "n_failed": n_failed, "n_running": n_running, "status": status})
    return out


def campaign_export(*, link: MarketCampaign) -> tuple[list[str], pd.DataFrame]:
    """The stage's rows for download and their provenance header (one ``key: value`` line each).

    Columns: ``row, task, arch``, one ``param_<name>`` per drawn parameter, the statistics ``A`` … ``H``
    (empty where not measured), each cell's status ``<letter>_status`` and the row's ``status``. The
    header names the market, the campaign, the design's SHA-256, the seed commitment, the seed and salt
    once revealed (with the check of the commitment), the site's and the cells' code versions, and
    the statistic behind each letter; ``pandas.read_csv(f, comment="#")`` reads the file.
    """
    from experiments.provenance import code_version  # imports torch; only the download needs it
    from experiments.survey.campaign_spec import seed_commitment

    market = link.market
    rows = campaign_rows(link=link)
    names = sorted({key for r in rows for key in r["params"]})
    records = []
    for r in rows:
        record: dict[str, Any] = {"row": r["index"], "task": r["task"], "arch": r["arch"]}
        record.update({f"param_{key}": r["params"].get(key) for key in names})
        for letter, cell in zip(LETTERS, r["cells"], strict=True):
            record[letter] = cell["statistic"] if cell and cell["status"] == SurveyCell.Status.DONE else None
        for letter, cell in zip(LETTERS, r["cells"], strict=True):
            record[f"{letter}_status"] = cell["status"] if cell else ""
        record["status"] = r["status"]
        records.append(record)
    columns = ["row", "task", "arch", *[f"param_{key}" for key in names], *LETTERS,
               *[f"{c}_status" for c in LETTERS], "status"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    campaign = link.campaign
    cell_versions = sorted(set(
        SurveyCell.objects.filter(row__campaign_id=link.campaign_id, row__index__lt=link.rows_planned)
        .exclude(code_version="").values_list("code_version", flat=True)))
    commitment = market.spec.get("design_seed_commitment", "")
    header = [
        f"pathmarket factor market {market.pk}: the survey campaign's rows (one setting each); A-H oriented "
        "so that higher = more path-dependent; an empty statistic is not measured (yet)",
        f"generated_at: {timezone.now().isoformat(timespec='seconds')}",
        f"market_id: {market.pk}",
        f"market_spec_sha256: {market.spec_sha256}",
        f"campaign: {campaign.name}" if campaign else "campaign: not started",
        f"design_sha256: {campaign.design_sha256}" if campaign else "design_sha256: not drawn",
        f"design_seed_commitment: {commitment}",
    ]
    if link.revealed:
        ok = seed_commitment(link.design_seed, link.salt) == commitment
        header += [f"design_seed: {link.design_seed}", f"salt: {link.salt}",
                   f"commitment_matches: {'yes' if ok else 'NO'}"]
    header += [
        f"rows_planned: {link.rows_planned} (row budget {market.spec.get('row_budget')})",
        f"site_code_version: {code_version()}",
        f"cell_code_versions: {', '.join(cell_versions) or 'none yet'}",
        "statistics: " + ", ".join(f"{c}={CONCEPT_INFO[c].statistic}" for c in LETTERS),
        "read with: pandas.read_csv(path, comment='#')",
    ]
    return [line.replace("\n", " ").replace("\r", " ") for line in header], frame
