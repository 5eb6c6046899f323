"""The evaluator listens to the market: every settlement schedules a score recomputation after commit;
settlements and finished survey units also warm the /factor/ summary (debounced).

Connected in ``EvaluatorConfig.ready``. The recomputation never runs inside the transaction that
moved the money: it is a Celery task sent by ``transaction.on_commit``, so a scoring failure cannot
roll back payouts, and the task (idempotent) can simply be run again.
"""
from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from evaluator.tasks import factor_summary_warm_task, market_scores_recompute_task
from experiments.signals import survey_unit_finished
from market.signals import market_settled

WARM_DELAY_SECONDS = 30  # survey units finish in bursts: one recomputation per burst


@receiver(market_settled, dispatch_uid="evaluator.scores_recompute_on_commit")
def scores_recompute_on_commit(sender, *, market_id: int, **kwargs) -> None:
    def after_commit() -> None:
        market_scores_recompute_task.delay(market_id)
        factor_summary_warm_soon()  # a resolved run may have added a cell to the factor matrix

    transaction.on_commit(after_commit)


@receiver(survey_unit_finished, dispatch_uid="evaluator.factor_summary_warm")
def factor_summary_warm_on_unit(sender, **kwargs) -> None:
    factor_summary_warm_soon()


def factor_summary_warm_soon() -> bool:
    """Send one warm-up of /factor/'s summary ``WARM_DELAY_SECONDS`` from now, unless one is pending
    (a cache key guards it), so that a campaign's hundreds of units cause one recomputation per burst."""
    if not cache.add("evaluator:factor:warm-pending", 1, timeout=WARM_DELAY_SECONDS):
        return False
    factor_summary_warm_task.apply_async(countdown=WARM_DELAY_SECONDS)
    return True
