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


@shared_task(name="evaluator.tasks.factor_summary_warm_task", acks_late=True)
def factor_summary_warm_task() -> str:
    """Recompute and cache the general-factor summary of /factor/ after its data changed (debounced by
    ``evaluator.receivers``), so the next visitor does not wait for the bootstrap. Returns the data
    version."""
    from evaluator.selectors import factor_summary

    return str(factor_summary()["data_version"])
