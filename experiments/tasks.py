"""Celery tasks of a run: start → one ``train_chunk_task`` per chunk of seeds (``gpu`` queue) joined
by a chord → ``finalize_run_task`` (``default`` queue).

Tasks take ids, call one service and return a small JSON value. They are ``acks_late`` and
idempotent (the services guard on the run's status and upsert seeds by ``(run, seed)``), retry
with exponential backoff and jitter, and record the error on the run once retries are spent.
Time limits come from ``CELERY_TASK_SOFT_TIME_LIMIT`` / ``CELERY_TASK_TIME_LIMIT``.

This module imports ``experiments.services``; the services send these tasks by their names, so the
import goes one way. The names are a contract (messages already queued carry them): never rename one
without keeping the old name registered as an alias.
"""
from __future__ import annotations

import logging
import traceback as tb_module

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from experiments import services

logger = logging.getLogger(__name__)


class RetryingTask(Task):
    """acks_late, retried with exponential backoff + jitter (limits from settings); for idempotent tasks."""

    acks_late = True
    autoretry_for = (Exception,)
    # A time limit would be hit again, a missing row will not appear, a bad spec stays bad.
    dont_autoretry_for = (SoftTimeLimitExceeded, ObjectDoesNotExist, ValueError)
    max_retries = int(settings.PATHMARKET.get("TASK_MAX_RETRIES", 3))
    retry_backoff = int(settings.PATHMARKET.get("TASK_RETRY_BACKOFF", 5))
    retry_backoff_max = 600
    retry_jitter = True


class RunTask(RetryingTask):
    """Base of the run tasks: retries with backoff + jitter; a final failure fails the run."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run_id = args[0] if args else kwargs.get("run_id")
        if run_id is None:
            return
        try:
            services.run_mark_failed(run_id=int(run_id), error=f"{self.name} failed: {exc!r}\n\n{einfo}")
        except ObjectDoesNotExist:
            logger.warning("run %s vanished before its failure could be recorded", run_id)


@shared_task(base=RunTask, name="experiments.tasks.start_run_task")
def start_run_task(run_id: int) -> int:
    return len(services.run_start(run_id=run_id))


@shared_task(base=RunTask, name="experiments.tasks.train_chunk_task")
def train_chunk_task(run_id: int, seeds: list[int]) -> int:
    return len(services.run_train_chunk(run_id=run_id, seeds=seeds))


@shared_task(base=RunTask, name="experiments.tasks.finalize_run_task")
def finalize_run_task(run_id: int) -> str:
    return services.run_finalize(run_id=run_id).action


@shared_task(name="experiments.tasks.run_failed_errback_task")
def run_failed_errback_task(request, exc, traceback, run_id: int) -> None:
    """Errback of a run's chord: a chunk or the finalizer failed (also a hard time limit, which kills
    the process before ``on_failure`` can run). Celery calls it inline as ``(request, exc, tb)``."""
    text = "".join(tb_module.format_exception(exc)) if isinstance(exc, BaseException) else repr(exc)
    task = getattr(request, "task", None) or "a task of the run"
    services.run_mark_failed(run_id=int(run_id), error=f"{task} failed: {text}")


@shared_task(name="experiments.tasks.resume_stalled_runs_task")
def resume_stalled_runs_task() -> list[int]:
    """Beat task: re-send the work of runs that stopped making progress (lost messages)."""
    return services.runs_resume_stalled()


@worker_process_init.connect
def _one_thread_per_worker_process(**_kwargs) -> None:
    """Two single-thread processes beat one two-thread process on a small CPU (docs/experiments.md)."""
    threads = int(settings.PATHMARKET.get("TORCH_THREADS", 1))
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


class SurveyUnitTask(RetryingTask):
    """Retries like the run tasks; when the last retry fails, the unit's cells are FAILED for good, so
    ``survey_unit_finished`` tells the listeners (a factor market's stage may now be complete)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from experiments.survey.services import _announce

        campaign_id = args[0] if args else kwargs.get("campaign_id")
        row_index = args[1] if len(args) > 1 else kwargs.get("row_index")
        if campaign_id is not None and row_index is not None:
            _announce(int(campaign_id), int(row_index), "failed")


# The survey service records a unit's errors on its cells itself, so plain retries are all it needs.
@shared_task(base=SurveyUnitTask, name="experiments.survey_unit")
def survey_unit_task(campaign_id: int, row_index: int, unit: str) -> str:
    """One unit (base, B, D, F or H) of one survey row; idempotent (experiments/survey/services.py)."""
    from experiments.survey.services import survey_unit_run

    return survey_unit_run(campaign_id=campaign_id, row_index=row_index, unit=unit)
