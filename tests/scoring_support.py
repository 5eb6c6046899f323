"""Settling a market schedules its score recomputation for after the commit (``evaluator.receivers``).
Tests run inside a transaction that never commits; this helper runs those callbacks — the Celery task
among them, eagerly and in-process — when the block ends, as a commit would."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scores_recomputed_on_commit() -> Iterator[list]:
    from django.test import TestCase

    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            yield callbacks
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = old
