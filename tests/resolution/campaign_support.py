"""A small factor market (concept g) with hand-made survey cells, for the campaign report's tests.

Training the campaign's 8 concepts × rows would take minutes; the report only reads cells, so the cells
are written by hand (status, oriented statistic, wall time, code version) and the factor estimate is
computed by the real ``resolution.campaigns.campaign_estimate`` on them."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.utils import timezone

from experiments.concepts import LETTERS
from experiments.survey.models import SurveyCell
from market.models import Market, MarketCampaign
from market.services import market_close, market_open

CODE_VERSION = "cafe123-test"


def factor_market_open(*, rows: int = 8, row_budget: int | None = None,
                       title: str = "Is path dependence one trait?") -> Market:
    """An open factor market whose campaign measures ``rows`` digits settings (tiny preset) first."""
    spec = {"kind": "survey_campaign", "preset": "tiny", "tasks": ["digits"], "rows": rows,
            "row_budget": row_budget or rows, "statistic": "pc1_share", "axes": {"steps": "100:150"},
            "n_bootstrap": 200, "n_null": 200}
    return market_open(
        title=title, concept="g", question="Does one factor explain the eight concepts on digits MLPs?",
        spec=spec, statistic="pc1_share", comparator=">=", threshold=0.125,
        close_time=timezone.now() + timedelta(days=1))


def cells_fill(*, market: Market, done: int | None = None, failed: int = 0, running: int = 0) -> None:
    """Write the stage's cells by hand, in (row, concept) order: ``done`` cells done (default all) with a
    common factor plus noise, then ``failed`` failed, ``running`` running; the rest stay pending."""
    link = MarketCampaign.objects.get(market=market)
    cells = list(SurveyCell.objects.filter(row__campaign=link.campaign, row__index__lt=link.rows_planned)
                 .select_related("row").order_by("row__index", "concept"))
    done = len(cells) if done is None else done
    rng = np.random.default_rng(7)
    level = rng.normal(size=link.rows_planned)
    for k, cell in enumerate(cells):
        if k < done:
            cell.status = SurveyCell.Status.DONE
            cell.statistic = float(level[cell.row.index] + 0.5 * rng.normal() + LETTERS.index(cell.concept))
            cell.ci_low, cell.ci_high = cell.statistic - 0.1, cell.statistic + 0.1
            cell.wall_seconds, cell.code_version, cell.attempts = 3.0, CODE_VERSION, 1
        elif k < done + failed:
            cell.status, cell.error, cell.attempts = SurveyCell.Status.FAILED, "boom", 1
        elif k < done + failed + running:
            cell.status = SurveyCell.Status.RUNNING
        else:
            continue
        cell.save()


def factor_market_decided(*, rows: int = 8) -> Market:
    """A factor market closed, its stage measured by hand and decided (:func:`stage_decide`)."""
    market = factor_market_open(rows=rows)
    market_close(market=market.pk)
    cells_fill(market=market)
    return stage_decide(market=market)


def stage_decide(*, market: Market) -> Market:
    """Decide the finished stage with the real ``campaign_market_decide``; the stage must settle it."""
    from resolution.campaigns import campaign_market_decide

    result = campaign_market_decide(market_id=market.pk)
    assert result["action"] == "resolved", result
    market.refresh_from_db()
    return market
