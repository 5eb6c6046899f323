"""Survey campaigns: create one from a design, run its units idempotently, report its progress.

A campaign's work is ``rows × units`` (experiments/survey/row.py: ``base`` settles A, C, E, G; B, D,
F and H one each). :func:`survey_unit_run` is the one function that does a unit's work — the Celery
task ``experiments.survey_unit`` calls it, and so does ``manage.py survey run --inline``. It guards on
the cells' status (a unit whose cells are all done is skipped), trains outside any transaction, and
writes its cells in one transaction by upsert, so a redelivered task or a restarted campaign never
duplicates or loses a finished cell. A crash mid-unit leaves the cells RUNNING or FAILED; the next
``survey run`` picks them up again.
"""
from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Q, Sum

from experiments.concepts import LETTERS
from experiments.params import SpecError
from experiments.survey.models import SurveyCampaign, SurveyCell, SurveyRow
from experiments.survey.row import UNIT_OF, UNITS

logger = logging.getLogger(__name__)
NOT_RUNNABLE = "not runnable"  # prefix of a cell's error when the registry refuses its spec (never retried)


def _announce(campaign_id: int, row_index: int, outcome: str) -> None:
    """Send ``survey_unit_finished`` (listeners must not break the unit: their errors are logged)."""
    from experiments.signals import survey_unit_finished

    for _receiver, result in survey_unit_finished.send_robust(sender=SurveyCampaign, campaign_id=campaign_id,
                                                              row_index=row_index, outcome=outcome):
        if isinstance(result, Exception):
            logger.error("survey_unit_finished listener failed for campaign %s row %s: %r", campaign_id,
                         row_index, result)


def survey_campaign_create(*, design: Mapping[str, Any], source: str = SurveyCampaign.Source.RUN,
                           provenance: Mapping[str, Any] | None = None) -> SurveyCampaign:
    """The campaign of ``design`` (created with its rows and pending cells on first call; idempotent)."""
    from experiments.survey.design import design_sha256

    sha = design_sha256(design)
    if design.get("sha256") not in (None, sha):
        raise SpecError("design", "sha256 does not match the design's content")
    with transaction.atomic():
        campaign, created = SurveyCampaign.objects.get_or_create(
            design_sha256=sha, defaults={"name": design.get("name") or f"survey-{sha[:8]}", "design": dict(design),
                                         "preset": design.get("preset", "survey"), "source": source,
                                         "provenance": dict(provenance or {})})
        if created:
            rows = SurveyRow.objects.bulk_create([
                SurveyRow(campaign=campaign, index=int(r["row"]), task=r["task"], arch=r["arch"],
                          params=r["params"]) for r in design["rows"]])
            SurveyCell.objects.bulk_create([SurveyCell(row=row, concept=c) for row in rows for c in LETTERS])
    return campaign


def survey_units_pending(*, campaign: SurveyCampaign, concepts: str = "".join(LETTERS),
                         retry_failed: bool = True) -> list[tuple[int, str]]:
    """(row index, unit) pairs with at least one cell of ``concepts`` not done, in row order."""
    states = [SurveyCell.Status.PENDING, SurveyCell.Status.RUNNING]
    if retry_failed:
        states.append(SurveyCell.Status.FAILED)
    cells = (SurveyCell.objects.filter(row__campaign=campaign, status__in=states, concept__in=list(concepts))
             .values_list("row__index", "concept").order_by("row__index", "concept"))
    seen: dict[tuple[int, str], None] = {}
    for index, concept in cells:
        seen[(index, UNIT_OF[concept])] = None
    return list(seen)


def _provenance(device: str) -> dict[str, str]:
    from experiments.provenance import provenance_base
    from experiments.trainer import resolve_device

    return provenance_base(resolve_device(device))


def survey_unit_run(*, campaign_id: int, row_index: int, unit: str, device: str = "auto",
                    progress: Callable[[float, str], None] | None = None) -> str:
    """Run one unit of one row and store its cells. Returns "done", "reused", "skipped" or "failed".

    "reused": another campaign already finished these exact specs with this code on this device
    (see :func:`_reuse_finished`), so its cells are copied instead of recomputed.

    A unit that raises is recorded on its cells (status FAILED, the traceback in ``error``) and the
    exception propagates, so a Celery task can retry it; a spec the registry refuses (a concept that
    does not run on the task) is recorded and not raised, since retrying cannot help.
    """
    from experiments.survey.row import run_unit

    if unit not in UNITS:
        raise ValueError(f"unknown survey unit {unit!r}; units: {', '.join(UNITS)}")
    letters = UNITS[unit]
    with transaction.atomic():
        row = SurveyRow.objects.select_related("campaign").get(campaign_id=campaign_id, index=row_index)
        cells = SurveyCell.objects.select_for_update().filter(row=row, concept__in=letters)
        if cells.exclude(status=SurveyCell.Status.DONE).count() == 0:
            return "skipped"
        attempts = {c.concept: c.attempts for c in cells}
        cells.update(status=SurveyCell.Status.RUNNING, error="")
    prov = _provenance(device)
    if _reuse_finished(row=row, letters=letters, prov=prov, attempts=attempts):
        _announce(campaign_id, row_index, "reused")
        return "reused"
    start = time.perf_counter()
    try:
        out = run_unit(unit, row.task, row.arch, row.params, preset=row.campaign.preset, device=device,
                       progress=progress)
    except SpecError as exc:
        SurveyCell.objects.filter(row=row, concept__in=letters).update(
            status=SurveyCell.Status.FAILED, error=f"{NOT_RUNNABLE}: {exc}")
        logger.warning("survey %s row %s unit %s: %s", row.campaign.name, row_index, unit, exc)
        _announce(campaign_id, row_index, "failed")
        return "failed"
    except Exception:
        for letter in letters:
            SurveyCell.objects.filter(row=row, concept=letter).update(
                status=SurveyCell.Status.FAILED, error=traceback.format_exc()[-4000:],
                attempts=attempts.get(letter, 0) + 1)
        raise
    logger.info("survey %s row %s unit %s: %.1f s", row.campaign.name, row_index, unit, time.perf_counter() - start)
    with transaction.atomic():
        for letter, cell in out["cells"].items():
            SurveyCell.objects.update_or_create(row=row, concept=letter, defaults={
                "status": SurveyCell.Status.DONE, "statistic": cell["statistic"], "ci_low": cell["ci_low"],
                "ci_high": cell["ci_high"], "details": cell["details"], "spec": cell["spec"],
                "spec_sha256": cell["spec_sha256"], "seeds": cell["seeds"], "wall_seconds": cell["wall_seconds"],
                "device": prov["device"], "torch_version": prov["torch_version"],
                "code_version": prov["code_version"], "attempts": attempts.get(letter, 0) + 1, "error": ""})
        if out.get("covariates"):
            SurveyRow.objects.filter(pk=row.pk).update(covariates=out["covariates"])
    _announce(campaign_id, row_index, "done")
    return "done"


def _reuse_finished(*, row: SurveyRow, letters: tuple[str, ...], prov: Mapping[str, str],
                    attempts: Mapping[str, int]) -> bool:
    """Copy the unit's cells from another campaign that finished the very same specs (same spec hash,
    hence seeds, on the same device and torch version). True if copied.

    A copied cell keeps the code version that computed it, so the provenance stays true; `survey
    verify` re-runs rows with today's code and shows whether they still come out bit-identical."""
    from experiments.registry import spec_sha256
    from experiments.survey.row import concept_spec

    found = {}
    for letter in letters:
        spec = concept_spec(letter, row.task, row.arch, row.params, preset=row.campaign.preset)
        match = (SurveyCell.objects.filter(spec_sha256=spec_sha256(spec), concept=letter, status=SurveyCell.Status.DONE,
                                           device=prov["device"], torch_version=prov["torch_version"])
                 .exclude(row__campaign=row.campaign).select_related("row").first())
        if match is None:
            return False
        found[letter] = match
    with transaction.atomic():
        for letter, src in found.items():
            SurveyCell.objects.update_or_create(row=row, concept=letter, defaults={
                "status": SurveyCell.Status.DONE, "statistic": src.statistic, "ci_low": src.ci_low,
                "ci_high": src.ci_high, "details": src.details, "spec": src.spec, "spec_sha256": src.spec_sha256,
                "seeds": src.seeds, "wall_seconds": src.wall_seconds, "device": src.device,
                "torch_version": src.torch_version, "code_version": src.code_version,
                "attempts": attempts.get(letter, 0) + 1, "error": f"reused from {src.row.campaign.name} row {src.row.index}"})
        if "A" in found and found["A"].row.covariates:
            SurveyRow.objects.filter(pk=row.pk).update(covariates=found["A"].row.covariates)
    return True


def survey_campaign_progress(*, campaign: SurveyCampaign) -> dict[str, Any]:
    """Rows planned and complete, cells by status, mean seconds per done cell and an ETA estimate."""
    cells = SurveyCell.objects.filter(row__campaign=campaign)
    by_status = dict(cells.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    total = sum(by_status.values())
    done = by_status.get(SurveyCell.Status.DONE, 0)
    failed = by_status.get(SurveyCell.Status.FAILED, 0)
    rows_planned = campaign.rows.count()
    rows_done = (campaign.rows.annotate(n_done=Count("cells", filter=Q(cells__status=SurveyCell.Status.DONE)))
                 .filter(n_done=len(LETTERS)).count())
    spent = cells.filter(status=SurveyCell.Status.DONE).aggregate(s=Sum("wall_seconds"), a=Avg("wall_seconds"))
    remaining = total - done - failed
    per_cell = spent["a"] or 0.0
    return {
        "campaign": campaign.name, "design_sha256": campaign.design_sha256, "preset": campaign.preset,
        "source": campaign.source, "rows_planned": rows_planned, "rows_done": rows_done, "cells_total": total,
        "cells_done": done, "cells_failed": failed,
        "cells_running": by_status.get(SurveyCell.Status.RUNNING, 0), "cells_pending": remaining,
        "compute_seconds": round(spent["s"] or 0.0, 1),
        "eta_seconds": round(per_cell * remaining, 1) if done else None,
        "eta_minutes": round(per_cell * remaining / 60) if done else None,
        "complete": remaining == 0,
    }


def survey_final_attempts() -> int:
    """Attempts after which a FAILED cell is final (the Celery task's retries are spent)."""
    from django.conf import settings

    return int(settings.PATHMARKET.get("TASK_MAX_RETRIES", 3)) + 1


def _stage_cells(campaign: SurveyCampaign, rows: int):
    return SurveyCell.objects.filter(row__campaign=campaign, row__index__lt=rows)


def survey_stage_finished(*, campaign: SurveyCampaign, rows: int) -> bool:
    """True when every cell of the first ``rows`` rows is done or failed for good (not runnable, or its
    retries spent); a FAILED cell that Celery will still retry keeps the stage open."""
    open_cells = _stage_cells(campaign, rows).exclude(status=SurveyCell.Status.DONE).exclude(
        Q(status=SurveyCell.Status.FAILED)
        & (Q(error__startswith=NOT_RUNNABLE) | Q(attempts__gte=survey_final_attempts())))
    return not open_cells.exists()


def survey_stage_units(*, campaign: SurveyCampaign, rows: int) -> list[tuple[int, str]]:
    """(row index, unit) pairs among the first ``rows`` rows with a cell still to compute, in row order."""
    cells = (_stage_cells(campaign, rows).exclude(status=SurveyCell.Status.DONE)
             .exclude(status=SurveyCell.Status.FAILED, error__startswith=NOT_RUNNABLE)
             .values_list("row__index", "concept").order_by("row__index", "concept"))
    return list(dict.fromkeys((index, UNIT_OF[concept]) for index, concept in cells))


def survey_units_enqueue(*, campaign_id: int, units: list[tuple[int, str]]) -> int:
    """Send ``experiments.survey_unit`` for each (row, unit) on commit (queue ``gpu``); returns the count.

    Sent by name, so this module does not import the tasks module; a unit that is already done is
    skipped by the task itself, so sending one twice is harmless.
    """
    from celery import signature

    def send() -> None:
        for index, unit in units:
            signature("experiments.survey_unit", args=(campaign_id, index, unit)).delay()

    transaction.on_commit(send)
    return len(units)


def survey_stage_progress(*, campaign: SurveyCampaign, rows: int) -> dict[str, Any]:
    """Progress of the first ``rows`` rows: rows complete, cells by status, compute spent and time left.

    Time left is the mean wall time of the stage's done cells times the cells still to compute, divided
    by the number of units that ran in parallel lately (cells finished in the last 10 minutes that
    overlapped), so it shrinks when several workers share the stage.
    """
    cells = _stage_cells(campaign, rows)
    by_status = dict(cells.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    total = sum(by_status.values())
    done = by_status.get(SurveyCell.Status.DONE, 0)
    failed = by_status.get(SurveyCell.Status.FAILED, 0)
    rows_done = (campaign.rows.filter(index__lt=rows)
                 .annotate(n_done=Count("cells", filter=Q(cells__status=SurveyCell.Status.DONE)))
                 .filter(n_done=len(LETTERS)).count())
    spent = cells.filter(status=SurveyCell.Status.DONE).aggregate(s=Sum("wall_seconds"), a=Avg("wall_seconds"))
    remaining = total - done - failed
    eta = None
    if done and remaining:
        first = cells.filter(status=SurveyCell.Status.DONE).order_by("updated_at").values_list(
            "updated_at", flat=True).first()
        last = cells.filter(status=SurveyCell.Status.DONE).order_by("-updated_at").values_list(
            "updated_at", flat=True).first()
        elapsed = (last - first).total_seconds() if first and last else 0.0
        # wall-clock rate when there is a history, else the compute per cell
        rate = elapsed / max(done - 1, 1) if done >= 4 and elapsed > 0 else (spent["a"] or 0.0)
        eta = round(rate * remaining, 1)
    return {"rows_planned": rows, "rows_done": rows_done, "cells_total": total, "cells_done": done,
            "cells_failed": failed, "cells_running": by_status.get(SurveyCell.Status.RUNNING, 0),
            "cells_pending": remaining, "compute_seconds": round(spent["s"] or 0.0, 1), "eta_seconds": eta,
            "complete": remaining == 0}
