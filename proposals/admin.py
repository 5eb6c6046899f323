"""Admin for proposals: read-only rows, reviewed only through the services,
with the actions "Approve" and "Reject with a reason…" (an intermediate page asks for the reason)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.admin import ReadOnlyAdmin
from proposals.models import REASON_MAX_LENGTH, Proposal
from proposals.services import (
    ProposalForbidden,
    ProposalInvalid,
    ProposalStateError,
    proposal_approve,
    proposal_reject,
)

_REFUSALS = (ProposalForbidden, ProposalInvalid, ProposalStateError)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
                             help_text="Shown to the proposer.")


def _review(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, act, verb: str) -> None:
    done = 0
    for proposal in queryset:
        try:
            act(proposal)
            done += 1
        except _REFUSALS as exc:
            modeladmin.message_user(request, f"#{proposal.pk}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"{verb} {done} proposal(s).", messages.SUCCESS if done else messages.WARNING)


@admin.action(description="Approve (opens the market with the frozen spec)")
def approve_proposals(modeladmin, request, queryset):  # noqa: ANN001 - Django's action signature
    _review(modeladmin, request, queryset, lambda p: proposal_approve(proposal=p, reviewer=request.user), "Approved")


@admin.action(description="Reject with a reason…")
def reject_proposals(modeladmin, request, queryset):  # noqa: ANN001
    form = RejectForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        _review(modeladmin, request, queryset,
                lambda p: proposal_reject(proposal=p, reviewer=request.user, reason=reason), "Rejected")
        return None
    return TemplateResponse(request, "admin/proposals/proposal/reject.html", {
        **modeladmin.admin_site.each_context(request),
        "title": "Reject proposals",
        "opts": modeladmin.model._meta,
        "proposals": queryset,
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    })


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "concept", "proposer", "status", "created_at", "market")
    list_filter = ("status", "concept")
    search_fields = ("title", "text", "proposer__username", "spec_sha256")
    list_select_related = ("proposer", "market")
    readonly_fields = [f.name for f in Proposal._meta.fields]
    actions = [approve_proposals, reject_proposals]
