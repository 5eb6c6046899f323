"""Template tags that put the social app on other apps' pages without those apps importing it:
``{% comment_thread market=m %}``, ``{% follow_button market %}``, ``{% unread_notifications as n %}``."""
from __future__ import annotations

from django import template

from social import selectors
from social.services import EDIT_WINDOW

register = template.Library()


@register.inclusion_tag("social/_thread.html", takes_context=True)
def comment_thread(context, *, market=None, proposal=None, next_url: str = "") -> dict:  # noqa: ANN001
    user = context["request"].user
    threads = selectors.comment_threads(
        market_id=market.pk if market is not None else None,
        proposal_id=proposal.pk if proposal is not None and market is None else None,
    )
    return {
        "threads": threads, "market": market, "proposal": proposal, "user": user,
        "csrf_token": context.get("csrf_token"), "next_url": next_url,
        "edit_minutes": int(EDIT_WINDOW.total_seconds() // 60), "request": context["request"],
    }


@register.simple_tag(takes_context=True)
def can_edit(context, comment) -> bool:  # noqa: ANN001
    from django.utils import timezone

    user = context["request"].user
    return (user.is_authenticated and comment.author_id == user.pk and not comment.is_deleted
            and not comment.is_hidden and timezone.now() - comment.created_at <= EDIT_WINDOW)


@register.inclusion_tag("social/_follow.html", takes_context=True)
def follow_button(context, market) -> dict:  # noqa: ANN001
    user = context["request"].user
    return {"market": market, "user": user, "csrf_token": context.get("csrf_token"),
            "following": selectors.is_following(user=user, market_id=market.pk)}


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    return selectors.unread_count(user=request.user) if request is not None else 0
