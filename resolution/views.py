"""Pages that show a run with its market: the resolution report, and the staff actions on a run and
its market (re-queue, verify, annul, re-resolve). A factor market's report shows its survey campaign
instead (``campaign_report``), with the campaign's rows as CSV and its design file."""
from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from evaluator import factor_plots
from evaluator.views import VERDICT_LABELS, _csv_response
from experiments import charts
from experiments import selectors as run_selectors
from experiments.charts import Interval, ci_chart_svg
from experiments.concepts import CONCEPTS as CONCEPT_INFO
from experiments.concepts import LETTERS
from experiments.models import ExperimentRun
from experiments.report_text import column_help, plot_caption, reproduce_command
from market import selectors as market_selectors
from market.exceptions import MarketError
from market.models import Market, MarketCampaign, MarketStatus
from market.services import market_annul
from market.specs import criterion_in_words
from resolution import selectors, services
from resolution.campaigns import campaign_market_resend, campaign_market_status


def _interval(label: str, run: ExperimentRun) -> Interval:
    return Interval(label, run.statistic, run.ci_low, run.ci_high)


def _plots(run: ExperimentRun) -> list[dict]:
    return [
        {"name": plot_caption(name.split(":", 1)[1]), "path": path}
        for name, path in sorted(run.artifacts.items())
        if name.startswith("plot:")
    ]


def market_report(request: HttpRequest, market_id: int) -> HttpResponse:
    """``/markets/{id}/report/``: how the market's experiment decided it (or how far it has got)."""
    market = get_object_or_404(Market, pk=market_id)
    if market.is_campaign:
        return campaign_report(request, market)
    run = market_selectors.market_resolution_run(market_id=market.pk)
    verifications = run_selectors.run_verifications(run=run) if run else []
    per_seed = run_selectors.run_per_seed(run=run) if run else []
    columns = run_selectors.per_seed_columns(per_seed)
    finished = [r for r in [run, *verifications]
                if r is not None and r.status == ExperimentRun.Status.SUCCEEDED]
    chart = ci_chart_svg(
        [_interval("resolution run" if r is run else f"verify #{r.pk}", r) for r in finished],
        threshold=float(market.threshold) if market.threshold is not None else None,
        comparator=market.comparator,
    )
    context = {
        "market": market,
        "run": run,
        "verifications": verifications,
        "decision": run_selectors.run_decision(run=run) if run else None,
        "chart": chart,
        "plots": _plots(run) if run else [],
        "columns": columns,
        "column_help": [(c, column_help(c)) for c in columns],
        "reproduce": reproduce_command(spec=run.spec, seeds=list(run.seeds or [])) if run else "",
        "seed_table": [[row.get(c) for c in columns] for row in per_seed],
        "result_json": json.dumps(run.result, indent=2, sort_keys=True) if run and run.result else "",
        "spec_json": json.dumps(market.spec, indent=2, sort_keys=True),
        "active": bool(run and not run.is_terminal),
        "main_run_id": run.pk if run and not run.is_terminal else None,
        "poll_ids": ([run.pk] if run and not run.is_terminal else [])
        + [v.pk for v in verifications if not v.is_terminal],
    }
    return render(request, "resolution/report.html", context)


_ROBUST_SHOWN = ("pooled_z", "within_task", "partialled")  # pooled_rank repeats the headline estimate


def _campaign_charts(market: Market, status: dict) -> dict:
    """The report's SVG charts of a factor market: each stage's statistic against the threshold, PC1
    against its null (with the robustness checks' estimates), the loadings with their CIs, the scree plot
    and the leave-one-task-out shares."""
    estimate = status.get("estimate") or {}
    factor = estimate.get("factor") or {}
    robust = estimate.get("robust") or {}
    threshold = float(market.threshold) if market.threshold is not None else None
    stages = [Interval(f"{d['rows']} rows", d.get("statistic"), d.get("ci_low"), d.get("ci_high"))
              for d in status.get("decisions") or []]
    out = {"decision_chart": ci_chart_svg(stages, threshold=threshold, comparator=market.comparator)}
    if not factor:
        return out
    estimates = {"campaign": {
        "label": f"this campaign, {estimate.get('n_rows_used')} rows ({factor.get('transform', 'rank')})",
        "available": factor.get("pc1_share") is not None, "pc1_share": factor.get("pc1_share"),
        "pc1_ci": factor.get("pc1_ci"), "null_p95": factor.get("null_p95"),
        "reason": factor.get("verdict")}}
    for key in _ROBUST_SHOWN:
        if key in (robust.get("estimates") or {}):
            estimates[key] = robust["estimates"][key]
    loto = robust.get("leave_one_task_out") or []
    out.update({
        "estimates_chart": factor_plots.estimates_svg(estimates, label="PC1 share against its null"),
        "loadings_chart": charts.loadings_svg(factor.get("loadings") or {}, factor.get("loadings_ci") or {},
                                              factor.get("fa_loadings") or None),
        "scree_chart": charts.scree_svg(factor.get("eigenvalues") or [], factor.get("null_eigen_p95") or []),
        "loto_chart": factor_plots.loto_svg(loto, pooled_share=factor.get("pc1_share"),
                                            pooled_null=factor.get("null_p95")) if loto else "",
    })
    return out


def _commitment_recipe(status: dict) -> str:
    """A shell line that recomputes the commitment from the revealed seed and salt."""
    from experiments.survey.campaign_spec import _COMMITMENT_PREFIX

    return ("python3 -c \"import hashlib; print(hashlib.sha256(b'"
            f"{_COMMITMENT_PREFIX}:{status['salt']}:{status['design_seed']}').hexdigest())\"")


def campaign_report(request: HttpRequest, market: Market) -> HttpResponse:
    """``/markets/{id}/report/`` of a factor market: its hidden (then revealed) design seed, the campaign's
    progress, decisions and factor estimate, and every row's data (docs/factor-markets.md)."""
    status = campaign_market_status(market=market) or {}
    link = selectors.market_campaign_link(market=market)
    rows = selectors.campaign_rows(link=link) if link else []
    estimate = status.get("estimate") or {}
    factor = estimate.get("factor") or {}
    loadings = factor.get("loadings") or {}
    active = bool(status.get("campaign")) and market.status in (MarketStatus.CLOSED, MarketStatus.RUNNING)
    context = {
        "market": market,
        "status": status,
        "criterion_words": criterion_in_words(
            spec=market.spec, statistic=market.statistic, comparator=market.comparator,
            threshold=None if market.threshold is None else float(market.threshold),
            confidence=float(market.confidence)),
        "spec_json": json.dumps(market.spec, indent=2, sort_keys=True),
        "progress": status.get("progress"),
        "stall_minutes": int(settings.PATHMARKET.get("RUN_STALL_SECONDS", 7200)) // 60,
        "estimate": estimate,
        "factor": factor,
        "robust": estimate.get("robust") or {},
        "verdict_label": VERDICT_LABELS.get(factor.get("verdict_code", ""), factor.get("verdict_code")),
        "loadings_rows": [(c, CONCEPT_INFO[c].name if c in CONCEPT_INFO else c, value,
                           (factor.get("loadings_ci") or {}).get(c)) for c, value in loadings.items()],
        "rows": rows,
        "letters": LETTERS,
        "letter_help": [(c, CONCEPT_INFO[c].statistic) for c in LETTERS],
        "recipe": _commitment_recipe(status) if status.get("revealed") else "",
        "poll": {"market": market.pk, "decisions": len(status.get("decisions") or []),
                 "status": market.status} if active else None,
        **_campaign_charts(market, status),
    }
    return render(request, "resolution/campaign_report.html", context)


def _campaign_link_or_404(market_id: int):
    market = get_object_or_404(Market, pk=market_id)
    link = selectors.market_campaign_link(market=market) if market.is_campaign else None
    if link is None:
        raise Http404("This market is not resolved by a survey campaign.")
    if link.campaign is None:
        raise Http404("The campaign starts when the market closes; its design is drawn then.")
    return link


@require_GET
def market_campaign_csv(request: HttpRequest, market_id: int) -> HttpResponse:
    """``/markets/{id}/campaign.csv``: the campaign's rows with ``#`` provenance lines on top."""
    link = _campaign_link_or_404(market_id)
    header, frame = selectors.campaign_export(link=link)
    return _csv_response(frame, f"pathmarket-market-{market_id}-campaign.csv", header=header)


@require_GET
def market_design_json(request: HttpRequest, market_id: int) -> HttpResponse:
    """``/markets/{id}/design.json``: the campaign's design file (404 until the market closes); its
    ``sha256`` is that of its canonical JSON without ``sha256``, ``created_at`` and ``unsupported``."""
    link = _campaign_link_or_404(market_id)
    response = JsonResponse(link.campaign.design, json_dumps_params={"indent": 1, "sort_keys": True})
    response["Content-Disposition"] = f'inline; filename="market-{market_id}-design.json"'
    return response


def _back(run: ExperimentRun) -> HttpResponse:
    market_id = services.run_market_id(run_id=run.pk)
    if market_id is not None:
        return redirect(reverse("resolution:market-report", args=[market_id]))
    return redirect(reverse("experiments:run-result", args=[run.pk]))


@staff_member_required
@require_POST
def run_requeue_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ExperimentRun, pk=run_id)
    try:
        services.run_requeue(run_id=run.pk)
        messages.success(request, f"Run {run.pk} is queued again.")
    except services.RunError as exc:
        messages.error(request, str(exc))
    return _back(run)


@staff_member_required
@require_POST
def run_verify_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ExperimentRun, pk=run_id)
    try:
        new = services.run_verify(run_id=run.pk, requested_by=request.user)
        messages.success(request, f"Verification run {new.pk} queued with fresh seeds.")
    except services.RunError as exc:
        messages.error(request, str(exc))
    return _back(run)


def _staff_market_action(request: HttpRequest, run_id: int, *, what: str,
                         act: Callable[[ExperimentRun, str], str]) -> HttpResponse:
    """A staff action on a run's market that needs a reason: ``act(run, reason)`` does it and returns
    the message for the person; refusals come back as error messages."""
    run = get_object_or_404(ExperimentRun, pk=run_id)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        messages.error(request, f"Give a reason for the {what}.")
        return _back(run)
    try:
        messages.success(request, act(run, reason))
    except (services.RunError, ValueError) as exc:
        messages.error(request, str(exc))
    except MarketError as exc:  # market errors carry a message for the person
        messages.error(request, exc.message)
    return _back(run)


@staff_member_required
@require_POST
def run_reresolve_view(request: HttpRequest, run_id: int) -> HttpResponse:
    def act(run: ExperimentRun, reason: str) -> str:
        report = services.run_reresolve_market(run_id=run.pk, reason=reason, actor=request.user)
        if report.get("already_resolved"):
            return f"The market is already resolved {report['outcome'].upper()}; nothing moved."
        amounts = {key: f"{Decimal(report[key]):,.2f}" for key in ("reversed", "covered", "paid")}
        return (f"The market is re-resolved {report['outcome'].upper()} (was {report['previous'].upper()}): "
                f"{amounts['reversed']} points taken back, {amounts['covered']} covered by the house, "
                f"{amounts['paid']} paid out.")

    return _staff_market_action(request, run_id, what="re-resolution", act=act)


@staff_member_required
@require_POST
def run_annul_view(request: HttpRequest, run_id: int) -> HttpResponse:
    def act(run: ExperimentRun, reason: str) -> str:
        services.run_annul_market(run_id=run.pk, reason=reason, actor=request.user)
        return "The market is annulled and every position refunded."

    return _staff_market_action(request, run_id, what="annulment", act=act)


@staff_member_required
@require_POST
def campaign_resend_view(request: HttpRequest, market_id: int) -> HttpResponse:
    """Staff: send the current stage's unfinished units now (or its decision, if the stage has finished)."""
    market = get_object_or_404(Market, pk=market_id)
    try:
        report = campaign_market_resend(market_id=market.pk)
        if report["action"] == "decision sent":
            messages.success(request, "The stage has finished: its decision is sent.")
        else:
            messages.success(request, f"{report['units']} unit(s) of the stage are sent to the workers.")
    except (ValueError, MarketCampaign.DoesNotExist) as exc:
        messages.error(request, str(exc) or "This market is not resolved by a survey campaign.")
    return redirect(reverse("resolution:market-report", args=[market.pk]))


@staff_member_required
@require_POST
def campaign_annul_view(request: HttpRequest, market_id: int) -> HttpResponse:
    """Staff: annul a factor market (refunds) with a reason the traders read, e.g. a campaign that cannot
    finish."""
    market = get_object_or_404(Market, pk=market_id)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        messages.error(request, "Give a reason for the annulment.")
    elif not market.is_campaign:
        messages.error(request, "This market is not resolved by a survey campaign.")
    else:
        try:
            market_annul(market=market.pk, reason=f"Annulled by {request.user.get_username()}: {reason}")
            messages.success(request, "The market is annulled and every position refunded.")
        except MarketError as exc:
            messages.error(request, exc.message)
    return redirect(reverse("resolution:market-report", args=[market.pk]))
