"""Reads of the evaluator: leaderboard, calibration, score histories, the
general-factor matrix and its analysis, and the frames behind the CSV exports."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.utils import timezone

from evaluator.calibration import calibration_summary
from evaluator.factor import CONCEPTS
from evaluator.factor_robust import factor_report
from evaluator.leaderboard import leaderboard_table
from evaluator.models import FactorCell, ForecasterKind, Score, ScoreKind
from experiments.concepts import CONCEPTS as CONCEPT_INFO
from market.models import Forecast

REFERENCE_LABELS = {
    ForecasterKind.MARKET_PRICE: "market price",
    ForecasterKind.COMMUNITY: "community aggregate",
}


def _option(name: str, default):
    return settings.PATHMARKET.get(name, default)


def pit_calibration(*, user: AbstractBaseUser | None = None, forecaster: str = ForecasterKind.USER,
                    n_bins: int = 10) -> dict:
    """Calibration of numeric forecasts: the PIT histogram of the last distribution on each resolved
    numeric market, with its χ² and Kolmogorov–Smirnov uniformity tests (evaluator.numeric)."""
    from dataclasses import asdict

    from evaluator.numeric import pit_uniformity

    qs = Score.objects.filter(kind=ScoreKind.CRPS, forecaster=forecaster, pit__isnull=False)
    if forecaster == ForecasterKind.USER:
        qs = qs.filter(user=user)
    summary = asdict(pit_uniformity(list(qs.values_list("pit", flat=True)), n_bins=n_bins))
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in summary.items()}


# --- scores ------------------------------------------------------------------------------------------

def _score_frame(*, concept: str | None = None, user: AbstractBaseUser | None = None) -> pd.DataFrame:
    """Score rows pivoted to one row per (market, forecaster)."""
    qs = Score.objects.all()
    if concept:
        qs = qs.filter(concept=concept)
    if user is not None:
        qs = qs.filter(user=user)
    rows = list(
        qs.values(
            "market_id", "market__title", "concept", "forecaster", "user_id", "user__username", "kind", "value",
            "coverage", "probability", "outcome", "n_forecasts", "resolved_at", "numeric",
        )
    )
    columns = ["market_id", "title", "concept", "forecaster", "user_id", "username", "resolved_at", "outcome",
               "probability", "coverage", "n_forecasts", "numeric", *ScoreKind.values]
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    frame = pd.DataFrame(rows).rename(columns={"market__title": "title", "user__username": "username"})
    keys = ["market_id", "title", "concept", "forecaster", "user_id", "username", "resolved_at", "outcome",
            "probability", "coverage", "n_forecasts", "numeric"]
    frame["user_key"] = frame["user_id"].fillna(-1).astype(int)
    ident = ["market_id", "forecaster", "user_key"]
    meta = frame.drop_duplicates(ident)[[*keys, "user_key"]]
    values = frame.pivot(index=ident, columns="kind", values="value").reset_index()
    values.columns.name = None
    wide = meta.merge(values, on=ident).drop(columns=["user_key"])
    wide["user_id"] = wide["user_id"].astype("Int64")
    for kind in ScoreKind.values:
        if kind not in wide:
            wide[kind] = np.nan
    return wide[columns].sort_values(["resolved_at", "market_id", "forecaster", "username"]).reset_index(drop=True)


def leaderboard(*, concept: str | None = None) -> dict:
    """Mean peer score per user over resolved markets, with bootstrap CIs, plus reference rows.

    Returns
    -------
    dict
        ``{"rows": [...], "reference": [...], "n_markets", "concept", "min_coverage"}``. Each row has
        ``user, peer_score, ci_low, ci_high, n_markets, coverage_sum, rank_score, baseline_score``
        (NaN as None). Reference rows (market price, community aggregate) use the label as ``user``.
    """
    frame = _score_frame(concept=concept)
    n_resamples = int(_option("LEADERBOARD_BOOTSTRAP", 1000))
    min_coverage = float(_option("LEADERBOARD_MIN_COVERAGE", 30))
    out = {"rows": [], "reference": [], "n_markets": int(frame["market_id"].nunique()), "concept": concept,
           "min_coverage": min_coverage}
    if frame.empty:
        return out
    frame = frame.rename(columns={"peer": "peer_score", "baseline": "baseline_score"})
    users = frame[frame["forecaster"] == ForecasterKind.USER].assign(forecaster=lambda f: f["username"])
    refs = frame[frame["forecaster"] != ForecasterKind.USER]
    for key, part in (("rows", users), ("reference", refs)):
        part = part.dropna(subset=["peer_score"])
        table = leaderboard_table(part[["forecaster", "peer_score", "coverage", "baseline_score"]],
                                  n_resamples=n_resamples, min_coverage=min_coverage)
        for rec in table.to_dict(orient="records"):
            label = REFERENCE_LABELS.get(rec["forecaster"], rec["forecaster"]) if key == "reference" else rec["forecaster"]
            row = {"user": label, "kind": rec["forecaster"] if key == "reference" else "user"}
            for field in ("peer_score", "ci_low", "ci_high", "coverage_sum", "rank_score", "baseline_score"):
                value = float(rec[field])
                row[field] = value if math.isfinite(value) else None
            row["n_markets"] = int(rec["n_markets"])
            out[key].append(row)
    return out


def _calibration_block(frame: pd.DataFrame, n_bins: int) -> dict:
    return calibration_summary(frame["outcome"].astype(int).to_numpy(), frame["probability"].to_numpy(dtype=float),
                               n_bins=n_bins)


def calibration(*, user: AbstractBaseUser | None = None, forecaster: str = ForecasterKind.USER,
                concept: str | None = None, n_bins: int = 10) -> dict:
    """Calibration of one forecaster's last forecast on each resolved market, overall and per concept.

    Parameters
    ----------
    user : User, optional
        The user, when ``forecaster == "user"``.
    forecaster : {"user", "market_price", "community"}
    concept : str, optional
        Restrict to one concept A–H.

    Returns
    -------
    dict
        ``{"n", "bins", "ece", "murphy", "by_concept": {concept: {...}}}``.
    """
    qs = Score.objects.filter(kind=ScoreKind.BRIER, forecaster=forecaster)
    if forecaster == ForecasterKind.USER:
        qs = qs.filter(user=user)
    if concept:
        qs = qs.filter(concept=concept)
    frame = pd.DataFrame(list(qs.values("concept", "probability", "outcome")), columns=["concept", "probability", "outcome"])
    result = _calibration_block(frame, n_bins)
    result["by_concept"] = {
        c: _calibration_block(part, n_bins) for c, part in sorted(frame.groupby("concept"), key=lambda kv: kv[0])
    }
    return result


def user_score_history(*, user: AbstractBaseUser) -> list[dict]:
    """One row per resolved market the user forecast on, oldest first: market, outcome, last
    probability, the four scores and coverage."""
    frame = _score_frame(user=user)
    records = frame.drop(columns=["forecaster", "user_id", "username"]).to_dict(orient="records")
    for rec in records:
        for key, value in list(rec.items()):
            if isinstance(value, float) and not math.isfinite(value):
                rec[key] = None
        rec["outcome"] = "bin" if rec.get("numeric") else ("yes" if rec["outcome"] else "no")
    return records


# --- general factor ----------------------------------------------------------------------------------

def survey_matrix(*, campaign_id: int | None = None, rows: int | None = None) -> pd.DataFrame:
    """Survey rows in the factor matrix's shape (index ``setup``; ``task, arch``, A … H with their
    ``<letter>_ci_low`` / ``<letter>_ci_high``, covariates ``cov_*``, ``source``); empty when none.

    Every campaign's finished cells count (shipped datasets and campaigns run here); a setting that
    two campaigns measured keeps the newest campaign's cells. Campaigns at the ``survey`` preset are the
    only ones that count once there is one (a ``tiny`` demo campaign's numbers are not comparable). With
    ``campaign_id`` only that campaign's rows count (its first ``rows`` rows when given): the rows a
    factor market's campaign measured.
    """
    from experiments.survey.models import SurveyCampaign, SurveyCell
    from experiments.survey.preset import SURVEY
    from experiments.survey.row import COVARIATES

    cells = SurveyCell.objects.filter(status=SurveyCell.Status.DONE, statistic__isnull=False)
    if campaign_id is not None:
        cells = cells.filter(row__campaign_id=campaign_id)
        if rows is not None:
            cells = cells.filter(row__index__lt=rows)
    elif SurveyCampaign.objects.filter(preset=SURVEY).exists():
        # One preset only: statistics of a tiny demo campaign are not comparable with the survey's.
        cells = cells.filter(row__campaign__preset=SURVEY)
    cells = (cells.select_related("row", "row__campaign")
             .order_by("-row__campaign__created_at", "row__index", "concept"))
    records: dict[str, dict] = {}
    keys: dict[int, str] = {}
    for cell in cells:
        row = cell.row
        if row.pk not in keys:
            keys[row.pk] = row.setting_key()
        key = keys[row.pk]
        campaign = row.campaign
        rec = records.setdefault(key, {"setup": key, "task": row.task, "arch": row.arch, "_campaign_id": campaign.pk,
                                       "source": f"survey {campaign.name} ({campaign.get_source_display()})",
                                       **{f"cov_{c}": (row.covariates or {}).get(c) for c in COVARIATES}})
        if rec["_campaign_id"] != campaign.pk or cell.concept in rec:
            continue  # an older campaign's cell of a setting the newest one measured
        rec[cell.concept] = cell.statistic
        rec[f"{cell.concept}_ci_low"], rec[f"{cell.concept}_ci_high"] = cell.ci_low, cell.ci_high
    columns = ["task", "arch", *CONCEPTS, *[f"{c}_ci_{e}" for c in CONCEPTS for e in ("low", "high")],
               *[f"cov_{c}" for c in COVARIATES], "source", "_campaign_id"]
    if not records:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="setup"))
    frame = pd.DataFrame.from_records(list(records.values())).set_index("setup")
    return frame.reindex(columns=columns).sort_index()


_CELL_EXTRAS = ("ci_low", "ci_high")  # per-cell fields, passed through as ``<letter>_ci_low`` / ``_ci_high``
_SUMMARY_VERSION = 2  # bump when the summary's shape changes, so no cached summary of the old shape is served


def _cells_matrix() -> pd.DataFrame:
    """Cells stored from resolved markets and ``populate_factor`` (``FactorCell``), in the matrix contract.

    Returns
    -------
    DataFrame
        Indexed by ``setup`` (the row key), with columns ``task``, ``arch``, the concept letters
        ``A`` … ``H`` (floats, higher = more path-dependent, NaN = missing), ``source`` (where the
        row's cells came from, e.g. ``"run"``, ``"suite"`` or ``"run+suite"``), and, when the stored
        cells carry them, ``<letter>_ci_low`` / ``<letter>_ci_high`` and row covariates ``cov_*``
        (final train loss, test accuracy, steps to reach it; NaN allowed). ``frame.attrs["provenance"]``
        is a dict of dataset-level provenance (source, and design hash or commit when known).
    """
    fields = {f.name for f in FactorCell._meta.get_fields()}
    cell_extras = [f for f in _CELL_EXTRAS if f in fields]
    row_extras = sorted(f for f in fields if f.startswith("cov_"))
    rows = list(FactorCell.objects.values("setup", "task", "arch", "concept", "statistic", "source",
                                          *cell_extras, *row_extras))
    if not rows:
        out = pd.DataFrame(columns=["task", "arch", *CONCEPTS, "source"], index=pd.Index([], name="setup"))
        out.attrs["provenance"] = {"source": "no cells stored"}
        return out
    frame = pd.DataFrame(rows)
    values = frame.pivot_table(index="setup", columns="concept", values="statistic", aggfunc="first")
    out = frame.groupby("setup")[["task", "arch"]].first().join(values.reindex(columns=list(CONCEPTS)))
    for extra in cell_extras:
        wide = frame.pivot_table(index="setup", columns="concept", values=extra, aggfunc="first", dropna=False)
        out = out.join(wide.reindex(columns=list(CONCEPTS)).add_suffix(f"_{extra}"))
    if row_extras:
        out = out.join(frame.groupby("setup")[row_extras].first())
    out["source"] = frame.groupby("setup")["source"].agg(lambda s: "+".join(sorted(set(s))))
    out = out.sort_index()
    out.columns.name = None
    out.index.name = "setup"
    counts = frame["source"].value_counts().sort_index()
    out.attrs["provenance"] = {"source": "stored factor cells (" + ", ".join(f"{k}: {v}" for k, v in counts.items())
                                         + ")"}
    return out


def factor_matrix() -> pd.DataFrame:
    """The general-factor matrix: survey rows, with cells of resolved markets merged by setting.

    Survey rows measure all eight concepts on one setting (``survey_matrix``); a ``FactorCell`` of the
    same setting key fills a missing cell of that row, and other settings add rows of their own. The
    contract (columns, ``source``, ``attrs["provenance"]``) is :func:`_cells_matrix`'s.
    """
    from experiments.survey.models import SurveyCampaign

    survey, cells = survey_matrix(), _cells_matrix()
    if not len(survey):
        return cells
    out = survey.combine_first(cells) if len(cells) else survey.copy()
    columns = [*survey.columns, *[c for c in cells.columns if c not in survey.columns]]
    out = out.reindex(columns=columns).sort_index()
    out.index.name = "setup"
    ids = {int(i) for i in survey["_campaign_id"].dropna()} if "_campaign_id" in survey else set()
    campaigns = list(SurveyCampaign.objects.filter(pk__in=ids).order_by("-created_at")) if ids else []
    provenance: dict = {}
    if campaigns:
        newest = campaigns[0]
        provenance = {
            "source": "; ".join(f"survey {c.name} ({c.get_source_display()})" for c in campaigns),
            "design_sha256": newest.design_sha256, "preset": newest.preset,
            **{k: v for k, v in (newest.provenance or {}).items()
               if k in ("dataset", "csv_sha256", "code_versions", "torch_versions", "devices", "exported_at")},
        }
    if len(cells):
        provenance["market_cells"] = cells.attrs.get("provenance", {}).get("source", "")
    out = out.drop(columns=["_campaign_id"], errors="ignore")
    out.attrs["provenance"] = provenance
    return out


def _records(matrix: pd.DataFrame) -> list[dict]:
    """The matrix as JSON-ready rows: ``setup`` plus every column, None for a missing cell."""
    records = []
    for setup, row in matrix.iterrows():
        rec: dict = {"setup": setup}
        for column, value in row.items():
            if isinstance(value, float | np.floating):
                rec[column] = None if not math.isfinite(value) else float(value)
            else:
                rec[column] = None if pd.isna(value) else value
        records.append(rec)
    return records


def factor_data_version(matrix: pd.DataFrame) -> str:
    """SHA-256 of the matrix content and its provenance: the key of everything derived from it."""
    text = matrix.to_csv(float_format="%.12g") + repr(sorted(matrix.attrs.get("provenance", {}).items()))
    return hashlib.sha256(text.encode()).hexdigest()


def factor_summary(*, matrix: pd.DataFrame | None = None) -> dict:
    """The general-factor analysis of a survey matrix (default: :func:`factor_matrix`), cached per data version.

    Returns
    -------
    dict
        The pooled :class:`~evaluator.factor.FactorResult` (rank transform) as a dict, which keeps the
        API fields of docs/architecture.md, "HTTP contract" (``pc1_share, pc1_ci, null_p95, loadings,
        …``), plus ``n_setups``,
        ``matrix`` (rows with None for missing cells), ``concepts``, ``statistics`` (letter → name),
        ``provenance``, ``data_version``, and the robustness report of
        :func:`evaluator.factor_robust.factor_report`: ``estimates``, ``leave_one_task_out``,
        ``correlation``, ``partial_info``, ``tasks``, ``n_cells``, ``n_missing_cells``. ``verdict`` and
        ``verdict_code`` are the combined verdict; the pooled one is ``pooled_verdict(_code)``.
    """
    matrix = factor_matrix() if matrix is None else matrix
    options = {"n_bootstrap": int(_option("FACTOR_BOOTSTRAP", 2000)), "n_null": int(_option("FACTOR_NULL", 1000)),
               "loto_bootstrap": int(_option("FACTOR_LOTO_BOOTSTRAP", 200)),
               "loto_null": int(_option("FACTOR_LOTO_NULL", 500))}
    version = factor_data_version(matrix)
    key = f"evaluator:factor:v{_SUMMARY_VERSION}:{version}:" + ":".join(str(v) for v in options.values())
    cached = cache.get(key)
    if cached is not None:
        return cached
    report = factor_report(matrix, **options)
    pooled = report.pop("pooled")
    summary = {
        **pooled, **report,
        "pooled_verdict": pooled["verdict"], "pooled_verdict_code": pooled["verdict_code"],
        "n_setups": int(matrix.shape[0]), "matrix": _records(matrix), "concepts": list(CONCEPTS),
        "statistics": {c: CONCEPT_INFO[c].statistic for c in CONCEPTS},
        "provenance": dict(matrix.attrs.get("provenance", {})), "data_version": version,
    }
    cache.set(key, summary, timeout=24 * 3600)
    return summary


def factor_export(*, matrix: pd.DataFrame | None = None) -> tuple[list[str], pd.DataFrame]:
    """The matrix for download and its provenance header, one ``# key: value`` line each.

    The header names the site's code version, the data version (:func:`factor_data_version`), the
    generation time, every dataset-level provenance entry (``source``, ``design_sha256``, …), the
    statistic behind each concept letter and how to read the file (``pandas.read_csv(f, comment="#")``).
    Each row also keeps its own ``source`` column.
    """
    from experiments.provenance import code_version  # imports torch; only the download needs it

    matrix = factor_matrix() if matrix is None else matrix
    header = [
        "pathmarket general-factor matrix: one row per setting; A-H oriented so that higher = more "
        "path-dependent; an empty cell is not measured",
        f"generated_at: {timezone.now().isoformat(timespec='seconds')}",
        f"site_code_version: {code_version()}",
        f"data_version: sha256:{factor_data_version(matrix)}",
        *(f"{key}: {value}" for key, value in sorted(matrix.attrs.get("provenance", {}).items())),
        "statistics: " + ", ".join(f"{c}={CONCEPT_INFO[c].statistic}" for c in CONCEPTS),
        "read with: pandas.read_csv(path, comment='#')",
    ]
    return [line.replace("\n", " ").replace("\r", " ") for line in header], matrix.reset_index()


# --- exports -----------------------------------------------------------------------------------------

def forecasts_frame(*, user: AbstractBaseUser | None = None) -> pd.DataFrame:
    """Every forecast (the public trade history), or one user's: one row per trade."""
    qs = Forecast.objects.all()
    if user is not None:
        qs = qs.filter(user=user)
    columns = ["forecast_id", "market_id", "market_title", "concept", "market_status", "market_outcome", "username",
               "created_at", "probability_before", "probability_after"]
    rows = list(
        qs.order_by("market_id", "created_at", "pk").values_list(
            "pk", "market_id", "market__title", "market__concept", "market__status", "market__outcome",
            "user__username", "created_at", "probability_before", "probability_after",
        )
    )
    return pd.DataFrame(rows, columns=columns)


def scores_frame(*, user: AbstractBaseUser | None = None) -> pd.DataFrame:
    """Every stored score (one row per market and forecaster, the four kinds as columns)."""
    frame = _score_frame(user=user)
    return frame.drop(columns=["user_id"])
