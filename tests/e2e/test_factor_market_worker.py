"""A tiny factor market end to end on a real Redis broker and real Celery workers: the beat closes it,
the hidden seed is revealed, the campaign's units run on the ``gpu`` queue, a worker is killed in the
middle, another finishes, the last unit sends the decision, and the market resolves and pays once;
every task delivered again changes nothing (docs/factor-markets.md)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from experiments.protocols.base import get_protocol
from experiments.survey.campaign_spec import seed_commitment
from experiments.survey.models import SurveyCell
from market.models import LedgerEntry, Market, MarketCampaign, Position
from market.services import forecast_place, market_open
from tests.e2e import resolution_support
from tests.e2e.resolution_support import wait_for
from tests.experiments.pipeline_support import ledger_snapshot
from tests.market.factories import UserFactory

pytestmark = [pytest.mark.redis, pytest.mark.slow]
workers = resolution_support.workers  # fixture

TINY_CAMPAIGN = {"kind": "survey_campaign", "preset": "tiny", "tasks": ["digits", "lms"], "rows": 3,
                 "row_budget": 3, "statistic": "pc1_share", "n_bootstrap": 200, "n_null": 200,
                 "axes": {"steps": "30:40", "width": "16:16", "batch_size": "32|64"}}


def _status(pk: int) -> str:
    return Market.objects.get(pk=pk).status


def test_a_tiny_factor_market_resolves_through_real_workers_despite_a_killed_worker(workers):
    market = market_open(title="tiny factor", concept="g", question="Does PC1 carry at least 1/8?",
                         spec=dict(TINY_CAMPAIGN), statistic="pc1_share", comparator=">=", threshold=0.125,
                         close_time=timezone.now() + timedelta(hours=1))
    for i in range(2):
        forecast_place(user=UserFactory(), market=market, probability=0.8 if i == 0 else 0.3)
    link = MarketCampaign.objects.get(market=market)
    hidden = (link.design_seed, link.salt)
    # before the close, the API shows the commitment and never the seed
    body = APIClient().get(f"/api/v1/markets/{market.pk}/").content.decode()
    assert market.spec["design_seed_commitment"] in body and link.salt not in body

    Market.objects.filter(pk=market.pk).update(close_time=timezone.now())
    first = workers.start("a", concurrency=1)
    client = workers.client()
    client.send_task("market.tasks.close_due_markets_task", queue="default")  # what beat sends
    link = wait_for(lambda: MarketCampaign.objects.filter(market=market, campaign__isnull=False).first(),
                    timeout=60, what="the campaign to start", logs=workers.logs)
    wait_for(lambda: SurveyCell.objects.filter(row__campaign=link.campaign, status="done").count() >= 1,
             timeout=180, what="the first unit to finish", logs=workers.logs)
    assert _status(market.pk) == "running"
    workers.kill(first)  # mid-campaign: its unacknowledged unit is handed out again
    done = SurveyCell.objects.filter(row__campaign=link.campaign, status="done")
    finished = {c.pk: c.updated_at for c in done}

    workers.start("b", concurrency=2)
    wait_for(lambda: _status(market.pk) == "resolved", timeout=300, what="the market to resolve",
             logs=workers.logs)
    market.refresh_from_db()
    link.refresh_from_db()
    assert market.outcome == "yes" and "3 rows" in market.resolution_note
    assert (link.design_seed, link.salt) == hidden and link.revealed
    assert seed_commitment(link.design_seed, link.salt) == market.spec["design_seed_commitment"]
    assert [d["outcome"] for d in link.decisions] == ["yes"] and link.report["statistic"] >= 0.125
    cells = list(SurveyCell.objects.filter(row__campaign=link.campaign).select_related("row"))
    assert len(cells) == 3 * 8
    for cell in cells:
        if cell.row.task in get_protocol(cell.concept).tasks:
            assert cell.status == "done", (cell.row.task, cell.concept, cell.error[-500:])
    for pk, stamp in finished.items():  # finished cells were not recomputed after the kill
        assert SurveyCell.objects.get(pk=pk).updated_at == stamp

    # paid once: the winners' shares, one entry each
    winners = Position.objects.filter(market=market, shares_yes__gt=0)
    payouts = LedgerEntry.objects.filter(market=market, kind="payout")
    assert payouts.count() == winners.count() >= 1
    assert payouts.aggregate(s=Sum("amount"))["s"] == winners.aggregate(s=Sum("shares_yes"))["s"]

    # the campaign API and the report show it, with the seed now revealed
    api = APIClient().get(f"/api/v1/markets/{market.pk}/campaign/")
    assert api.status_code == 200
    data = api.json()
    assert data["design_seed"] == link.design_seed and data["commitment_ok"] is True
    assert data["progress"]["rows_done"] >= 2 and data["market_status"] == "resolved"
    report = APIClient().get(f"/markets/{market.pk}/report/")
    assert report.status_code == 200 and str(link.design_seed) in report.content.decode()

    # every task delivered again changes nothing
    before = (ledger_snapshot(), list(SurveyCell.objects.filter(row__campaign=link.campaign)
                                      .order_by("pk").values_list("pk", "updated_at")))
    replies = [
        client.send_task("experiments.survey_unit", args=[link.campaign_id, 0, "base"], queue="gpu"),
        client.send_task("resolution.tasks.campaign_market_decide_task", args=[market.pk], queue="default"),
        client.send_task("resolution.tasks.resume_stalled_campaigns_task", queue="default"),
        client.send_task("market.tasks.close_due_markets_task", queue="default"),
    ]
    results = [r.get(timeout=60) for r in replies]
    assert results[0] == "skipped" and results[1]["action"] == "already_settled" and results[3] == []
    after = (ledger_snapshot(), list(SurveyCell.objects.filter(row__campaign=link.campaign)
                                     .order_by("pk").values_list("pk", "updated_at")))
    assert after == before
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().startswith("OK"), out.getvalue()
