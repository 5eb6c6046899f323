"""Is the general factor a factor of path dependence? Robustness checks around :func:`general_factor`.

A PC1 above the parallel-analysis null says the eight concept statistics co-vary across survey rows.
It does not yet say *why*. Two explanations would make that co-variation useless as a general factor
of path dependence, and this module tests both:

* **Task differences.** If every statistic is simply higher on one task than on another, PC1
  separates tasks. :func:`centre_within` subtracts each task's mean from each (transformed)
  statistic, so only variation *within* a task is left (the within-group or "fixed effects"
  estimator of panel econometrics [1]_; the pooled correlation mixes between- and within-group
  covariance [2]_).
* **Training progress.** An under-trained setting can look path-dependent on several concepts at
  once. :func:`partial_out` regresses each statistic on the recorded covariates (final train loss,
  test accuracy, steps to reach it) and keeps the residuals: the partial correlation of the
  statistics given the covariates [3]_, rank-based (partial Spearman) by default.

Each reduced matrix goes through the same :func:`evaluator.factor.general_factor` (bootstrap and
Horn's parallel analysis), so each estimate is set against its own null. :func:`leave_one_group_out`
re-estimates PC1's share with each task left out, and :func:`factor_report` runs everything and ends
with a verdict that names the weakest check (:func:`combined_verdict`).

References
----------
.. [1] J. M. Wooldridge, *Econometric Analysis of Cross Section and Panel Data*, 2nd ed., MIT Press,
       2010, §10.5 (the within transformation).
.. [2] W. S. Robinson, "Ecological correlations and the behavior of individuals", American
       Sociological Review 15(3), 351-357, 1950.
.. [3] K. Baba, R. Shibata and M. Sibuya, "Partial correlation and conditional correlation as
       measures of conditional independence", Australian & New Zealand Journal of Statistics 46(4),
       657-664, 2004.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from evaluator.factor import FactorResult, general_factor
from evaluator.factor_parts import batched_corr, standardise
from experiments.concepts import LETTERS

__all__ = ["COVARIATES", "VERDICT_CODES", "centre_within", "combined_verdict", "correlation_matrix", "factor_report",
           "leave_one_group_out", "partial_out"]

COVARIATES: tuple[str, ...] = ("cov_final_train_loss", "cov_test_accuracy", "cov_steps_to_target")
VERDICT_CODES: tuple[str, ...] = ("insufficient_data", "no_evidence", "contrast", "task_only", "convergence_only",
                                  "suggestive", "general_factor")
_TRANSFORMS = ("rank", "zscore")


def _numeric(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}.")
    try:
        out = frame.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers (NaN for a missing cell).") from exc
    if np.isinf(out.to_numpy()).any():
        raise ValueError(f"{name} holds infinite values; use NaN for missing cells.")
    return out


def _groups(groups: ArrayLike, n: int) -> np.ndarray:
    labels = pd.Series(np.asarray(groups, dtype=object))
    if labels.size != n:
        raise ValueError(f"groups has {labels.size} labels for {n} rows.")
    if labels.isna().any():
        raise ValueError("groups has a missing label; every row needs its task.")
    return labels.astype(str).to_numpy()


def _transform(frame: pd.DataFrame, transform: str) -> np.ndarray:
    """Rank or z-score each column over its observed cells (NaN kept; constant or empty columns → NaN)."""
    if transform not in _TRANSFORMS:
        raise ValueError(f"transform must be one of {_TRANSFORMS}; got {transform!r}.")
    spread = frame.std(ddof=0).fillna(0.0)
    ok = (frame.notna().sum() >= 2) & (spread > 0)
    out = np.full(frame.shape, np.nan)
    if ok.any():
        out[:, ok.to_numpy()] = standardise(frame.loc[:, ok], transform)
    return out


def centre_within(frame: pd.DataFrame, groups: ArrayLike, *, transform: str = "rank") -> pd.DataFrame:
    """Transform each statistic over all rows, then subtract each group's mean from it.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_stats)
        Statistics, NaN for a missing cell.
    groups : array-like of shape (n_rows,)
        The group (task) of each row.
    transform : {"rank", "zscore"}, default="rank"
        Applied to each column over all rows before centring.

    Returns
    -------
    DataFrame of shape (n_rows, n_stats)
        Within-group deviations. A cell whose group has fewer than two observed values in that
        column carries no within-group information and becomes NaN.
    """
    values = _numeric(frame, "frame")
    labels = _groups(groups, values.shape[0])
    z = pd.DataFrame(_transform(values, transform), index=values.index, columns=values.columns)
    by = z.groupby(labels)
    centred = z - by.transform("mean")
    return centred.where(by.transform("count") >= 2)


def partial_out(
    frame: pd.DataFrame, covariates: pd.DataFrame, *, transform: str = "rank"
) -> tuple[pd.DataFrame, dict]:
    """Residuals of each statistic after a least-squares regression on the covariates.

    Statistics and covariates are first transformed (ranks give partial Spearman correlations,
    z-scores partial Pearson ones). A missing covariate cell is set to its column's mean (0 after
    the transform) and counted; covariate columns with fewer than 3 values or no variance are left
    out. Each statistic is regressed on its own observed rows, all columns at once through the
    batched normal equations ``(XᵀW_jX) β_j = XᵀW_j y_j`` with ``W_j`` the observed-row mask.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_stats)
        Statistics, NaN for a missing cell.
    covariates : DataFrame of shape (n_rows, n_cov)
        Covariates on the same rows (same index order), NaN allowed.
    transform : {"rank", "zscore"}, default="rank"

    Returns
    -------
    residuals : DataFrame of shape (n_rows, n_stats)
        NaN where the statistic is missing.
    info : dict
        ``covariates`` (used), ``dropped`` (left out), ``n_imputed`` (covariate cells filled) and
        ``r2`` (per statistic, the share of its transformed variance the covariates explain).
    """
    values = _numeric(frame, "frame")
    cov = _numeric(covariates, "covariates")
    if cov.shape[0] != values.shape[0]:
        raise ValueError(f"covariates has {cov.shape[0]} rows for {values.shape[0]} statistic rows.")
    usable = [c for c in cov.columns if cov[c].notna().sum() >= 3 and cov[c].std(ddof=0) > 0]
    dropped = [str(c) for c in cov.columns if c not in usable]
    y = _transform(values, transform)
    observed = ~np.isnan(y)
    info = {"covariates": [str(c) for c in usable], "dropped": dropped, "n_imputed": 0,
            "r2": {str(c): None for c in values.columns}}
    if not usable:
        return pd.DataFrame(y, index=values.index, columns=values.columns), info
    c = _transform(cov[usable], transform)
    info["n_imputed"] = int(np.isnan(c).sum())
    x = np.column_stack([np.ones(len(c)), np.nan_to_num(c, nan=0.0)])  # (n, q)
    w = observed.astype(np.float64)  # (n, p)
    y0 = np.where(observed, y, 0.0)
    xtwx = np.einsum("nj,ni,nk->jik", w, x, x)  # (p, q, q)
    xtwy = np.einsum("nj,ni,nj->ji", w, x, y0)  # (p, q)
    beta = np.einsum("jik,jk->ji", np.linalg.pinv(xtwx), xtwy)  # pinv: a column seen on few rows stays finite
    resid = np.where(observed, y0 - x @ beta.T, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_obs = observed.sum(axis=0)
        mean = np.nansum(y, axis=0) / np.maximum(n_obs, 1)
        total = np.nansum((y - mean) ** 2, axis=0)
        r2 = 1.0 - np.nansum(resid**2, axis=0) / total
    info["r2"] = {str(col): (float(v) if np.isfinite(v) and n_obs[j] > len(usable) + 1 else None)
                  for j, (col, v) in enumerate(zip(values.columns, r2))}
    return pd.DataFrame(resid, index=values.index, columns=values.columns), info


def correlation_matrix(frame: pd.DataFrame, *, transform: str = "rank") -> dict:
    """Pairwise-complete correlations of the statistics, on the transform the factor analysis uses.

    With ``"rank"`` each column is ranked over its own observed cells and the ranks are correlated
    over the rows both columns observe (Spearman's rho when nothing is missing); with ``"zscore"``
    it is Pearson's r over those rows.

    Returns
    -------
    dict
        ``columns``, ``matrix`` (list of rows, None where a pair has fewer than 3 common rows or a
        column has no variance) and ``n_pairs`` (common rows per pair).
    """
    values = _numeric(frame, "frame")
    z = _transform(values, transform)
    observed = ~np.isnan(z)
    mask = observed.astype(np.float64)
    corr = batched_corr(np.where(observed, z, 0.0), mask)
    pairs = (mask.T @ mask).astype(int)
    valid = (pairs >= 3) & observed.any(axis=0)[:, None] & observed.any(axis=0)[None, :]
    return {
        "columns": [str(c) for c in values.columns],
        "matrix": [[float(corr[i, j]) if valid[i, j] else None for j in range(z.shape[1])] for i in range(z.shape[1])],
        "n_pairs": pairs.tolist(),
    }


def leave_one_group_out(frame: pd.DataFrame, groups: ArrayLike, **options: object) -> list[dict]:
    """PC1's share and its null with each group (task) left out in turn.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_stats)
    groups : array-like of shape (n_rows,)
    **options
        Passed to :func:`general_factor` (``transform``, ``n_bootstrap``, ``n_null``, …).

    Returns
    -------
    list of dict
        One per group, sorted by label: ``left_out``, ``n_left_out``, ``n_rows`` (used),
        ``pc1_share``, ``null_p95``, ``above_null`` (None when too few rows remain).
    """
    values = _numeric(frame, "frame")
    labels = _groups(groups, values.shape[0])
    out = []
    for label in sorted(set(labels)):
        keep = labels != label
        result = general_factor(values[keep], **options)
        share, null = result.pc1_share, result.null_p95
        out.append({"left_out": label, "n_left_out": int((~keep).sum()), "n_rows": result.n_rows,
                    "pc1_share": share, "null_p95": null,
                    "above_null": None if share is None else bool(share > null)})
    return out


def _estimate(result: FactorResult | None, *, label: str, reason: str = "") -> dict:
    """The figures of one estimate that the page and the API show side by side."""
    if result is None or result.pc1_share is None:
        return {"label": label, "available": False, "reason": reason or (result.verdict if result else ""),
                "n_rows": result.n_rows if result else 0}
    return {
        "label": label, "available": True, "reason": "", "n_rows": result.n_rows, "n_cols": result.n_cols,
        "transform": result.transform, "pc1_share": result.pc1_share, "pc1_ci": result.pc1_ci,
        "null_p95": result.null_p95, "null_share_mean": result.null_share_mean,
        "above_null": bool(result.pc1_share > result.null_p95),
        "ci_above_null": bool(result.pc1_ci[0] > result.null_p95),
        "n_factors_retained": result.n_factors_retained, "loadings": result.loadings,
        "loadings_ci": result.loadings_ci, "fa_loadings": result.fa_loadings, "eigenvalues": result.eigenvalues,
        "null_eigen_p95": result.null_eigen_p95, "verdict_code": result.verdict_code,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def combined_verdict(*, pooled: FactorResult, estimates: dict[str, dict], loto: list[dict]) -> tuple[str, str]:
    """One plain verdict from all the estimates; it states the weakest link and never upgrades the pooled one.

    Codes: ``insufficient_data``, ``no_evidence``, ``contrast`` (the pooled verdict stands),
    ``task_only`` (above the null pooled, not within tasks), ``convergence_only`` (above the null
    pooled, not once training progress is partialled out), ``suggestive``, ``general_factor``.
    """
    if pooled.verdict_code in ("insufficient_data", "no_evidence", "contrast"):
        return pooled.verdict_code, pooled.verdict
    head = (f"Across all {pooled.n_rows} rows PC1 explains {_pct(pooled.pc1_share)} of the variance, above the "
            f"{_pct(pooled.null_p95)} that independent columns reach 95% of the time.")
    within, partial, zscore = estimates["within_task"], estimates["partialled"], estimates["pooled_z"]
    fails = []
    if within["available"] and not within["above_null"]:
        fails.append(("task_only", f"Once each statistic is centred per task, PC1 explains {_pct(within['pc1_share'])}, "
                      f"within the null ({_pct(within['null_p95'])}): the shared variation mostly tells tasks apart."))
    if partial["available"] and not partial["above_null"]:
        fails.append(("convergence_only", f"Once training progress is partialled out, PC1 explains "
                      f"{_pct(partial['pc1_share'])}, within the null ({_pct(partial['null_p95'])}): the shared "
                      "variation is explained by how far training got."))
    if fails:
        return fails[0][0], " ".join([head, *(text for _, text in fails),
                                      "This is not evidence of a general factor of path dependence."])
    notes = []
    if not within["available"]:
        notes.append(f"a within-task estimate was not possible ({within['reason']})")
    if not partial["available"]:
        notes.append(f"training progress was not partialled out ({partial['reason']}), so a factor that is only "
                     "convergence is not excluded")
    weak_loto = [r["left_out"] for r in loto if r["above_null"] is False]
    if weak_loto:
        notes.append(f"leaving out {', '.join(weak_loto)} drops PC1 to within the null")
    if zscore["available"] and not zscore["above_null"]:
        notes.append("with z-scores instead of ranks PC1 is within the null")
    if pooled.verdict_code == "general_factor" and not notes and within["ci_above_null"] and partial["ci_above_null"]:
        return "general_factor", (
            f"{head} It stays above its null within tasks ({_pct(within['pc1_share'])} vs {_pct(within['null_p95'])}) "
            f"and with training progress partialled out ({_pct(partial['pc1_share'])} vs "
            f"{_pct(partial['null_p95'])}), and leaving out any one task. This is evidence of a general factor "
            "of path dependence on these settings.")
    text = head
    if within["available"]:
        text += f" Within tasks: {_pct(within['pc1_share'])} (null {_pct(within['null_p95'])})."
    if partial["available"]:
        text += f" With training progress partialled out: {_pct(partial['pc1_share'])} (null {_pct(partial['null_p95'])})."
    if notes:
        text += " But " + "; ".join(notes) + "."
    if pooled.verdict_code != "general_factor":
        lo, hi = pooled.pc1_ci
        text += (f" The pooled estimate is not yet precise enough: its CI spans {_pct(lo)}–{_pct(hi)}, and an "
                 f"estimate within ±5 points needs about {pooled.rows_needed} rows.")
    return "suggestive", text + " Suggestive, not yet established."


def factor_report(
    matrix: pd.DataFrame,
    *,
    n_bootstrap: int = 2000,
    n_null: int = 1000,
    loto_bootstrap: int = 200,
    loto_null: int = 500,
    random_state: int = 0,
) -> dict:
    """The pooled estimate and every robustness check on a survey matrix.

    Parameters
    ----------
    matrix : DataFrame
        One row per setting with ``task`` and the concept letters ``A`` … ``H`` (higher = more
        path-dependent, NaN = missing) and, optionally, the covariates in :data:`COVARIATES`.
    n_bootstrap, n_null : int
        Resamples and permutations of each full estimate.
    loto_bootstrap, loto_null : int
        The same for each leave-one-task-out estimate (only its share and null are shown).
    random_state : int, default=0

    Returns
    -------
    dict
        ``pooled`` (the :class:`FactorResult` of the rank transform, as a dict), ``estimates``
        (``pooled_rank``, ``pooled_z``, ``within_task``, ``partialled``; see ``_estimate``),
        ``leave_one_task_out``, ``correlation``, ``partial_info``, ``tasks`` (rows per task),
        ``n_cells``, ``n_missing_cells`` and the combined ``verdict_code`` and ``verdict``.
    """
    if not isinstance(matrix, pd.DataFrame):
        raise ValueError(f"matrix must be a pandas DataFrame; got {type(matrix).__name__}.")
    missing_cols = [c for c in ("task", *LETTERS) if c not in matrix.columns]
    if missing_cols:
        raise ValueError(f"matrix lacks the column(s) {', '.join(missing_cols)}.")
    stats = _numeric(matrix[list(LETTERS)], "matrix")
    tasks = _groups(matrix["task"].fillna("?"), len(matrix))
    options = {"n_bootstrap": n_bootstrap, "n_null": n_null, "random_state": random_state}
    pooled = general_factor(stats, transform="rank", **options)
    estimates = {
        "pooled_rank": _estimate(pooled, label="all rows, ranks"),
        "pooled_z": _estimate(general_factor(stats, transform="zscore", **options), label="all rows, z-scores"),
    }
    n_tasks = len(set(tasks))
    if n_tasks < 2:
        estimates["within_task"] = _estimate(None, label="within tasks",
                                             reason="only one task measured" if n_tasks else "no rows yet")
    else:
        within = centre_within(stats, tasks)
        estimates["within_task"] = _estimate(general_factor(within, transform="zscore", **options),
                                             label="within tasks")
    covs = [c for c in COVARIATES if c in matrix.columns and matrix[c].notna().sum() >= 3]
    partial_info: dict = {"covariates": [], "dropped": [], "n_imputed": 0, "r2": {}}
    if covs:
        resid, partial_info = partial_out(stats, matrix[covs], transform="rank")
    if partial_info["covariates"]:
        estimates["partialled"] = _estimate(general_factor(resid, transform="zscore", **options),
                                            label="training progress partialled out")
    else:
        estimates["partialled"] = _estimate(None, label="training progress partialled out",
                                            reason="no covariates recorded on 3 or more rows")
    loto = (leave_one_group_out(stats, tasks, transform="rank", n_bootstrap=loto_bootstrap, n_null=loto_null,
                                random_state=random_state) if n_tasks >= 2 and pooled.pc1_share is not None else [])
    code, text = combined_verdict(pooled=pooled, estimates=estimates, loto=loto)
    return {
        "pooled": pooled.to_dict(), "estimates": estimates, "leave_one_task_out": loto,
        "correlation": correlation_matrix(stats), "partial_info": partial_info,
        "tasks": {str(k): int(v) for k, v in pd.Series(tasks).value_counts().sort_index().items()},
        "n_cells": int(stats.size), "n_missing_cells": int(stats.isna().to_numpy().sum()),
        "verdict_code": code, "verdict": text,
    }
