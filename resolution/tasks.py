"""Celery tasks of the resolution app: deciding factor markets from their survey campaigns.

Both take ids (or nothing), re-read the database and are idempotent (resolution/campaigns.py), so
Celery's at-least-once delivery is harmless. Sent by name (``resolution.tasks.*``).
"""
from __future__ import annotations

from celery import shared_task

from experiments.tasks import RetryingTask
from resolution import campaigns


@shared_task(base=RetryingTask, name="resolution.tasks.campaign_market_decide_task")
def campaign_market_decide_task(market_id: int) -> dict:
    """Decide a factor market whose campaign stage has finished (YES/NO, more rows, or annul)."""
    return campaigns.campaign_market_decide(market_id=market_id)


@shared_task(name="resolution.tasks.resume_stalled_campaigns_task")
def resume_stalled_campaigns_task() -> dict:
    """Beat: re-send the units of stalled campaign stages; decide finished stages whose task was lost."""
    return campaigns.campaigns_resume_stalled()
