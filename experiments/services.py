"""Writes of the experiments app: enqueue, train, finalize, fail, re-queue and verify runs.

Every function takes ids, re-reads rows, guards on the run's status and is safe to call twice
(Celery delivers at least once). The Celery tasks in ``experiments.tasks`` are thin wrappers; this
module sends them by their registered names (``experiments.tasks.*``), so ``tasks`` imports
``services`` and not the other way round.

A run knows its spec, seeds and results, not who asked for it. Whoever cares about a run's status
listens to ``experiments.signals.run_status_changed``, sent inside the transaction that records the
change (RUNNING, SUCCEEDED, FAILED): a listener's writes commit with the run's or not at all
(docs/architecture.md, "How a run reaches a market").
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from celery import chord, signature
from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from experiments import run_artifacts
from experiments.decision import Criterion, decide
from experiments.models import ExperimentRun, RunSeed
from experiments.signals import run_status_changed

logger = logging.getLogger(__name__)
Status = ExperimentRun.Status
TRAIN_SHARE = 0.9  # progress reached when every seed is trained; the finalizer does the rest
PROGRESS_MIN_INTERVAL = 1.0  # seconds between progress writes of one chunk


class RunError(ValueError):
    """A run action does not apply (wrong status, bad spec …); the message says why."""


@dataclass(frozen=True)
class FinalizeOutcome:
    """What ``run_finalize`` did: ``finished``, ``extended`` (with the new seeds) or ``skipped``."""

    action: str
    new_seeds: tuple[int, ...] = ()


# ---------------------------------------------------------------------------------------------
# helpers


def _pm(key: str, default=None):
    return settings.PATHMARKET.get(key, default)


def _registry():
    from experiments import registry

    return registry


def _notify(run: ExperimentRun) -> None:
    """Tell the listeners of ``run_status_changed`` (inside the caller's transaction)."""
    run_status_changed.send(sender=ExperimentRun, run=run)


def _chunks(seeds: Sequence[int]) -> list[list[int]]:
    size = max(1, int(_pm("SEED_CHUNK_SIZE", 16)))
    return [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]


def _task(name: str, *args):
    """The signature of one of the run tasks of ``experiments.tasks``, by its registered name."""
    return signature(f"experiments.tasks.{name}", args=args)


def dispatch_training(run_id: int, chunks: list[list[int]]) -> None:
    """Send one training task per chunk, joined by a chord whose callback finalizes the run."""
    header = [_task("train_chunk_task", run_id, chunk) for chunk in chunks if chunk]
    callback = _task("finalize_run_task", run_id).set(immutable=True)
    callback = callback.on_error(_task("run_failed_errback_task", run_id))
    if not header:
        callback.delay()
        return
    chord(header)(callback)


def _dispatch_on_commit(run_id: int, seeds: Sequence[int]) -> None:
    chunks = _chunks(list(seeds))
    transaction.on_commit(lambda: dispatch_training(run_id, chunks))


def _start_on_commit(run_id: int) -> None:
    transaction.on_commit(lambda: _task("start_run_task", run_id).delay())


def pick_device():
    """The worker's training device from ``PATHMARKET["DEVICE"]`` (``auto`` takes CUDA when present)."""
    from experiments.trainer import resolve_device

    return resolve_device(str(_pm("DEVICE", "auto")))


def _criterion_of(run: ExperimentRun) -> Criterion | None:
    return Criterion.from_dict(run.criterion) if run.criterion else None


def _with_confidence(config, criterion: Criterion | None):
    """Make the protocol's bootstrap CI use the market's confidence level when the config has one."""
    if criterion is None or not dataclasses.is_dataclass(config):
        return config
    names = {f.name for f in dataclasses.fields(config)}
    if "confidence" in names and config.confidence != criterion.confidence:
        return dataclasses.replace(config, confidence=criterion.confidence)
    return config


def _set_progress(run_id: int, value: float, message: str | None = None) -> None:
    """Monotonic progress update of a run that is still running."""
    value = min(1.0, max(0.0, float(value)))  # the DB check constraint keeps it in [0, 1] too
    fields: dict = {"progress": Greatest(F("progress"), Value(value))}
    if message is not None:
        fields["message"] = message[:500]
    ExperimentRun.objects.filter(pk=run_id, status=Status.RUNNING).update(**fields, updated_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# enqueue / start


def run_enqueue(
    *,
    spec: dict,
    purpose: str = ExperimentRun.Purpose.RESOLUTION,
    criterion: dict | None = None,
    verifies: ExperimentRun | None = None,
    requested_by=None,
    keep_invalid: bool = False,
) -> ExperimentRun:
    """Create a QUEUED run of a validated spec and start it once the transaction commits.

    A spec that does not validate raises RunError, or with ``keep_invalid`` is recorded as a FAILED
    run (a market's frozen spec that the registry no longer accepts must still leave a run that staff
    can see, instead of failing the market's close).
    """
    registry = _registry()
    try:
        frozen = registry.validate_spec(spec)
    except ValueError as exc:
        if not keep_invalid:
            raise RunError(f"invalid spec: {exc}") from exc
        return _failed_run(spec=spec, purpose=purpose, criterion=criterion, error=f"invalid spec: {exc}")
    if criterion:
        Criterion.from_dict(criterion)  # refuse a malformed criterion now, not in the finalizer
    if purpose not in ExperimentRun.Purpose.values:
        raise RunError(f"purpose must be one of {', '.join(ExperimentRun.Purpose.values)}; got {purpose!r}")
    with transaction.atomic():
        _, _, seeds = registry.build(frozen)
        run = ExperimentRun.objects.create(
            purpose=purpose,
            verifies=verifies,
            requested_by=requested_by,
            spec=frozen,
            spec_sha256=registry.spec_sha256(frozen),
            criterion=dict(criterion or {}),
            seeds=[int(s) for s in seeds],
            seed_budget=int(frozen.get("seed_budget") or len(seeds)),
            message="queued: waiting for a worker",
        )
        _start_on_commit(run.pk)
    return run


def _failed_run(*, spec: dict, purpose: str, criterion: dict | None, error: str) -> ExperimentRun:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return ExperimentRun.objects.create(
        purpose=purpose,
        spec=spec,
        spec_sha256=hashlib.sha256(canonical.encode("ascii")).hexdigest(),
        criterion=dict(criterion or {}),
        status=Status.FAILED,
        error=error,
        message=f"failed: {error}"[:500],
        finished_at=timezone.now(),
    )


def run_start(*, run_id: int) -> list[int]:
    """Move a QUEUED run to RUNNING and dispatch training of its seeds that are not stored yet.

    Returns the seeds dispatched (empty when the run was not QUEUED: a duplicate delivery).
    """
    with transaction.atomic():
        run = ExperimentRun.objects.select_for_update().get(pk=run_id)
        if run.status != Status.QUEUED:
            return []
        done = set(RunSeed.objects.filter(run=run).values_list("seed", flat=True))
        todo = [s for s in run.seeds if s not in done]
        run.status = Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.progress = min(TRAIN_SHARE, TRAIN_SHARE * len(done) / max(1, len(run.seeds)))
        run.message = f"training {len(todo)} of {len(run.seeds)} seeds in {len(_chunks(todo))} chunk(s)"
        run.error = ""
        run.save(update_fields=["status", "started_at", "progress", "message", "error", "updated_at"])
        _notify(run)
        if todo:
            _dispatch_on_commit(run.pk, todo)
        else:  # every seed survived an earlier attempt: go straight to the finalizer
            transaction.on_commit(lambda: _task("finalize_run_task", run.pk).delay())
    return todo


# ---------------------------------------------------------------------------------------------
# training


def _progress_callback(run_id: int, n_seeds: int, total: int) -> Callable[[float, str], None]:
    """The ``progress(fraction, message)`` hook of ``train_seeds`` for one chunk, written to the run
    at most once a second (the run's progress counts the seeds of every chunk)."""
    state = {"last": 0.0}

    def report(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - state["last"] < PROGRESS_MIN_INTERVAL and fraction < 1.0:
            return
        state["last"] = now
        stored = RunSeed.objects.filter(run_id=run_id).count()
        trained = stored + min(1.0, max(0.0, float(fraction))) * n_seeds
        _set_progress(run_id, TRAIN_SHARE * min(trained, total) / max(1, total))

    return report


def run_train_chunk(*, run_id: int, seeds: Sequence[int]) -> list[int]:
    """Train the given seeds of a RUNNING run and upsert one RunSeed per seed.

    Seeds already stored (a re-delivered or retried task) are skipped. Returns the seeds trained.
    """
    run = ExperimentRun.objects.get(pk=run_id)
    if run.status != Status.RUNNING:
        return []
    stored = set(RunSeed.objects.filter(run=run, seed__in=list(seeds)).values_list("seed", flat=True))
    todo = [int(s) for s in seeds if int(s) not in stored]
    if not todo:
        return []
    from experiments.provenance import device_name

    protocol, config, _ = _registry().build(run.spec)
    resolved = pick_device()
    device = device_name(resolved)
    started = time.monotonic()
    outputs = protocol.train_seeds(
        config, todo, device=str(resolved), progress=_progress_callback(run.pk, len(todo), len(run.seeds))
    )
    per_seed_seconds = (time.monotonic() - started) / max(1, len(todo))
    host = socket.gethostname()
    by_seed = {int(out["seed"]): out for out in outputs}
    missing = [s for s in todo if s not in by_seed]
    if missing:
        raise RuntimeError(f"train_seeds returned no output for seeds {missing}")
    for seed in todo:
        output = by_seed[seed]
        behaviour = output.get("behaviour")
        RunSeed.objects.update_or_create(
            run=run,
            seed=seed,
            defaults={
                "behaviour": run_artifacts.finite_or_none(behaviour),
                "values": run_artifacts.jsonable(run_artifacts.scalar_values(output)),
                "outputs": run_artifacts.outputs_to_bytes(output),
                "device": device,
                "worker": host,
                "wall_seconds": per_seed_seconds,
            },
        )
    stored_now = RunSeed.objects.filter(run=run).count()
    _set_progress(
        run.pk,
        TRAIN_SHARE * stored_now / max(1, len(run.seeds)),
        f"trained {stored_now} of {len(run.seeds)} seeds",
    )
    return todo


# ---------------------------------------------------------------------------------------------
# finalize


def _load_outputs(run: ExperimentRun, seeds: Sequence[int]) -> list[dict]:
    rows = {row.seed: row for row in RunSeed.objects.filter(run=run, seed__in=list(seeds))}
    return [run_artifacts.outputs_from_bytes(rows[seed].outputs) for seed in seeds]


def _extension_seeds(run: ExperimentRun, target: int) -> list[int]:
    """The seeds a run with ``target`` seeds uses, beyond those it already has."""
    _, _, seeds = _registry().build({**run.spec, "seeds": int(target)})
    have = set(run.seeds)
    return [int(s) for s in seeds if int(s) not in have][: max(0, target - len(run.seeds))]


def _resolving_statistic(result, criterion: Criterion | None) -> tuple[str, float, float, float]:
    """(name, value, ci_low, ci_high) of the statistic the run resolves on: the criterion's when it names
    one of the protocol's alternates (docs/protocols.md, "Alternate statistics"), else the headline one
    (criteria on the headline, runs without a criterion, legacy names)."""
    alternates = getattr(result, "alternates", {}) or {}
    if criterion is not None and criterion.statistic in alternates:
        return (criterion.statistic, *result.resolving(criterion.statistic))
    headline = str(getattr(result, "statistic_name", "") or "")
    return headline, result.statistic, result.ci_low, result.ci_high


def run_finalize(*, run_id: int) -> FinalizeOutcome:
    """Summarize a run whose planned seeds are all trained, then finish it or add seeds.

    Steps: statistic and bootstrap CI (the protocol's ``summarize``), artifacts (result.json, CSVs,
    plots), the decision rule (``experiments.decision.decide``) for runs with a criterion, and —
    in the same transaction as the SUCCEEDED status — the ``run_status_changed`` signal. A run that is already
    finished, or whose planned seeds are not all stored (another round is in flight), is skipped.
    """
    run = ExperimentRun.objects.get(pk=run_id)
    if run.status != Status.RUNNING:
        return FinalizeOutcome("skipped")
    planned = [int(s) for s in run.seeds]
    stored = set(RunSeed.objects.filter(run=run).values_list("seed", flat=True))
    if not set(planned) <= stored:
        return FinalizeOutcome("skipped")
    _set_progress(run.pk, TRAIN_SHARE, f"summarizing {len(planned)} seeds")

    protocol, config, _ = _registry().build(run.spec)
    criterion = _criterion_of(run)
    config = _with_confidence(config, criterion)
    outputs = _load_outputs(run, planned)
    frame, result = protocol.summarize(config, outputs, bootstrap_seed=0)
    name, value, ci_low, ci_high = _resolving_statistic(result, criterion)
    decision = None
    if criterion is not None and run.purpose != ExperimentRun.Purpose.DRY_RUN:
        decision = decide(
            criterion=criterion,
            statistic=value,
            ci_low=ci_low,
            ci_high=ci_high,
            n_seeds=len(planned),
            seed_budget=run.seed_budget,
        )
    entry = {
        "round": run.round,
        "n_seeds": len(planned),
        "statistic_name": name,
        "statistic": run_artifacts.finite_or_none(value),
        "ci_low": run_artifacts.finite_or_none(ci_low),
        "ci_high": run_artifacts.finite_or_none(ci_high),
        "outcome": decision.outcome if decision else None,
        "reason": decision.reason if decision else "",
    }

    if decision is not None and decision.outcome == "more_seeds":
        new_seeds = _extension_seeds(run, decision.next_seed_count or len(planned))
        with transaction.atomic():
            locked = ExperimentRun.objects.select_for_update().get(pk=run.pk)
            if locked.status != Status.RUNNING or [int(s) for s in locked.seeds] != planned:
                return FinalizeOutcome("skipped")  # a duplicate finalizer got here first
            locked.seeds = planned + new_seeds
            locked.round += 1
            locked.history = [*locked.history, entry]
            locked.message = f"round {locked.round}: {decision.reason}"
            locked.progress = TRAIN_SHARE * len(planned) / len(locked.seeds)
            locked.save(update_fields=["seeds", "round", "history", "message", "progress", "updated_at"])
            _dispatch_on_commit(locked.pk, new_seeds)
        return FinalizeOutcome("extended", tuple(new_seeds))

    provenance = run_artifacts.build_provenance(run, device_rows=RunSeed.objects.filter(run=run))
    payload = run_artifacts.result_object(run, result, frame, provenance)
    artifacts = run_artifacts.write(run, payload=payload, frame=frame, outputs=outputs)
    artifacts.update(run_artifacts.write_plots(protocol, config, frame, result, outputs, run))
    with transaction.atomic():
        locked = ExperimentRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != Status.RUNNING or [int(s) for s in locked.seeds] != planned:
            return FinalizeOutcome("skipped")
        locked.status = Status.SUCCEEDED
        locked.progress = 1.0
        locked.finished_at = timezone.now()
        locked.statistic_name = name
        locked.statistic = run_artifacts.finite_or_none(value)
        locked.ci_low = run_artifacts.finite_or_none(ci_low)
        locked.ci_high = run_artifacts.finite_or_none(ci_high)
        locked.details = payload["details"]
        locked.decision = decision.outcome if decision else ""
        locked.decision_reason = decision.reason if decision else ""
        locked.history = [*locked.history, entry]
        locked.result = payload
        locked.provenance = payload["provenance"]
        locked.artifacts = artifacts
        locked.message = f"finished: {decision.outcome.upper()}" if decision else "finished"
        locked.save()
        _notify(locked)
    return FinalizeOutcome("finished")


# ---------------------------------------------------------------------------------------------
# failure, staff actions


def run_mark_failed(*, run_id: int, error: str) -> bool:
    """Record a failure after retries (listeners hear of it). False if the run had already finished."""
    with transaction.atomic():
        run = ExperimentRun.objects.select_for_update().get(pk=run_id)
        if run.is_terminal:
            return False
        run.status = Status.FAILED
        run.error = error[-20_000:]
        run.message = "failed: " + (error.strip().splitlines() or ["unknown error"])[-1][:480]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "message", "finished_at", "updated_at"])
        try:
            with transaction.atomic():  # savepoint: the failure is recorded even if a listener breaks
                _notify(run)
        except Exception:
            logger.exception("a run_status_changed listener failed on the failure of run %s", run.pk)
    return True


def run_requeue(*, run_id: int) -> ExperimentRun:
    """Staff: put a FAILED run back in the queue (or kick a stalled one); trained seeds are kept."""
    with transaction.atomic():
        run = ExperimentRun.objects.select_for_update().get(pk=run_id)
        if run.status == Status.SUCCEEDED:
            raise RunError("this run already succeeded; use re-run to verify for a fresh run")
        run.status = Status.QUEUED
        run.finished_at = None
        run.message = "re-queued by staff"
        run.save(update_fields=["status", "finished_at", "message", "updated_at"])
        _start_on_commit(run.pk)
    return run


def runs_resume_stalled(*, stalled_for: float | None = None) -> list[int]:
    """Re-send the work of QUEUED/RUNNING runs that made no progress for ``stalled_for`` seconds
    (``PATHMARKET["RUN_STALL_SECONDS"]``); returns their ids. The beat calls this every few minutes.

    A message can be lost where the broker cannot re-deliver it: the embedded ``filesystem://``
    broker has no acknowledgements, so a worker stopped mid-task drops its task. Duplicates are
    harmless (every task is idempotent), so the threshold only bounds wasted work.
    """
    seconds = float(stalled_for if stalled_for is not None else _pm("RUN_STALL_SECONDS", 7200))
    cutoff = timezone.now() - timedelta(seconds=seconds)
    resumed: list[int] = []
    for run_id in ExperimentRun.objects.filter(
        status__in=[Status.QUEUED, Status.RUNNING], updated_at__lt=cutoff
    ).values_list("pk", flat=True):
        with transaction.atomic():
            run = ExperimentRun.objects.select_for_update().get(pk=run_id)
            if run.is_terminal or run.updated_at >= cutoff:
                continue
            run.message = f"resumed after {seconds / 60:.0f} min without progress"
            run.save(update_fields=["message", "updated_at"])
            if run.status == Status.QUEUED:
                _start_on_commit(run.pk)
            else:
                done = set(RunSeed.objects.filter(run=run).values_list("seed", flat=True))
                _dispatch_on_commit(run.pk, [s for s in run.seeds if s not in done])
        resumed.append(run_id)
    return resumed


def run_verify(*, run_id: int, requested_by=None) -> ExperimentRun:
    """Staff: run the same spec again with fresh seeds (``seed_offset`` shifted past every seed the
    original may use), as a separate VERIFY run that never settles anything."""
    original = ExperimentRun.objects.get(pk=run_id)
    original = original.verifies or original  # verifying a verification verifies the original
    spec = dict(original.spec)
    shift = max(int(spec.get("seed_budget") or 0), len(original.seeds), int(spec.get("seeds") or 0))
    used_offsets = [int(r.spec.get("seed_offset") or 0) for r in [original, *original.verifications.all()]]
    spec["seed_offset"] = max(used_offsets) + shift
    return run_enqueue(
        spec=spec,
        purpose=ExperimentRun.Purpose.VERIFY,
        criterion=original.criterion,
        verifies=original,
        requested_by=requested_by,
    )
