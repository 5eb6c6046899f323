"""Proposal pages: ``/proposals/new/`` (the form), ``/proposals/new/factor/`` (a factor market's form: a survey
campaign, docs/factor-markets.md), ``/proposals/`` (your proposals; staff: the review queue),
``/proposals/<id>/`` (one proposal, its dry run's live progress) and the POST-only staff and dry-run actions."""
from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from experiments.evidence.selectors import criterion_evidence
from market.sanitize import markdown_to_html
from market.specs import CriterionError, criterion_in_words
from proposals import selectors as proposal_selectors
from proposals.api import DryRunsThrottle, ProposalsThrottle
from proposals.forms import FactorProposalForm, ProposalForm, survey_axes_help
from proposals.input import cost_estimate, registry_catalog, spec_clean
from proposals.models import Proposal, ProposalStatus
from proposals.services import (
    ProposalForbidden,
    ProposalInvalid,
    ProposalStateError,
    proposal_approve,
    proposal_create,
    proposal_dry_run,
    proposal_reject,
)


def _throttled(request: HttpRequest, throttle_class: type) -> str | None:
    """The same per-user budget as the API; returns a message when it is spent."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait()
    return f"Too many requests; try again in {int(wait or 60)} seconds."


def _estimate(form: ProposalForm) -> tuple[dict | None, str]:
    """Cost of the spec currently in the form (or the preset), or why it cannot be estimated."""
    concept, task, preset = form.selected()
    spec = {"concept": concept, "task": task, "preset": preset}
    if form.is_bound and form.is_valid():
        spec = form.proposal_data()["spec"]
    try:
        normalized = spec_clean(spec)
    except CriterionError as exc:
        return None, f"{exc.field}: {exc.message}"
    cost = cost_estimate(normalized)
    return {
        "spec": normalized,
        "flops": f"{cost['flops']:.3g}",
        "flops_budget": f"{cost['flops_budget']:.3g}",
        "flops_cap": f"{cost['flops_cap']:.3g}",
        "cpu_seconds": f"{cost['cpu_seconds_estimate']:.1f}",
    }, ""


def _form_page(request: HttpRequest, form: ProposalForm, param_errors: dict | None = None, status: int = 200):
    estimate, estimate_error = _estimate(form)
    concept, task, preset = form.selected()
    catalog = registry_catalog()
    source = form.data if form.is_bound else {}
    return render(request, "proposals/new.html", {
        "form": form,
        "params": form.param_rows(param_errors),
        "selected": {"concept": concept, "task": task, "preset": preset, "arch": source.get("arch", "")},
        "statistic": catalog[concept]["statistic"],
        "tasks": list(catalog[concept]["tasks"]),
        "archs": catalog[concept]["tasks"][task]["archs"],
        "preset_seeds": catalog[concept]["tasks"][task]["presets"][preset]["seeds"],
        "seed_bounds": (catalog[concept]["min_seeds"], catalog[concept]["max_seeds"]),
        "catalog": catalog,
        "estimate": estimate,
        "estimate_error": estimate_error,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, ProposalForm(initial={k: request.GET.get(k) for k in ("concept", "task", "preset")}))
    form = ProposalForm(request.POST)
    if "refresh" in request.POST:  # no JavaScript: redraw the parameters of the chosen concept and task
        form.is_valid()
        return _form_page(request, form)
    return _submit(request, form, lambda f, status, errors=None: _form_page(request, f, errors, status=status))


def _submit(request: HttpRequest, form: ProposalForm | FactorProposalForm,
            page: Callable[..., HttpResponse]) -> HttpResponse:
    """Check, throttle and submit a bound proposal form; ``page(form, status, errors)`` redraws it with the
    service's messages on its inputs (``errors``: those of the spec's parameters, single experiments)."""
    if not form.is_valid():
        return page(form, 400)
    refused = _throttled(request, ProposalsThrottle)
    if refused:
        form.add_error(None, refused)
        return page(form, 429)
    try:
        proposal = proposal_create(proposer=request.user, data=form.proposal_data())
    except ProposalInvalid as exc:
        return page(form, 400, form.add_service_errors(exc.errors))
    messages.success(request, f"Proposal #{proposal.pk} submitted; staff will review it.")
    return redirect(f"/proposals/{proposal.pk}/")


def _factor_form_page(request: HttpRequest, form: FactorProposalForm, status: int = 200) -> HttpResponse:
    from experiments.survey.campaign_spec import FACTOR_STATISTICS

    return render(request, "proposals/new_factor.html", {
        "form": form,
        "statistics": FACTOR_STATISTICS,
        "axes_help": survey_axes_help(),
        "row_bounds": form.row_bounds,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_new_factor(request: HttpRequest) -> HttpResponse:
    """A factor market (concept g) resolved by a survey campaign: the same service as the API."""
    if request.method == "GET":
        return _factor_form_page(request, FactorProposalForm())
    return _submit(request, FactorProposalForm(request.POST),
                   lambda f, status, errors=None: _factor_form_page(request, f, status=status))


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    mine = list(proposal_selectors.proposal_list(user=request.user, mine=True)[:200])
    queue = list(proposal_selectors.proposal_review_queue(user=request.user)[:200])
    return render(request, "proposals/list.html", {
        "mine": mine, "queue": queue, "statuses": ProposalStatus,
    })


def _visible(request: HttpRequest, pk: int) -> Proposal:
    try:
        return proposal_selectors.proposal_get(user=request.user, proposal_id=pk)
    except Proposal.DoesNotExist:
        raise Http404("No such proposal.") from None


@login_required
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from experiments.survey.campaign_spec import is_campaign_spec

    proposal = _visible(request, pk)
    campaign = is_campaign_spec(proposal.spec)
    return render(request, "proposals/detail.html", {
        "proposal": proposal,
        "is_campaign": campaign,
        "text_html": markdown_to_html(proposal.text),
        "criterion_words": criterion_in_words(
            spec=proposal.spec, statistic=proposal.statistic, comparator=proposal.comparator,
            threshold=proposal.threshold, confidence=0.95,
        ),
        "spec_json": json.dumps(proposal.spec, indent=2, sort_keys=True),
        "can_review": request.user.is_staff and proposal.status == ProposalStatus.PENDING,
        "evidence": criterion_evidence(proposal) if request.user.is_staff else None,  # issue 14: foregone?
        "can_dry_run": proposal.status == ProposalStatus.PENDING and not campaign  # no dry run: a secret design
        and not (proposal.dry_run and proposal.dry_run.status in ("queued", "running")),
    })


def _act(request: HttpRequest, pk: int, func, success: str, **kwargs) -> HttpResponse:  # noqa: ANN001
    try:
        result = func(**kwargs)
    except ProposalForbidden as exc:
        raise PermissionDenied(exc.message) from None
    except ProposalInvalid as exc:
        for field, texts in exc.errors.items():
            for text in texts:
                messages.error(request, text if field in ("non_field_errors", "detail") else f"{field}: {text}")
    except ProposalStateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success.format(result=result))
    return redirect(request.POST.get("next") if request.POST.get("next") == "/proposals/" else f"/proposals/{pk}/")


@login_required
@require_POST
def proposal_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can approve proposals.")
    proposal = _visible(request, pk)
    return _act(request, pk, proposal_approve, "Approved: market #{result.pk} is open.",
                proposal=proposal, reviewer=request.user)


@login_required
@require_POST
def proposal_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can reject proposals.")
    proposal = _visible(request, pk)
    return _act(request, pk, proposal_reject, "Proposal #{result.pk} rejected.",
                proposal=proposal, reviewer=request.user, reason=request.POST.get("reason", ""))


@login_required
@require_POST
def proposal_dry_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _visible(request, pk)
    refused = _throttled(request, DryRunsThrottle)
    if refused:
        messages.error(request, refused)
        return redirect(f"/proposals/{pk}/")
    return _act(request, pk, proposal_dry_run, "Dry run #{result.pk} queued.", proposal=proposal, user=request.user)
