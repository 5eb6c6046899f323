"""HTML pages and CSV exports of the evaluator: leaderboard, general factor, user profiles."""
from __future__ import annotations

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from evaluator import plots, selectors
from evaluator.factor import CONCEPTS
from evaluator.models import ForecasterKind
from experiments.concepts import CONCEPTS as CONCEPT_INFO

CONCEPT_NAMES = {letter: info.name for letter, info in CONCEPT_INFO.items()}


def _concept_param(request: HttpRequest) -> str | None:
    concept = (request.GET.get("concept") or "").strip().upper()
    if not concept:
        return None
    if concept not in CONCEPTS:
        raise Http404("Unknown concept; use one of A–H.")
    return concept


@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    concept = _concept_param(request)
    board = selectors.leaderboard(concept=concept)
    references = []
    for kind, label in selectors.REFERENCE_LABELS.items():
        cal = selectors.calibration(forecaster=kind, concept=concept)
        references.append({"label": label, "calibration": cal,
                           "plot": plots.calibration_svg(cal["bins"], label=f"Calibration of the {label}")})
    return render(request, "evaluator/leaderboard.html", {
        "board": board,
        "references": references,
        "concept": concept,
        "concepts": [(c, CONCEPT_NAMES[c]) for c in CONCEPTS],
    })


@require_GET
def factor(request: HttpRequest) -> HttpResponse:
    summary = selectors.factor_summary()
    loadings_rows = [
        {"concept": c, "name": CONCEPT_NAMES.get(c, c), "loading": summary["loadings"][c],
         "ci": summary["loadings_ci"].get(c), "fa": summary["fa_loadings"].get(c)}
        for c in summary["loadings"]
    ]
    return render(request, "evaluator/factor.html", {
        "f": summary,
        "more_needed": max(summary["rows_needed"] - summary["n_setups"], 0),
        "loadings_rows": loadings_rows,
        "concepts": [(c, CONCEPT_NAMES[c]) for c in CONCEPTS],
        "heatmap": plots.heatmap_svg(summary["matrix"], summary["concepts"]),
        "scree": plots.scree_svg(summary["eigenvalues"], summary["null_eigen_p95"]),
        "loadings_plot": plots.loadings_svg(summary["loadings"], summary["loadings_ci"], summary["fa_loadings"]),
    })


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    user = get_object_or_404(get_user_model(), username=username)
    history = selectors.user_score_history(user=user)
    cal = selectors.calibration(user=user)
    peers = [h["peer"] for h in history if h.get("peer") is not None]
    return render(request, "evaluator/profile.html", {
        "profile_user": user,
        "history": list(reversed(history)),
        "calibration": cal,
        "calibration_plot": plots.calibration_svg(cal["bins"], label=f"Calibration of {user.get_username()}"),
        "history_plot": plots.score_history_svg(history),
        "mean_peer": sum(peers) / len(peers) if peers else None,
        "is_self": request.user.is_authenticated and request.user.pk == user.pk,
        "by_concept": [(c, CONCEPT_NAMES[c], block) for c, block in cal["by_concept"].items()],
    })


# --- CSV exports ---------------------------------------------------------------------------------------

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_response(frame: pd.DataFrame, filename: str) -> HttpResponse:
    """CSV download; text cells that a spreadsheet would run as a formula are prefixed with a quote."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_PREFIXES) else v
            )
    response = HttpResponse(frame.to_csv(index=False), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def export_forecasts(request: HttpRequest) -> HttpResponse:
    return _csv_response(selectors.forecasts_frame(), "pathmarket-forecasts.csv")


@require_GET
def export_scores(request: HttpRequest) -> HttpResponse:
    return _csv_response(selectors.scores_frame(), "pathmarket-scores.csv")


@require_GET
def export_factor(request: HttpRequest) -> HttpResponse:
    return _csv_response(selectors.factor_matrix().reset_index(), "pathmarket-factor-matrix.csv")


def _own(request: HttpRequest, username: str):
    user = get_object_or_404(get_user_model(), username=username)
    if request.user.pk != user.pk:
        raise PermissionDenied("You can only download your own data.")
    return user


@require_GET
@login_required
def export_my_forecasts(request: HttpRequest, username: str) -> HttpResponse:
    user = _own(request, username)
    return _csv_response(selectors.forecasts_frame(user=user), f"pathmarket-{user.pk}-forecasts.csv")


@require_GET
@login_required
def export_my_scores(request: HttpRequest, username: str) -> HttpResponse:
    user = _own(request, username)
    frame = selectors.scores_frame(user=user)
    frame = frame[frame["forecaster"] == ForecasterKind.USER] if not frame.empty else frame
    return _csv_response(frame, f"pathmarket-{user.pk}-scores.csv")
