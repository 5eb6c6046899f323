"""Pages and form actions of the social app: comment post/edit/delete/hide, follow, notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from market.models import Market
from proposals.models import Proposal
from social import selectors, services
from social.exceptions import CommentThrottled, SocialError
from social.models import Comment, NotificationKind


def _thread_url(comment_or_target) -> str:  # noqa: ANN001
    market_id = getattr(comment_or_target, "market_id", None)
    if market_id:
        return f"/markets/{market_id}/#comments"
    return f"/proposals/{comment_or_target.proposal_id}/#comments"


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or default
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else default


def _target(request: HttpRequest) -> tuple[Market | None, Proposal | None]:
    market_id, proposal_id = request.POST.get("market"), request.POST.get("proposal")
    if market_id and market_id.isdigit():
        return get_object_or_404(Market, pk=int(market_id)), None
    if proposal_id and proposal_id.isdigit():
        proposal = Proposal.objects.filter(pk=int(proposal_id)).first()
        if proposal is None or not selectors.proposal_visible(proposal=proposal, user=request.user):
            raise Http404("No such proposal.")
        return None, proposal
    raise Http404("No discussion named.")


@login_required
@require_POST
def comment_post(request: HttpRequest) -> HttpResponse:
    market, proposal = _target(request)
    parent = request.POST.get("parent")
    default = f"/markets/{market.pk}/#comments" if market else f"/proposals/{proposal.pk}/#comments"
    try:
        comment = services.comment_create(
            author=request.user,
            body=request.POST.get("body", ""),
            market=market,
            proposal=proposal,
            parent_id=int(parent) if parent and parent.isdigit() else None,
        )
    except CommentThrottled as exc:
        messages.error(request, exc.message)
        return redirect(_back(request, default))
    except SocialError as exc:
        messages.error(request, f"Comment not posted: {exc.message}")
        return redirect(_back(request, default))
    messages.success(request, "Comment posted.")
    return redirect(_back(request, default).split("#")[0] + f"#comment-{comment.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment, pk=pk)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("Only its author can edit a comment.")
    error = ""
    if request.method == "POST":
        try:
            services.comment_edit(comment=comment, user=request.user, body=request.POST.get("body", ""))
        except SocialError as exc:
            error = exc.message
        else:
            messages.success(request, "Comment updated.")
            return redirect(_thread_url(comment).split("#")[0] + f"#comment-{comment.pk}")
    return render(
        request,
        "social/comment_edit.html",
        {"comment": comment, "error": error, "back": _thread_url(comment)},
        status=400 if error else 200,
    )


@login_required
@require_POST
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment, pk=pk)
    try:
        services.comment_delete(comment=comment, user=request.user)
    except SocialError as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, "Comment deleted.")
    return redirect(_thread_url(comment))


@login_required
@require_POST
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can hide comments.")
    comment = get_object_or_404(Comment, pk=pk)
    try:
        services.comment_hide(comment=comment, user=request.user, reason=request.POST.get("reason", ""))
    except SocialError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Comment hidden.")
    return redirect(_thread_url(comment))


@login_required
@require_POST
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    market = get_object_or_404(Market, pk=pk)
    following = services.follow_set(
        user=request.user, market=market, following=request.POST.get("follow") == "1"
    )
    messages.success(
        request,
        "You follow this market: you hear when it closes, resolves or is annulled."
        if following
        else "You no longer follow this market.",
    )
    return redirect(f"/markets/{pk}/")


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications_mark_read(user=request.user)
        return redirect("/me/notifications/")
    return render(
        request,
        "social/notifications.html",
        {
            "notifications": selectors.notifications_for(user=request.user),
        },
    )


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points."""
    note = get_object_or_404(request.user.notifications, pk=pk)
    services.notifications_mark_read(user=request.user, ids=[note.pk])
    return redirect(note.url if note.url.startswith("/") and not note.url.startswith("//") else "/")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    error = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        try:
            if email:
                validate_email(email)
        except ValidationError:
            error = "Enter a valid e-mail address, or leave it empty for no e-mail."
        else:
            choices = {
                kind: (f"{kind}:site" in request.POST, f"{kind}:email" in request.POST)
                for kind in NotificationKind.values
            }
            services.preferences_set(user=request.user, choices=choices)
            if email != request.user.email:
                request.user.email = email
                request.user.save(update_fields=["email"])
            messages.success(request, "Notification settings saved.")
            return redirect("/me/notifications/settings/")
    return render(
        request,
        "social/settings.html",
        {
            "rows": selectors.preferences_table(user=request.user),
            "error": error,
            "email": request.POST.get("email", request.user.email) if error else request.user.email,
        },
        status=400 if error else 200,
    )
