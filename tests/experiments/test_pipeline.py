"""Resolution pipeline in one process: close → run (chunks + chord, eager Celery) → decision → market.

The real-worker, real-Redis version of these paths is tests/e2e/test_resolution_worker.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from experiments import registry, services
from experiments.models import ExperimentRun, RunSeed
from market.models import MarketRun, MarketStatus
from market.services import market_close
from resolution import services as resolution_services
from resolution.services import market_settle_from_run
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import TINY_SPEC, ledger_snapshot, payout_total, tiny_market

pytestmark = pytest.mark.django_db
eager_celery = pipeline_support.eager_celery  # fixture


def close_and_run(market, capture, *, failing: bool = False):
    try:
        with capture(execute=True):
            assert market_close(market=market)
    except RuntimeError:
        # Eager Celery re-raises a task's final failure from its retry; workers record it instead.
        if not failing:
            raise
    market.refresh_from_db()
    return ExperimentRun.objects.get(market_link__market=market, purpose="resolution")


def _run_sends(callbacks: list) -> list:
    """The on-commit callbacks other than the market's own event signal (market.signals)."""
    return [c for c in callbacks if "market_event_on_commit" not in c.__qualname__]


def test_closing_a_market_creates_one_run_that_is_sent_only_after_commit(django_capture_on_commit_callbacks):
    market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert market_close(market=market)
        assert market_close(market=market) is False  # closing twice enqueues nothing more
        run = ExperimentRun.objects.get(market_link__market=market)
        assert run.status == "queued" and callbacks == []  # nothing is sent inside the transaction
    assert len(_run_sends(callbacks)) == 1
    assert run.spec_sha256 == market.spec_sha256 and run.spec == registry.validate_spec(market.spec)
    assert run.criterion == {"statistic": "dis_ood", "comparator": ">=", "threshold": 0.01, "confidence": 0.95}
    assert run.seeds == [0, 1, 2, 3] and run.seed_budget == 8


def test_a_clear_result_resolves_yes_pays_once_and_matches_a_one_process_run(
    eager_celery, django_capture_on_commit_callbacks
):
    market, users = tiny_market(comparator=">=", threshold=0.01)
    run = close_and_run(market, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert (run.decision, market.status, market.outcome) == ("yes", MarketStatus.RESOLVED, "yes")
    assert run.progress == 1.0 and RunSeed.objects.filter(run=run).count() == 4
    # Chunks of 2 seeds give exactly the numbers of one process training all 4 seeds.
    reference = registry.run_spec(run.spec, device="cpu")
    assert (run.statistic, run.ci_low, run.ci_high) == (reference["statistic"], reference["ci_low"], reference["ci_high"])
    assert run.result["per_seed"] == reference["per_seed"]
    # Artifacts: result.json equals the stored result; plots and CSVs exist.
    media = Path(settings.MEDIA_ROOT)
    assert json.loads((media / run.artifacts["result"]).read_text()) == run.result
    assert (media / run.artifacts["per_seed_csv"]).read_text().startswith("seed,behaviour")
    assert any(k.startswith("plot:") for k in run.artifacts) and all((media / p).exists() for p in run.artifacts.values())
    prov = run.provenance
    assert prov["seeds"] == [0, 1, 2, 3] and prov["torch_version"] and prov["worker_hosts"] and prov["wall_seconds"] >= 0
    # Payouts happened once; a second settle or finalize changes nothing.
    paid = payout_total(market)
    assert paid > 0 and run.settlement["action"] == "resolved"
    before = ledger_snapshot()
    assert market_settle_from_run(run_id=run.pk)["action"] == "already_settled"
    assert services.run_finalize(run_id=run.pk).action == "skipped"
    assert ledger_snapshot() == before
    from market.reconcile import ledger_reconcile

    assert ledger_reconcile().ok, ledger_reconcile().summary()


def test_a_chunk_delivered_twice_trains_nothing_new(eager_celery, django_capture_on_commit_callbacks):
    market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=False):
        market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    with django_capture_on_commit_callbacks(execute=False):
        services.run_start(run_id=run.pk)
    assert services.run_train_chunk(run_id=run.pk, seeds=[0, 1]) == [0, 1]
    rows = list(RunSeed.objects.filter(run=run).values_list("seed", "behaviour", "values", "updated_at"))
    assert services.run_train_chunk(run_id=run.pk, seeds=[0, 1]) == []
    assert list(RunSeed.objects.filter(run=run).values_list("seed", "behaviour", "values", "updated_at")) == rows
    # A start delivered twice dispatches nothing the second time.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.run_start(run_id=run.pk) == []
    assert callbacks == []
    # The finalizer waits for every planned seed.
    assert services.run_finalize(run_id=run.pk).action == "skipped"


def _straddling_threshold(spec: dict) -> float:
    """A threshold inside both the 4-seed and the 8-seed CI, so the rule adds seeds and then annuls."""
    small = registry.run_spec({**spec, "seeds": 4}, device="cpu")
    large = registry.run_spec({**spec, "seeds": 8}, device="cpu")
    low, high = max(small["ci_low"], large["ci_low"]), min(small["ci_high"], large["ci_high"])
    assert low < high, "the tiny CIs do not overlap; pick another spec"
    return (low + high) / 2


def test_a_straddling_ci_adds_seeds_up_to_the_budget_then_annuls_with_refunds(
    eager_celery, django_capture_on_commit_callbacks
):
    spec = {**TINY_SPEC}
    market, users = tiny_market(threshold=_straddling_threshold(spec), spec=spec)
    run = close_and_run(market, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert [h["outcome"] for h in run.history] == ["more_seeds", "annul"]
    assert [h["n_seeds"] for h in run.history] == [4, 8] and run.seeds == list(range(8))
    assert run.decision == "annul" and "straddles" in run.decision_reason
    assert market.status == MarketStatus.ANNULLED and market.outcome is None
    assert str(run.pk) in market.resolution_note
    from market.models import Position

    # Every trader got the net cost back.
    for user in users:
        position = Position.objects.get(user=user, market=market)
        refunds = sum(e.amount for e in market.ledger_entries.filter(kind="refund", credit_account__user=user))
        assert refunds == position.net_cost


def test_a_failing_chunk_fails_the_run_leaves_the_market_closed_and_staff_can_requeue(
    eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    market, _ = tiny_market()
    protocol = registry.get_protocol("A")
    original = protocol.train_seeds
    calls = {"n": 0}

    def broken(*args, **kwargs):
        calls["n"] += 1
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(type(protocol), "train_seeds", lambda self, *a, **k: broken(*a, **k))
    run = close_and_run(market, django_capture_on_commit_callbacks, failing=True)
    run.refresh_from_db()
    assert run.status == "failed" and "device-side assert" in run.error
    assert calls["n"] >= 2  # retried before giving up
    assert market.status == MarketStatus.CLOSED and market.outcome is None
    # Staff re-queue once the cause is fixed: the run resumes and settles the market.
    monkeypatch.setattr(type(protocol), "train_seeds", original)
    with django_capture_on_commit_callbacks(execute=True):
        resolution_services.run_requeue(run_id=run.pk)
    run.refresh_from_db()
    market.refresh_from_db()
    assert run.status == "succeeded" and market.status == MarketStatus.RESOLVED


def test_staff_annul_a_market_whose_run_failed(eager_celery, django_capture_on_commit_callbacks, monkeypatch):
    from django.contrib.auth import get_user_model

    market, users = tiny_market()
    protocol = registry.get_protocol("A")
    monkeypatch.setattr(type(protocol), "train_seeds", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    run = close_and_run(market, django_capture_on_commit_callbacks, failing=True)
    staff = get_user_model().objects.create_user("staffer", password="pw-staff-2026", is_staff=True)
    with pytest.raises(ValueError, match="reason"):
        resolution_services.run_annul_market(run_id=run.pk, reason=" ", actor=staff)
    report = resolution_services.run_annul_market(run_id=run.pk, reason="worker image broken", actor=staff)
    market.refresh_from_db()
    assert report["action"] == "annulled" and market.status == MarketStatus.ANNULLED
    assert "staffer" in market.resolution_note


def test_re_run_to_verify_uses_fresh_seeds_and_never_touches_the_market(
    eager_celery, django_capture_on_commit_callbacks
):
    market, _ = tiny_market()
    run = close_and_run(market, django_capture_on_commit_callbacks)
    before = ledger_snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        verify = resolution_services.run_verify(run_id=run.pk)
    verify.refresh_from_db()
    assert verify.purpose == "verify" and verify.verifies_id == run.pk and verify.status == "succeeded"
    assert set(verify.seeds).isdisjoint(range(run.seed_budget))  # fresh seeds beyond every original one
    assert verify.spec_sha256 != run.spec_sha256 and verify.spec["seed_offset"] == run.seed_budget
    assert verify.decision in ("yes", "no", "annul") and verify.settlement == {}
    assert ledger_snapshot() == before


def test_a_spec_that_no_longer_validates_records_a_failed_run_instead_of_blocking_the_close(
    django_capture_on_commit_callbacks,
):
    from market.models import Market

    market, _ = tiny_market()
    Market.objects.filter(pk=market.pk).update(spec={**TINY_SPEC, "task": "no_such_task"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    assert run.status == "failed" and "task" in run.error and _run_sends(callbacks) == []
    market.refresh_from_db()
    assert market.status == MarketStatus.CLOSED


def test_a_dry_run_without_a_market_runs_and_decides_nothing(eager_celery, django_capture_on_commit_callbacks):
    from experiments.signals import run_status_changed

    heard: list[tuple[int, str]] = []

    def listen(sender, *, run, **kwargs):
        heard.append((run.pk, run.status))

    run_status_changed.connect(listen, dispatch_uid="test.dry_run_listener")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.run_enqueue(spec={**TINY_SPEC, "seeds": 2, "seed_budget": 2}, purpose="dry_run")
    finally:
        run_status_changed.disconnect(dispatch_uid="test.dry_run_listener")
    assert heard == [(run.pk, "running"), (run.pk, "succeeded")]  # the one interface listeners use
    run.refresh_from_db()
    assert run.status == "succeeded" and not MarketRun.objects.filter(run=run).exists()
    assert run.decision == "" and run.settlement == {} and run.statistic is not None
    with pytest.raises(services.RunError, match="seeds"):
        services.run_enqueue(spec={**TINY_SPEC, "seeds": 100_000}, purpose="dry_run")


def test_runs_whose_messages_were_lost_are_resumed_by_the_stall_sweeper(
    eager_celery, django_capture_on_commit_callbacks
):
    queued_market, _ = tiny_market()
    running_market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=False):  # the start message is lost
        market_close(market=queued_market)
        market_close(market=running_market)
    running = ExperimentRun.objects.get(market_link__market=running_market)
    with django_capture_on_commit_callbacks(execute=False):  # started, but the chunk messages are lost
        services.run_start(run_id=running.pk)
    services.run_train_chunk(run_id=running.pk, seeds=[0, 1])  # one chunk made it
    assert services.runs_resume_stalled(stalled_for=3600) == []  # recent progress: left alone
    with django_capture_on_commit_callbacks(execute=True):
        resumed = services.runs_resume_stalled(stalled_for=0)
    assert sorted(resumed) == sorted(ExperimentRun.objects.values_list("pk", flat=True))
    for market in (queued_market, running_market):
        market.refresh_from_db()
        assert market.status == MarketStatus.RESOLVED
    assert services.runs_resume_stalled(stalled_for=0) == []  # finished runs are never touched
