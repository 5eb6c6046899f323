"""HTML/file views of runs: per-seed CSV, result.json and the run's artifacts (plots, data files).

The pages that show a run with its market (the resolution report) and the staff actions live in the
resolution app, which is allowed to import both.
"""
from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.static import serve

from experiments import selectors


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
    """The run_experiment --json object (docs/experiments.md) of a finished run (404 until it has one)."""
    run = get_object_or_404(selectors.runs_visible(user=request.user), pk=run_id)
    if not run.result:
        return JsonResponse({"detail": f"run {run.pk} has no result yet (status {run.status})."}, status=404)
    return JsonResponse(run.result, json_dumps_params={"indent": 2, "sort_keys": True})


def run_artifact(request: HttpRequest, run_id: int, name: str) -> HttpResponse:
    """``/media/runs/{id}/{file}``: a run's plots and data files, served only to whoever may see the
    run (a private proposal's dry run is the proposer's and staff's). ``serve`` refuses paths that
    leave the run's folder."""
    get_object_or_404(selectors.runs_visible(user=request.user), pk=run_id)
    return serve(request, name, document_root=Path(settings.PATHMARKET["ARTIFACTS_DIR"]) / str(run_id))
