"""The market's events (market.signals, sent after commit) become notification tasks."""

from __future__ import annotations

from django.dispatch import receiver

from market.signals import market_event, proposal_reviewed


@receiver(market_event, dispatch_uid="social.market_event")
def on_market_event(sender, *, market_id: int, event: str, **kwargs) -> None:  # noqa: ANN001
    from social.tasks import notify_market_event_task

    notify_market_event_task.delay(market_id=market_id, event=event)


@receiver(proposal_reviewed, dispatch_uid="social.proposal_reviewed")
def on_proposal_reviewed(sender, *, proposal_id: int, status: str, **kwargs) -> None:  # noqa: ANN001
    from social.tasks import notify_proposal_reviewed_task

    notify_proposal_reviewed_task.delay(proposal_id=proposal_id, status=status)
