"""Reads of the social app."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser

from proposals.models import Proposal
from social.models import Comment, Follow, Notification, NotificationKind, NotificationPreference


def proposal_visible(*, proposal: Proposal, user: AbstractBaseUser) -> bool:
    from proposals.services import proposal_visible_to

    return proposal_visible_to(proposal=proposal, user=user)


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def comment_threads(*, market_id: int | None = None, proposal_id: int | None = None) -> list[Thread]:
    """Top-level comments, oldest first, each with its replies (oldest first)."""
    qs = Comment.objects.select_related("author").order_by("created_at", "pk")
    qs = qs.filter(market_id=market_id) if market_id is not None else qs.filter(proposal_id=proposal_id)
    threads: dict[int, Thread] = {}
    replies: list[Comment] = []
    for comment in qs:
        if comment.parent_id is None:
            threads[comment.pk] = Thread(comment)
        else:
            replies.append(comment)
    for reply in replies:
        if reply.parent_id in threads:
            threads[reply.parent_id].replies.append(reply)
    return list(threads.values())


def comments_for_market(*, market_id: int):  # -> QuerySet[Comment]
    return Comment.objects.filter(market_id=market_id).select_related("author").order_by("created_at", "pk")


def is_following(*, user: AbstractBaseUser, market_id: int) -> bool:
    return user.is_authenticated and Follow.objects.filter(user=user, market_id=market_id).exists()


def unread_count(*, user: AbstractBaseUser) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, in_site=True, read_at__isnull=True).count()


def notifications_for(*, user: AbstractBaseUser, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user, in_site=True).order_by("-created_at", "-pk")[:limit])


def preferences_for(*, user_ids: list[int], kind: str) -> dict[int, tuple[bool, bool]]:
    """user id → (in_site, email) for users with a saved choice for ``kind`` (others: both on)."""
    rows = NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind)
    return {r.user_id: (r.in_site, r.email) for r in rows}


def preferences_table(*, user: AbstractBaseUser) -> list[dict]:
    saved = {r.kind: r for r in NotificationPreference.objects.filter(user=user)}
    return [
        {
            "kind": kind,
            "label": label,
            "in_site": saved[kind].in_site if kind in saved else True,
            "email": saved[kind].email if kind in saved else True,
        }
        for kind, label in NotificationKind.choices
    ]
