"""HTML pages and CSV exports of the evaluator: leaderboard, general factor, user profiles."""
from __future__ import annotations

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from evaluator import factor_plots, selectors
from evaluator.factor import CONCEPTS
from evaluator.models import ForecasterKind
from experiments import charts
from experiments.concepts import CONCEPTS as CONCEPT_INFO
from experiments.concepts import FACTOR, FACTOR_INFO, market_concept

CONCEPT_NAMES = {letter: info.name for letter, info in CONCEPT_INFO.items()}


def _concept_param(request: HttpRequest) -> str | None:
    concept = market_concept((request.GET.get("concept") or "").strip())
    if concept is None and (request.GET.get("concept") or "").strip():
        raise Http404("Unknown concept; use one of A–H, or g for the general factor.")
    return concept


@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    concept = _concept_param(request)
    board = selectors.leaderboard(concept=concept)
    references = []
    for kind, label in selectors.REFERENCE_LABELS.items():
        cal = selectors.calibration(forecaster=kind, concept=concept)
        references.append({"label": label, "calibration": cal,
                           "plot": charts.calibration_svg(cal["bins"], label=f"Calibration of the {label}")})
    return render(request, "evaluator/leaderboard.html", {
        "board": board,
        "references": references,
        "concept": concept,
        "concepts": [(c, CONCEPT_NAMES[c]) for c in CONCEPTS] + [(FACTOR, FACTOR_INFO.name)],
    })


VERDICT_LABELS = {
    "insufficient_data": "Not enough rows yet",
    "no_evidence": "No evidence of a general factor",
    "contrast": "A contrast between concepts, not a factor",
    "task_only": "Only tells tasks apart",
    "convergence_only": "Only training progress",
    "suggestive": "Suggestive, not established",
    "general_factor": "Evidence of a general factor",
}
COVARIATE_NAMES = {"cov_final_train_loss": "final train loss", "cov_test_accuracy": "test accuracy",
                   "cov_steps_to_target": "steps to reach it"}
_ESTIMATE_HELP = {
    "pooled_rank": "Every row, each statistic replaced by its rank (the headline estimate).",
    "pooled_z": "Every row, each statistic z-scored instead of ranked: does the transform matter?",
    "within_task": "Each statistic centred on its task's mean: only differences between settings of the same task "
                   "are left, so a factor that merely tells tasks apart vanishes here.",
    "partialled": "Each statistic's ranks regressed on the ranks of final train loss, test accuracy and steps to "
                  "reach it; the residuals are analysed. A factor that is only how far training got vanishes here.",
}


@require_GET
def factor(request: HttpRequest) -> HttpResponse:
    f = selectors.factor_summary()
    estimates = f["estimates"]
    loadings_rows = [
        {"concept": c, "name": CONCEPT_NAMES.get(c, c), "statistic": f["statistics"].get(c), "loading": f["loadings"][c],
         "ci": f["loadings_ci"].get(c), "fa": f["fa_loadings"].get(c),
         "within": estimates["within_task"].get("loadings", {}).get(c),
         "partialled": estimates["partialled"].get("loadings", {}).get(c)}
        for c in f["loadings"]
    ]
    r2 = f["partial_info"].get("r2") or {}
    covariates = [COVARIATE_NAMES.get(c, c) for c in f["partial_info"].get("covariates", [])]
    from experiments.survey.models import SurveyCampaign
    from experiments.survey.services import survey_campaign_progress

    campaigns = [survey_campaign_progress(campaign=c) for c in SurveyCampaign.objects.all()[:10]]
    from experiments.concepts import FACTOR
    from market.models import Market

    factor_markets = list(Market.objects.filter(concept=FACTOR).order_by("status", "close_time")[:12])
    return render(request, "evaluator/factor.html", {
        "f": f,
        "factor_markets": factor_markets,
        "campaigns": campaigns,
        "verdict_label": VERDICT_LABELS.get(f["verdict_code"], f["verdict_code"]),
        "more_needed": max(f["rows_needed"] - f["n_setups"], 0),
        "n_measured": f["n_cells"] - f["n_missing_cells"],
        "loadings_rows": loadings_rows,
        "estimate_rows": [{**e, "key": k, "help": _ESTIMATE_HELP[k]} for k, e in estimates.items()],
        "covariates": covariates,
        "r2_rows": [(c, CONCEPT_NAMES.get(c, c), r2.get(c)) for c in CONCEPTS if c in r2],
        "concepts": [(c, CONCEPT_NAMES[c], f["statistics"][c]) for c in CONCEPTS],
        "heatmap": charts.heatmap_svg(f["matrix"], f["concepts"]),
        "scree": charts.scree_svg(f["eigenvalues"], f["null_eigen_p95"]),
        "loadings_plot": charts.loadings_svg(f["loadings"], f["loadings_ci"], f["fa_loadings"]),
        "estimates_plot": factor_plots.estimates_svg(estimates),
        "loto_plot": factor_plots.loto_svg(f["leave_one_task_out"], pooled_share=f["pc1_share"],
                                           pooled_null=f["null_p95"]),
        "correlation_plot": factor_plots.correlation_svg(f["correlation"], names=CONCEPT_NAMES),
        "scatter_plot": factor_plots.scatter_matrix_svg(f["matrix"], f["concepts"]),
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
        "calibration_plot": charts.calibration_svg(cal["bins"], label=f"Calibration of {user.get_username()}"),
        "history_plot": charts.score_history_svg(history),
        "mean_peer": sum(peers) / len(peers) if peers else None,
        "is_self": request.user.is_authenticated and request.user.pk == user.pk,
        "by_concept": [(c, CONCEPT_NAMES[c], block) for c, block in cal["by_concept"].items()],
        "pit": selectors.pit_calibration(user=user),
    })


# --- CSV exports ---------------------------------------------------------------------------------------

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_response(frame: pd.DataFrame, filename: str, *, header: list[str] | None = None) -> HttpResponse:
    """CSV download; text cells that a spreadsheet would run as a formula are prefixed with a quote.
    ``header`` lines go first, each prefixed with ``# ``."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_PREFIXES) else v
            )
    preamble = "".join(f"# {line}\n" for line in header or [])
    response = HttpResponse(preamble + frame.to_csv(index=False), content_type="text/csv; charset=utf-8")
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
    """The matrix as CSV. Provenance travels in ``#``-prefixed header lines (site code version, data version,
    generation time, source, design hash when known, the statistic of each letter) and in each row's
    ``source`` column; ``pandas.read_csv(f, comment="#")`` reads it (docs/evaluator.md)."""
    header, frame = selectors.factor_export()
    return _csv_response(frame, "pathmarket-factor-matrix.csv", header=header)


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
