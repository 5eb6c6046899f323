"""What the market app announces.

``market_settled`` is sent with ``market_id=<int>`` inside the transaction that resolves, re-resolves
or annuls a market, after the payouts are written. Listeners must not write in that transaction
anything that could fail: the evaluator's listener only schedules the score recomputation for after
the commit (``evaluator.receivers``), so a scoring bug can never undo a payout.

``market_event`` and ``proposal_reviewed`` are sent once the transaction that made the change has
committed (``transaction.on_commit``), so a receiver (notifications: ``social.receivers``) never sees a
change that was rolled back and may enqueue Celery tasks directly:

- ``market_event``: ``market_id`` and ``event`` — one of ``"closed"``, ``"resolved"``, ``"reresolved"``,
  ``"annulled"``;
- ``proposal_reviewed``: ``proposal_id`` and ``status`` — ``"approved"`` or ``"rejected"``.

Receivers must be idempotent: a service that is retried can announce the same event twice.
"""
from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

market_settled = Signal()  # kwargs: market_id (int)
market_event = Signal()  # kwargs: market_id (int), event (str), after commit
proposal_reviewed = Signal()  # kwargs: proposal_id (int), status (str), after commit

MARKET_EVENTS = ("closed", "resolved", "reresolved", "annulled")


def market_event_on_commit(*, market_id: int, event: str) -> None:
    """Send ``market_event`` after the current transaction commits (at once outside one)."""
    assert event in MARKET_EVENTS, event
    transaction.on_commit(lambda: market_event.send(sender="market", market_id=market_id, event=event))


def proposal_reviewed_on_commit(*, proposal_id: int, status: str) -> None:
    """Send ``proposal_reviewed`` after the current transaction commits."""
    transaction.on_commit(
        lambda: proposal_reviewed.send(sender="market", proposal_id=proposal_id, status=status)
    )
