"""A numeric market through the resolution pipeline (eager Celery, a real tiny run): the bin holding the
run's statistic pays once, the report shows the distribution, and staff re-resolution works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from evaluator.models import Score
from experiments.models import ExperimentRun
from market.models import Position
from market.reconcile import ledger_reconcile
from market.services import forecast_place, market_close, market_open_numeric
from market.services.forecasts import market_bins
from market.services.trade_write import decimals_load
from resolution import services
from resolution.services import market_settle_from_run
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import TINY_SPEC, ledger_snapshot, payout_total
from tests.market.factories import UserFactory

pytestmark = pytest.mark.django_db
eager_celery = pipeline_support.eager_celery  # fixture


def test_a_numeric_market_resolves_at_the_runs_statistic_and_pays_the_bin_once(
    eager_celery, django_capture_on_commit_callbacks
):
    market = market_open_numeric(
        title="tiny digits disagreement (numeric)",
        concept="A",
        question="How much do tiny MLPs disagree?",
        spec=dict(TINY_SPEC),
        statistic="dis_ood",
        range_lo=0.0,
        range_hi=0.3,
        n_bins=30,
        open_upper=True,
        close_time=timezone.now() + timedelta(hours=1),
    )
    users = [UserFactory() for _ in range(2)]
    forecast_place(
        user=users[0], market=market, distribution={"quantiles": {"0.1": 0.02, "0.5": 0.08, "0.9": 0.2}}
    )
    forecast_place(
        user=users[1],
        market=market,
        distribution={"components": [{"center": 0.25, "spread": 0.02, "weight": 1.0}]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market, purpose="resolution")
    market.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.criterion == {} and run.decision == ""
    index = market_bins(market).outcome_of(run.statistic)
    assert (market.status, market.outcome_bin, market.outcome_value) == ("resolved", index, run.statistic)
    winning = sum(decimals_load(p.shares_bins)[index] for p in Position.objects.filter(market=market))
    assert payout_total(market) == winning and run.settlement["action"] == "resolved"
    before = ledger_snapshot()
    assert market_settle_from_run(run_id=run.pk)["action"] == "already_settled"
    assert ledger_snapshot() == before
    assert ledger_reconcile().ok, ledger_reconcile().summary()
    assert Score.objects.filter(market=market, kind="crps", forecaster="user").count() == 2

    # The report: the final distribution, the outcome with its CI, each forecaster's PIT.
    html = Client().get(f"/markets/{market.pk}/report/").content.decode()
    assert 'id="numeric-report"' in html and 'id="numeric-forecasters"' in html
    assert users[0].username in html and "bootstrap CI" in html

    # Staff re-resolution after a verified re-run: the verification's statistic picks the bin.
    with django_capture_on_commit_callbacks(execute=True):
        verify = services.run_verify(run_id=run.pk)
    verify.refresh_from_db()
    assert verify.status == "succeeded" and verify.statistic is not None
    report = services.run_reresolve_market(run_id=verify.pk, reason="verified re-run")
    market.refresh_from_db()
    assert market.outcome_bin == market_bins(market).outcome_of(verify.statistic)
    assert report["already_resolved"] == (market.outcome_bin == index)
    assert ledger_reconcile().ok, ledger_reconcile().summary()
