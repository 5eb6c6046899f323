"""HTML pages of runs: the resolution report of a market, downloads, and staff actions."""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.static import serve

from experiments import selectors, services
from experiments.charts import Interval, ci_chart_svg
from experiments.models import ExperimentRun


def _market_model():
    # Looked up by label so this app never imports ``market`` (DESIGN.md §2).
    return apps.get_model("market", "Market")


def _interval(label: str, run: ExperimentRun) -> Interval:
    return Interval(label, run.statistic, run.ci_low, run.ci_high)


def _plots(run: ExperimentRun) -> list[dict]:
    return [
        {"name": name.split(":", 1)[1].replace("_", " "), "path": path}
        for name, path in sorted(run.artifacts.items())
        if name.startswith("plot:")
    ]


def market_report(request: HttpRequest, market_id: int) -> HttpResponse:
    """``/markets/{id}/report/``: how the market's experiment decided it (or how far it has got)."""
    market = get_object_or_404(_market_model(), pk=market_id)
    run = selectors.market_resolution_run(market_id=market.pk)
    verifications = selectors.run_verifications(run=run) if run else []
    per_seed = selectors.run_per_seed(run=run) if run else []
    columns = selectors.per_seed_columns(per_seed)
    finished = [r for r in [run, *verifications] if r is not None and r.status == ExperimentRun.Status.SUCCEEDED]
    chart = ci_chart_svg(
        [_interval("resolution run" if r is run else f"verify #{r.pk}", r) for r in finished],
        threshold=float(market.threshold) if market.threshold is not None else None,
        comparator=market.comparator,
    )
    context = {
        "market": market,
        "run": run,
        "verifications": verifications,
        "decision": selectors.run_decision(run=run) if run else None,
        "chart": chart,
        "plots": _plots(run) if run else [],
        "columns": columns,
        "seed_table": [[row.get(c) for c in columns] for row in per_seed],
        "result_json": json.dumps(run.result, indent=2, sort_keys=True) if run and run.result else "",
        "spec_json": json.dumps(market.spec, indent=2, sort_keys=True),
        "active": bool(run and not run.is_terminal),
        "main_run_id": run.pk if run and not run.is_terminal else None,
        "poll_ids": ([run.pk] if run and not run.is_terminal else []) + [v.pk for v in verifications if not v.is_terminal],
    }
    return render(request, "experiments/report.html", context)


def run_per_seed_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    """The per-seed table of a run as CSV (the rows trained so far while it runs)."""
    run = get_object_or_404(selectors.runs_visible(user=request.user), pk=run_id)
    rows = selectors.run_per_seed(run=run)
    columns = selectors.per_seed_columns(rows)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-per-seed.csv"'
    writer = csv.DictWriter(response, fieldnames=columns or ["seed", "behaviour"])
    writer.writeheader()
    writer.writerows(rows)
    return response


def run_result_json(request: HttpRequest, run_id: int) -> JsonResponse:
    """The §4.3 JSON object of a finished run (404 until it has one)."""
    run = get_object_or_404(selectors.runs_visible(user=request.user), pk=run_id)
    if not run.result:
        return JsonResponse({"detail": f"run {run.pk} has no result yet (status {run.status})."}, status=404)
    return JsonResponse(run.result, json_dumps_params={"indent": 2, "sort_keys": True})


def _back(run: ExperimentRun) -> HttpResponse:
    if run.market_id is not None:
        return redirect(reverse("experiments:market-report", args=[run.market_id]))
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
    except Exception as exc:
        if getattr(exc, "message", None) is None:  # market errors carry a message for the person
            raise
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


def run_artifact(request: HttpRequest, run_id: int, name: str) -> HttpResponse:
    """``/media/runs/{id}/{file}``: a run's plots and data files, served only to whoever may see the
    run (a private proposal's dry run is the proposer's and staff's). ``serve`` refuses paths that
    leave the run's folder."""
    get_object_or_404(selectors.runs_visible(user=request.user), pk=run_id)
    return serve(request, name, document_root=Path(settings.PATHMARKET["ARTIFACTS_DIR"]) / str(run_id))
