"""Reads of the experiments app (runs, their per-seed rows and the report's view of a decision)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from experiments.decision import Criterion
from experiments.models import ExperimentRun, RunSeed


def runs_list(*, runs: QuerySet | None = None, status: str | None = None, purpose: str | None = None) -> QuerySet:
    """Runs (of ``runs`` when given), newest first, optionally filtered."""
    qs = ExperimentRun.objects.all() if runs is None else runs
    if status:
        qs = qs.filter(status=status)
    if purpose:
        qs = qs.filter(purpose=purpose)
    return qs.prefetch_related("seed_rows")


def runs_visible(*, user, runs: QuerySet | None = None) -> QuerySet:
    """The runs a user may see: every resolution and verification run, and dry runs (of private
    proposals) only to whoever requested them and to staff."""
    runs = ExperimentRun.objects.all() if runs is None else runs
    if user is not None and user.is_authenticated and user.is_staff:
        return runs
    dry = Q(purpose=ExperimentRun.Purpose.DRY_RUN)
    if user is None or not user.is_authenticated:
        return runs.exclude(dry)
    return runs.exclude(dry & (Q(requested_by__isnull=True) | ~Q(requested_by=user.pk)))


def run_verifications(*, run: ExperimentRun) -> list[ExperimentRun]:
    """Verification runs of a run, oldest first."""
    return list(run.verifications.order_by("id"))


def run_per_seed(*, run: ExperimentRun) -> list[dict]:
    """Per-seed rows: from the finished result, else from the seeds trained so far."""
    if run.result.get("per_seed"):
        return list(run.result["per_seed"])
    rows: list[dict] = []
    seed_rows = run.seed_rows.all() if hasattr(run, "_prefetched_objects_cache") else RunSeed.objects.filter(run=run)
    for row in sorted(seed_rows, key=lambda r: r.seed):
        rows.append({"seed": row.seed, "behaviour": row.behaviour, **row.values})
    return rows


def per_seed_columns(rows: list[dict]) -> list[str]:
    """Column order of a per-seed table: seed, behaviour, then the other keys as they appear."""
    columns = ["seed", "behaviour"] if rows else []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns


def run_decision(*, run: ExperimentRun) -> dict:
    """The decision as the API and the report show it."""
    criterion = None
    if run.criterion:
        try:
            criterion = Criterion.from_dict(run.criterion)
        except ValueError:
            criterion = None
    return {
        "outcome": run.decision or None,
        "reason": run.decision_reason,
        "criterion": run.criterion or None,
        "criterion_text": criterion.describe() if criterion else "",
        "rounds": run.history,
        "settlement": run.settlement or None,
    }
