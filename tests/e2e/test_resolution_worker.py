"""End to end with a real Redis broker and real `celery worker` processes on the test database:
open → closed (beat task) → run (chunks + chord) → resolved, exactly once — also across a SIGKILL."""
from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from experiments.models import ExperimentRun, RunSeed
from market.models import LedgerEntry, Market, Position
from tests.e2e import resolution_support
from tests.e2e.resolution_support import wait_for
from tests.experiments.pipeline_support import ledger_snapshot, tiny_market

pytestmark = [pytest.mark.redis, pytest.mark.slow]
workers = resolution_support.workers  # fixture


def _status(market_id: int) -> str:
    return Market.objects.get(pk=market_id).status


def _winning_shares(market: Market) -> Decimal:
    field = "shares_yes" if market.outcome == "yes" else "shares_no"
    return Position.objects.filter(market=market).aggregate(s=Sum(field))["s"] or Decimal(0)


def _assert_paid_once(market: Market) -> None:
    market.refresh_from_db()
    payouts = LedgerEntry.objects.filter(market=market, kind="payout")
    winners = Position.objects.filter(market=market, **{f"shares_{market.outcome}__gt": 0}).count()
    assert payouts.count() == winners
    assert payouts.aggregate(s=Sum("amount"))["s"] == _winning_shares(market)
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().startswith("OK"), out.getvalue()


def test_a_market_closes_runs_and_resolves_on_real_workers_and_redelivery_changes_nothing(workers):
    market, _ = tiny_market(comparator=">=", threshold=0.01)
    Market.objects.filter(pk=market.pk).update(close_time=timezone.now())
    workers.start("a")
    client = workers.client()
    # What beat sends every minute.
    client.send_task("market.tasks.close_due_markets_task", queue="default")
    wait_for(lambda: _status(market.pk) == "resolved", timeout=150, what="the market to resolve", logs=workers.logs)

    market.refresh_from_db()
    run = ExperimentRun.objects.get(market_link__market=market, purpose="resolution")
    assert run.status == "succeeded" and run.decision == market.outcome == "yes"
    assert sorted(RunSeed.objects.filter(run=run).values_list("seed", flat=True)) == run.seeds == [0, 1, 2, 3]
    _assert_paid_once(market)

    # The report and the API show the numbers of the run's JSON.
    api = APIClient()
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    result = api.get(f"/runs/{run.pk}/result.json").json()
    assert (body["statistic"], body["ci_low"], body["ci_high"]) == (result["statistic"], result["ci_low"], result["ci_high"])
    assert body["per_seed"] == result["per_seed"] and result["spec_sha256"] == market.spec_sha256
    html = api.get(f"/markets/{market.pk}/report/").content.decode()
    assert f'id="statistic">{result["statistic"]:.6f}'.rstrip("0") in html

    # Every task of the run delivered a second time changes nothing.
    before = (ledger_snapshot(), list(RunSeed.objects.filter(run=run).values_list("seed", "updated_at")),
              ExperimentRun.objects.filter(pk=run.pk).values_list("updated_at", flat=True).get())
    replies = [
        client.send_task("experiments.tasks.start_run_task", args=[run.pk], queue="default"),
        client.send_task("experiments.tasks.train_chunk_task", args=[run.pk, [0, 1]], queue="gpu"),
        client.send_task("experiments.tasks.finalize_run_task", args=[run.pk], queue="default"),
        client.send_task("market.tasks.close_due_markets_task", queue="default"),
    ]
    assert [r.get(timeout=60) for r in replies] == [0, 0, "skipped", []]
    after = (ledger_snapshot(), list(RunSeed.objects.filter(run=run).values_list("seed", "updated_at")),
             ExperimentRun.objects.filter(pk=run.pk).values_list("updated_at", flat=True).get())
    assert after == before
    assert ExperimentRun.objects.filter(market_link__market=market).count() == 1


def test_a_worker_killed_mid_run_is_replaced_and_the_market_still_resolves_once(workers):
    # Long enough per chunk (4 chunks of 2 seeds) that the kill lands mid-run.
    spec = {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": 8, "seed_budget": 8,
            "params": {"steps": 600}}
    market, _ = tiny_market(comparator=">=", threshold=0.01, spec=spec, traders=3)
    Market.objects.filter(pk=market.pk).update(close_time=timezone.now())
    first = workers.start("doomed")
    workers.client().send_task("market.tasks.close_due_markets_task", queue="default")

    def some_seeds_trained():
        run = ExperimentRun.objects.filter(market_link__market=market).first()
        return run is not None and run.status == "running" and 0 < RunSeed.objects.filter(run=run).count() < 8

    wait_for(some_seeds_trained, timeout=150, interval=0.1, what="training to start", logs=workers.logs)
    workers.kill(first)
    killed_at = time.monotonic()
    run = ExperimentRun.objects.get(market_link__market=market)
    trained_before_kill = RunSeed.objects.filter(run=run).count()
    assert run.status == "running" and trained_before_kill < 8 and _status(market.pk) == "running"

    # A starting worker hands back every unacknowledged task older than the visibility timeout (8 s
    # here); later, kombu re-checks only every 10th poll, so start the rescuer once they are that old.
    time.sleep(max(0.0, 9 - (time.monotonic() - killed_at)))
    workers.start("rescuer")
    wait_for(lambda: _status(market.pk) in ("resolved", "annulled"), timeout=180, what="the market to settle",
             logs=workers.logs)
    run.refresh_from_db()
    market.refresh_from_db()
    assert run.status == "succeeded" and market.status == "resolved" and market.outcome == run.decision
    assert RunSeed.objects.filter(run=run).count() == 8 and sorted(run.provenance["seeds"]) == list(range(8))
    _assert_paid_once(market)
