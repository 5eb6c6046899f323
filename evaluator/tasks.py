"""Celery tasks of the evaluator."""
from __future__ import annotations

from celery import shared_task

from evaluator.services import market_scores_recompute


@shared_task(
    name="evaluator.tasks.market_scores_recompute_task",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def market_scores_recompute_task(market_id: int) -> int:
    """Recompute the scores of one settled market (idempotent; sent on commit of the settlement)."""
    return market_scores_recompute(market_id=market_id)
