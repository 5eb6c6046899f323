"""Pages that show a run with its market: the resolution report, and the staff actions on a run and
its market (re-queue, verify, annul, re-resolve)."""
from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from experiments import selectors as run_selectors
from experiments.charts import Interval, ci_chart_svg
from experiments.models import ExperimentRun
from experiments.report_text import column_help, plot_caption, reproduce_command
from market import selectors as market_selectors
from market.exceptions import MarketError
from market.models import Market
from resolution import services


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
