"""Notification delivery. Every task is idempotent: a redelivered task finds its notifications already
created (unique per user and event) and its e-mails already marked sent, and does nothing twice."""

from __future__ import annotations

from celery import shared_task

_RETRY = {"autoretry_for": (Exception,), "retry_backoff": 5, "retry_jitter": True, "max_retries": 5}


def _email_each(ids: list[int]) -> None:
    for pk in ids:
        notification_email_task.delay(notification_id=pk)


@shared_task(name="social.tasks.notify_market_event_task", **_RETRY)
def notify_market_event_task(*, market_id: int, event: str) -> int:
    from social.services import notifications_market_event

    ids = notifications_market_event(market_id=market_id, event=event)
    _email_each(ids)
    return len(ids)


@shared_task(name="social.tasks.notify_proposal_reviewed_task", **_RETRY)
def notify_proposal_reviewed_task(*, proposal_id: int, status: str) -> int:
    from social.services import notifications_proposal_reviewed

    ids = notifications_proposal_reviewed(proposal_id=proposal_id, status=status)
    _email_each(ids)
    return len(ids)


@shared_task(name="social.tasks.notify_reply_task", **_RETRY)
def notify_reply_task(*, comment_id: int) -> int:
    from social.services import notifications_reply

    ids = notifications_reply(comment_id=comment_id)
    _email_each(ids)
    return len(ids)


@shared_task(name="social.tasks.notification_email_task", **_RETRY)
def notification_email_task(*, notification_id: int) -> bool:
    from social.services import notification_email_send

    return notification_email_send(notification_id=notification_id)
