"""The evaluator listens to the market: every settlement schedules a score recomputation after commit.

Connected in ``EvaluatorConfig.ready``. The recomputation never runs inside the transaction that
moved the money: it is a Celery task sent by ``transaction.on_commit``, so a scoring failure cannot
roll back payouts, and the task (idempotent) can simply be run again.
"""
from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from evaluator.tasks import market_scores_recompute_task
from market.signals import market_settled


@receiver(market_settled, dispatch_uid="evaluator.scores_recompute_on_commit")
def scores_recompute_on_commit(sender, *, market_id: int, **kwargs) -> None:
    transaction.on_commit(lambda: market_scores_recompute_task.delay(market_id))
