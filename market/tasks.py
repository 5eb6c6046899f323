"""Celery tasks of the market app."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="market.tasks.close_due_markets_task")
def close_due_markets_task() -> list[int]:
    """Beat task (every minute): close the open markets whose close_time has passed."""
    from market.services import markets_close_due

    return markets_close_due()
