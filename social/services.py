"""Writes of the social app: comments, follows, notification preferences and delivery."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from market.models import Forecast, Market, MarketStatus, Position
from market.sanitize import markdown_problem
from proposals.models import Proposal
from social import selectors
from social.exceptions import CommentForbidden, CommentInvalid, CommentThrottled
from social.models import (
    BODY_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
    Comment,
    Follow,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from social.throttling import comment_throttle_wait

EDIT_WINDOW = timedelta(minutes=15)  # an author may edit a comment this long after posting it


def _body_clean(body: object) -> str:
    if not isinstance(body, str):
        raise CommentInvalid("body must be text (Markdown).")
    body = body.replace("\x00", "").strip()
    if not body:
        raise CommentInvalid("write something: the comment is empty.")
    if len(body) > BODY_MAX_LENGTH:
        raise CommentInvalid(
            f"a comment may be at most {BODY_MAX_LENGTH} characters; this one has {len(body)}."
        )
    problem = markdown_problem(body)
    if problem:
        raise CommentInvalid(problem)
    return body


def _latest_forecast(user: AbstractBaseUser, market_id: int) -> float | None:
    return (
        Forecast.objects.filter(user=user, market_id=market_id)
        .order_by("-created_at", "-pk")
        .values_list("probability_after", flat=True)
        .first()
    )


def comment_create(
    *,
    author: AbstractBaseUser,
    body: object,
    market: Market | None = None,
    proposal: Proposal | None = None,
    parent_id: int | None = None,
) -> Comment:
    """Post a comment (or a reply to a top-level comment) on a market or a proposal the author may see.

    Raises CommentInvalid (bad body or parent), CommentForbidden and CommentThrottled (the rate limit).
    """
    if not author.is_authenticated:
        raise CommentForbidden("log in to comment.")
    if (market is None) == (proposal is None):
        raise CommentInvalid("a comment belongs to exactly one market or proposal.", field="target")
    if proposal is not None and not selectors.proposal_visible(proposal=proposal, user=author):
        raise CommentForbidden("you cannot comment on this proposal.")
    body = _body_clean(body)
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id).first()
        same_target = parent is not None and (
            parent.market_id == (market.pk if market else None)
            and parent.proposal_id == (proposal.pk if proposal else None)
        )
        if not same_target:
            raise CommentInvalid("the comment you reply to is not in this discussion.", field="parent")
        if parent.parent_id is not None:
            raise CommentInvalid(
                "replies go one level deep: reply to the top comment instead.", field="parent"
            )
        if parent.is_deleted or parent.is_hidden:
            raise CommentInvalid("that comment was removed; it takes no replies.", field="parent")
    wait = comment_throttle_wait(user_id=author.pk)
    if wait is not None:
        raise CommentThrottled(f"You are commenting too fast. Try again in {wait} seconds.", wait=wait)
    with transaction.atomic():
        comment = Comment.objects.create(
            market=market,
            proposal_id=proposal.pk if proposal else None,
            author=author,
            parent=parent,
            body=body,
            forecast_probability=_latest_forecast(author, market.pk) if market else None,
        )
        if parent is not None and parent.author_id != author.pk:
            from social.tasks import notify_reply_task

            transaction.on_commit(lambda: notify_reply_task.delay(comment_id=comment.pk))
    return comment


def _own_live(comment: Comment, user: AbstractBaseUser, action: str) -> None:
    if not user.is_authenticated or comment.author_id != user.pk:
        raise CommentForbidden(f"only its author can {action} a comment.")
    if comment.is_deleted or comment.is_hidden:
        raise CommentForbidden(f"this comment was removed; it cannot be {action}ed.")


def comment_edit(*, comment: Comment, user: AbstractBaseUser, body: object) -> Comment:
    _own_live(comment, user, "edit")
    if timezone.now() - comment.created_at > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise CommentForbidden(
            f"comments can be edited for {minutes} minutes after posting; this one is older."
        )
    comment.body = _body_clean(body)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    return comment


def comment_delete(*, comment: Comment, user: AbstractBaseUser) -> Comment:
    """The author removes a comment: its text is erased; its replies stay, under "deleted"."""
    _own_live(comment, user, "delete")
    comment.body, comment.deleted_at = "", timezone.now()
    comment.save(update_fields=["body", "deleted_at"])
    return comment


def comment_hide(*, comment: Comment, user: AbstractBaseUser, reason: object) -> Comment:
    """Staff hide a comment with a reason everybody sees; the text stays for staff."""
    if not (user.is_authenticated and user.is_staff):
        raise CommentForbidden("only staff can hide a comment.")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise CommentInvalid("give a reason for hiding the comment.", field="reason")
    if len(reason) > HIDE_REASON_MAX_LENGTH:
        raise CommentInvalid(
            f"the reason may be at most {HIDE_REASON_MAX_LENGTH} characters.", field="reason"
        )
    comment.hidden_at, comment.hidden_reason, comment.hidden_by = timezone.now(), reason, user
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    return comment


def follow_set(*, user: AbstractBaseUser, market: Market, following: bool) -> bool:
    if following:
        Follow.objects.get_or_create(user=user, market=market)
    else:
        Follow.objects.filter(user=user, market=market).delete()
    return following


def preferences_set(*, user: AbstractBaseUser, choices: dict[str, tuple[bool, bool]]) -> None:
    """``{kind: (in_site, email)}`` for the kinds given; others keep their setting."""
    with transaction.atomic():
        for kind, (in_site, email) in choices.items():
            if kind not in NotificationKind.values:
                raise ValueError(f"unknown notification kind {kind!r}")
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"in_site": bool(in_site), "email": bool(email)}
            )


def notifications_mark_read(*, user: AbstractBaseUser, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


# --- delivery (called by social.tasks; every step is idempotent) ----------------------------------

_MARKET_EVENT_KIND = {
    "closed": NotificationKind.MARKET_CLOSED,
    "resolved": NotificationKind.MARKET_RESOLVED,
    "reresolved": NotificationKind.MARKET_RESOLVED,
    "annulled": NotificationKind.MARKET_ANNULLED,
}


def _market_event_text(market: Market, event: str) -> str:
    if event == "closed":
        return f"“{market.title}” closed; its experiment runs next."
    if event == "annulled":
        return f"“{market.title}” was annulled; net costs were refunded."
    outcome = (market.outcome or "").upper()
    again = "re-resolved" if event == "reresolved" else "resolved"
    return f"“{market.title}” {again} {outcome}."


def _deliver(*, users: list[int], kind: str, key: str, text: str, url: str) -> list[int]:
    """Create each user's notification for one event unless it exists; returns the ids still to e-mail."""
    prefs = selectors.preferences_for(user_ids=users, kind=kind)
    rows = []
    for user_id in users:
        in_site, email = prefs.get(user_id, (True, True))
        if in_site or email:
            rows.append(
                Notification(
                    user_id=user_id,
                    kind=kind,
                    key=key,
                    text=text[:300],
                    url=url,
                    in_site=in_site,
                    email_wanted=email,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)  # (user, key) is unique: once per event
    return list(
        Notification.objects.filter(
            key=key, user_id__in=users, email_wanted=True, emailed_at__isnull=True
        ).values_list("pk", flat=True)
    )


def notifications_market_event(*, market_id: int, event: str) -> list[int]:
    """Notify holders and followers of a market that it closed, resolved, re-resolved or was annulled."""
    market = Market.objects.filter(pk=market_id).first()
    if market is None or event not in _MARKET_EVENT_KIND:
        return []
    expected = {
        "closed": None,
        "resolved": MarketStatus.RESOLVED,
        "reresolved": MarketStatus.RESOLVED,
        "annulled": MarketStatus.ANNULLED,
    }[event]
    if expected is not None and market.status != expected:
        return []  # a stale event (e.g. re-queued long after a later change): nothing true to say
    holders = (
        Position.objects.filter(market=market)
        .exclude(shares_yes=0, shares_no=0)
        .values_list("user_id", flat=True)
    )
    followers = Follow.objects.filter(market=market).values_list("user_id", flat=True)
    users = sorted(set(holders) | set(followers))
    key = f"market:{market.pk}:{event}"
    if event == "reresolved":  # each re-resolution is its own event
        key += f":{market.resolved_at:%Y%m%dT%H%M%S%f}"
    return _deliver(
        users=users,
        kind=_MARKET_EVENT_KIND[event],
        key=key,
        text=_market_event_text(market, event),
        url=f"/markets/{market.pk}/",
    )


def notifications_proposal_reviewed(*, proposal_id: int, status: str) -> list[int]:
    proposal = Proposal.objects.filter(pk=proposal_id).first()
    if proposal is None or proposal.status != status:
        return []
    if status == "approved":
        text = f"Your proposal “{proposal.title}” was approved: its market is open."
        url = f"/markets/{proposal.market_id}/" if proposal.market_id else f"/proposals/{proposal.pk}/"
    else:
        text = f"Your proposal “{proposal.title}” was rejected: {proposal.rejection_reason}"
        url = f"/proposals/{proposal.pk}/"
    return _deliver(
        users=[proposal.proposer_id],
        kind=NotificationKind.PROPOSAL_REVIEWED,
        key=f"proposal:{proposal.pk}:{status}",
        text=text,
        url=url,
    )


def notifications_reply(*, comment_id: int) -> list[int]:
    reply = Comment.objects.select_related("parent", "author").filter(pk=comment_id).first()
    if reply is None or reply.parent is None or reply.parent.author_id == reply.author_id or reply.is_deleted:
        return []
    where = f"/markets/{reply.market_id}/" if reply.market_id else f"/proposals/{reply.proposal_id}/"
    return _deliver(
        users=[reply.parent.author_id],
        kind=NotificationKind.REPLY,
        key=f"reply:{reply.pk}",
        text=f"{reply.author.get_username()} replied to your comment.",
        url=f"{where}#comment-{reply.pk}",
    )


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification unless it was already sent. The row lock makes a redelivered task wait
    and then find ``emailed_at`` set; a failed send rolls back, so the retry sends it."""
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update().select_related("user").filter(pk=notification_id).first()
        )
        if note is None or note.emailed_at is not None or not note.email_wanted or not note.user.email:
            return False
        base = settings.PATHMARKET.get("SITE_URL", "").rstrip("/")
        send_mail(
            subject=f"[pathmarket] {note.text[:120]}",
            message=(
                f"{note.text}\n\n{base}{note.url}\n\n"
                f"Change what you receive: {base}/me/notifications/settings/\n"
            ),
            from_email=None,
            recipient_list=[note.user.email],
        )
        note.emailed_at = timezone.now()
        note.save(update_fields=["emailed_at"])
    return True
