"""The estimated general factor of path dependence.

Rows are experiment setups (task × architecture × setting), columns are the concept statistics A–H,
each oriented so that higher means more path-dependent. If path dependence were one trait, the
columns would correlate and the first principal component (PC1) would explain far more variance
than independent columns give. With 8 columns and few rows PC1 explains ~30 % *with no factor at
all*, so every share here comes with its parallel-analysis null.

Steps (:func:`general_factor`):

1. Drop columns with fewer than 3 values or no variance, and rows with fewer than 2 values.
2. Rank-transform (average ranks) or z-score each column over its observed cells.
3. Missing cells: ``missing="impute"`` sets them to the column mean (0 after standardising);
   ``missing="pairwise"`` uses pairwise-complete correlations instead. The count is reported.
4. PCA on the correlation matrix (scikit-learn ``PCA`` on the standardised matrix) and a
   one-factor maximum-likelihood factor analysis (scikit-learn ``FactorAnalysis``).
5. Percentile bootstrap over rows for the PC1 share and loadings; each bootstrap PC1 is sign-aligned
   to the full-sample PC1 (whose loadings are oriented to sum ≥ 0).
6. Horn's parallel analysis: every column permuted independently, giving the eigenvalues that no
   factor would produce; components above the null's 95th percentile are retained.
7. How many rows a reliable estimate needs (:func:`rows_needed`) and a plain-language verdict.

The bootstrap and the null run as batched ``numpy.linalg.eigh`` over stacks of correlation
matrices (one call per block of resamples), which gives the same numbers as scikit-learn's PCA on
each resample at a fraction of the cost.

References
----------
.. [1] J. L. Horn, "A rationale and test for the number of factors in factor analysis",
       Psychometrika 30(2), 179-185, 1965.
.. [2] I. T. Jolliffe, *Principal Component Analysis*, 2nd ed., Springer, 2002.
.. [3] R. C. MacCallum, K. F. Widaman, S. Zhang and S. Hong, "Sample size in factor analysis",
       Psychological Methods 4(1), 84-99, 1999.
.. [4] J. Baik, G. Ben Arous and S. Péché, "Phase transition of the largest eigenvalue for
       nonnull complex sample covariance matrices", Annals of Probability 33(5), 2005;
       D. Paul, "Asymptotics of sample eigenstructure for a large dimensional spiked covariance
       model", Statistica Sinica 17, 2007 (the spiked-eigenvalue bias used by rows_needed).
.. [5] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall, 1993.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.preprocessing import StandardScaler

from evaluator.factor_parts import batched_corr, blocks, rows_needed, standardise, verdict
from experiments.concepts import LETTERS

__all__ = ["CONCEPTS", "FactorResult", "general_factor", "rows_needed"]

CONCEPTS: tuple[str, ...] = LETTERS
_TRANSFORMS = ("rank", "zscore")
_MISSING = ("impute", "pairwise")


@dataclass(frozen=True)
class FactorResult:
    """Outcome of :func:`general_factor`. Figures are None when there is too little data.

    Attributes
    ----------
    n_rows, n_cols : int
        Setups and concept columns that entered the analysis.
    columns : list of str
        Their labels.
    n_missing : int
        Missing cells among them (imputed, or skipped pairwise).
    dropped_columns : list of str
        Columns left out (fewer than 3 values or constant).
    dropped_rows : int
        Rows left out (fewer than 2 values in the kept columns).
    eigenvalues, explained_share : list of float
        Of the correlation matrix, descending; shares sum to 1.
    pc1_share : float
        Share of variance on PC1.
    pc1_ci : [float, float]
        Its percentile bootstrap interval.
    loadings, loadings_ci : dict
        PC1 loadings (correlation of each column with PC1) and their bootstrap intervals.
    fa_loadings, fa_uniqueness : dict
        One-factor maximum-likelihood factor analysis, sign-aligned with PC1.
    null_share_mean, null_p95 : float
        Mean and 95th percentile of the PC1 share under the parallel-analysis null.
    null_eigen_p95 : list of float
        95th percentile of each ranked eigenvalue under the null.
    n_factors_retained : int
        Leading components whose eigenvalue beats the null's 95th percentile.
    rows_needed : int
        Rows for a reliable estimate (see :func:`rows_needed`).
    verdict_code : {"insufficient_data", "no_evidence", "suggestive", "contrast", "general_factor"}
    verdict : str
        One or two plain sentences.
    """

    n_rows: int
    n_cols: int
    columns: list[str]
    n_missing: int
    dropped_columns: list[str]
    dropped_rows: int
    transform: str
    missing: str
    confidence: float
    n_bootstrap: int
    n_null: int
    rows_needed: int
    verdict_code: str
    verdict: str
    eigenvalues: list[float] = field(default_factory=list)
    explained_share: list[float] = field(default_factory=list)
    pc1_share: float | None = None
    pc1_ci: list[float] | None = None
    loadings: dict[str, float] = field(default_factory=dict)
    loadings_ci: dict[str, list[float]] = field(default_factory=dict)
    fa_loadings: dict[str, float] = field(default_factory=dict)
    fa_uniqueness: dict[str, float] = field(default_factory=dict)
    null_share_mean: float | None = None
    null_p95: float | None = None
    null_eigen_p95: list[float] = field(default_factory=list)
    n_factors_retained: int | None = None
    loading_products: dict[str, list[float]] = field(default_factory=dict)

    def loading_product(self, a: str, b: str) -> list[float] | None:
        """``[l_a·l_b, ci_low, ci_high]`` (sign-invariant: > 0 when the two load with the same sign)."""
        return self.loading_products.get("".join(sorted((a, b))))

    def to_dict(self) -> dict:
        return asdict(self)


def _as_frame(matrix: ArrayLike | pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    if isinstance(matrix, pd.DataFrame):
        frame = matrix.copy()
        if columns is not None:
            frame.columns = columns
    else:
        arr = np.asarray(matrix, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"matrix must be 2-D (setups × concepts); got shape {arr.shape}.")
        cols = list(columns) if columns is not None else list(CONCEPTS[: arr.shape[1]]) if arr.shape[1] <= 8 else [
            f"c{i}" for i in range(arr.shape[1])
        ]
        if len(cols) != arr.shape[1]:
            raise ValueError(f"columns has {len(cols)} labels for {arr.shape[1]} columns.")
        frame = pd.DataFrame(arr, columns=cols)
    try:
        frame = frame.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("matrix must hold numbers (NaN for a missing cell).") from exc
    if np.isinf(frame.to_numpy()).any():
        raise ValueError("matrix holds infinite values; use NaN for missing cells.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _insufficient(frame: pd.DataFrame, *, cols: list[str], n_rows: int, options: dict, **counts: object) -> FactorResult:
    """The result when fewer than 3 rows or 2 columns are usable: counts and a verdict, no figures."""
    need = rows_needed(n_rows=n_rows, n_cols=max(len(frame.columns), 1))
    total = frame.shape[0]
    first = "A first estimate needs at least 3 setups that each have two or more measured concept statistics"
    if total == 0:
        text = f"No setups measured yet. {first}; a reliable one needs about {need}."
    else:
        text = (
            f"Not enough data yet: {total} setup{'s' if total != 1 else ''} measured, {n_rows} with two or more usable "
            f"concept statistics. {first} (and 2 concepts measured on 3 or more setups); a reliable one needs about "
            f"{need}."
        )
    return FactorResult(n_rows=n_rows, n_cols=len(cols), columns=cols, rows_needed=need, verdict_code="insufficient_data",
                        verdict=text, **counts, **options)


def general_factor(
    matrix: ArrayLike | pd.DataFrame,
    *,
    columns: list[str] | None = None,
    transform: str = "rank",
    missing: str = "impute",
    n_bootstrap: int = 2000,
    n_null: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
) -> FactorResult:
    """Estimate a general factor of path dependence from a setups × concepts matrix.

    Parameters
    ----------
    matrix : array-like or DataFrame of shape (n_setups, n_concepts)
        Concept statistics, higher = more path-dependent; NaN marks a missing cell.
    columns : list of str, optional
        Column labels (default: the DataFrame's columns, or A, B, C, …).
    transform : {"rank", "zscore"}, default="rank"
        Per-column transform before correlating (ranks make the analysis robust to the very
        different scales of the concept statistics).
    missing : {"impute", "pairwise"}, default="impute"
        Column-mean imputation or pairwise-complete correlations.
    n_bootstrap : int, default=2000
        Bootstrap resamples over rows (≥ 1; use ≥ 1,000 for reported figures).
    n_null : int, default=1000
        Column permutations for the parallel-analysis null.
    confidence : float, default=0.95
        Level of the bootstrap intervals.
    random_state : int, default=0
        Seed of the bootstrap, the permutations and the factor analysis.

    Returns
    -------
    FactorResult

    Raises
    ------
    ValueError
        On a matrix that is not 2-D numeric, infinite values, or invalid options.
    """
    if transform not in _TRANSFORMS:
        raise ValueError(f"transform must be one of {_TRANSFORMS}; got {transform!r}.")
    if missing not in _MISSING:
        raise ValueError(f"missing must be one of {_MISSING}; got {missing!r}.")
    for name, value in (("n_bootstrap", n_bootstrap), ("n_null", n_null)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}.")
    frame = _as_frame(matrix, columns)

    counts = frame.notna().sum()
    spread = frame.std(ddof=0).fillna(0.0)
    keep_cols = [c for c in frame.columns if counts[c] >= 3 and spread[c] > 0]
    dropped = [c for c in frame.columns if c not in keep_cols]
    sub = frame[keep_cols]
    row_ok = sub.notna().sum(axis=1) >= 2 if keep_cols else pd.Series(False, index=frame.index)
    sub = sub[row_ok]
    n, p = sub.shape
    n_missing = int(sub.isna().to_numpy().sum())
    options = {"transform": transform, "missing": missing, "confidence": confidence, "n_bootstrap": int(n_bootstrap),
               "n_null": int(n_null)}
    if n < 3 or p < 2:
        return _insufficient(frame, cols=keep_cols, n_rows=int(n), options=options, dropped_columns=dropped,
                             dropped_rows=int((~row_ok).sum()), n_missing=n_missing)
    # Recheck after dropping rows: a column may have become constant or too sparse.
    sub_counts, sub_spread = sub.notna().sum(), sub.std(ddof=0).fillna(0.0)
    if ((sub_counts < 3) | (sub_spread <= 0)).any():
        bad = [c for c in keep_cols if sub_counts[c] < 3 or sub_spread[c] <= 0]
        reduced = frame.drop(columns=bad)
        result = general_factor(reduced, transform=transform, missing=missing, n_bootstrap=n_bootstrap,
                                n_null=n_null, confidence=confidence, random_state=random_state)
        return FactorResult(**{**result.to_dict(), "dropped_columns": sorted(set(result.dropped_columns) | set(bad))})

    z = standardise(sub, transform)
    observed = ~np.isnan(z)
    z0 = np.where(observed, z, 0.0)  # column mean after standardising
    if missing == "impute":
        mask = np.ones_like(z0)
    else:
        mask = observed.astype(np.float64)
    rng = np.random.default_rng(random_state)

    # Full sample: scikit-learn PCA on the standardised (imputed) matrix = PCA on its correlations.
    corr = batched_corr(z0, mask)
    if missing == "impute":
        scaled = StandardScaler().fit_transform(z0)
        # with n ≤ p rows the correlation matrix has rank < p: the missing eigenvalues are 0
        pca = PCA(n_components=min(p, n), svd_solver="full").fit(scaled)
        share = np.pad(pca.explained_variance_ratio_, (0, p - pca.n_components_))
        eigvals = share * p
        v1 = pca.components_[0].copy()
    else:
        eigvals_asc, vecs = np.linalg.eigh(corr)
        eigvals = eigvals_asc[::-1]
        share = eigvals / p
        v1 = vecs[:, -1].copy()
    if v1.sum() < 0:
        v1 = -v1
    loadings = v1 * math.sqrt(max(eigvals[0], 0.0))

    # Bootstrap over rows, each PC1 sign-aligned to the full-sample PC1.
    boot_share = np.empty(n_bootstrap)
    boot_load = np.empty((n_bootstrap, p))
    for a, b in blocks(int(n_bootstrap), n * p):
        idx = rng.integers(0, n, size=(b - a, n))
        vals, vecs = np.linalg.eigh(batched_corr(z0[idx], mask[idx]))
        top = vecs[..., -1]
        sign = np.where(top @ v1 < 0, -1.0, 1.0)[:, None]
        boot_share[a:b] = vals[:, -1] / p
        boot_load[a:b] = top * sign * np.sqrt(np.clip(vals[:, -1:], 0, None))
    alpha = (1 - confidence) / 2
    share_ci = np.quantile(boot_share, [alpha, 1 - alpha])
    load_ci = np.quantile(boot_load, [alpha, 1 - alpha], axis=0)

    # Horn's parallel analysis: each column permuted independently (its missing cells travel with it).
    null_eig = np.empty((n_null, p))
    for a, b in blocks(int(n_null), n * p):
        perm = np.argsort(rng.random((b - a, n, p)), axis=1)
        xp = np.take_along_axis(np.broadcast_to(z0, (b - a, n, p)), perm, axis=1)
        mp = np.take_along_axis(np.broadcast_to(mask, (b - a, n, p)), perm, axis=1)
        null_eig[a:b] = np.linalg.eigvalsh(batched_corr(xp, mp))[:, ::-1]
    null_eig_p95 = np.quantile(null_eig, 0.95, axis=0)
    null_share = null_eig[:, 0] / p
    beats = eigvals > null_eig_p95
    retained = int(p if beats.all() else np.argmin(beats))

    fa = FactorAnalysis(n_components=1, random_state=random_state).fit(StandardScaler().fit_transform(z0))
    fa_load = fa.components_[0]
    if fa_load @ v1 < 0:
        fa_load = -fa_load

    need = rows_needed(
        n_rows=n, n_cols=p, pc1_eigenvalue=float(eigvals[0]),
        pc1_ci_halfwidth=float(share_ci[1] - share_ci[0]) / 2,
    )
    cols = list(sub.columns)
    code, text = verdict(
        n=n, p=p, share=float(share[0]), ci=share_ci, null_p95=float(np.quantile(null_share, 0.95)),
        load_ci=load_ci, need=need, confidence=confidence,
    )
    return FactorResult(
        n_rows=int(n), n_cols=int(p), columns=cols, n_missing=n_missing, dropped_columns=dropped,
        dropped_rows=int((~row_ok).sum()), transform=transform, missing=missing, confidence=confidence,
        n_bootstrap=int(n_bootstrap), n_null=int(n_null), rows_needed=need, verdict_code=code, verdict=text,
        eigenvalues=[float(x) for x in eigvals], explained_share=[float(x) for x in share],
        pc1_share=float(share[0]), pc1_ci=[float(x) for x in share_ci],
        loadings={c: float(x) for c, x in zip(cols, loadings)},
        loadings_ci={c: [float(load_ci[0, j]), float(load_ci[1, j])] for j, c in enumerate(cols)},
        fa_loadings={c: float(x) for c, x in zip(cols, fa_load)},
        fa_uniqueness={c: float(x) for c, x in zip(cols, fa.noise_variance_)},
        null_share_mean=float(null_share.mean()), null_p95=float(np.quantile(null_share, 0.95)),
        null_eigen_p95=[float(x) for x in null_eig_p95], n_factors_retained=retained,
        loading_products=_products(cols, loadings, boot_load, alpha),
    )


def _products(cols: list[str], loadings: NDArray, boot_load: NDArray, alpha: float) -> dict[str, list[float]]:
    """Per pair of columns: the product of their PC1 loadings with its percentile bootstrap interval.

    Each resample's PC1 is sign-aligned to the full sample's, and a product does not change when both
    signs flip, so the interval says whether two concepts load with the same sign whatever PC1's sign.
    """
    out: dict[str, list[float]] = {}
    for i, a in enumerate(cols):
        for j in range(i + 1, len(cols)):
            b = cols[j]
            prod = boot_load[:, i] * boot_load[:, j]
            lo, hi = np.quantile(prod, [alpha, 1 - alpha])
            out["".join(sorted((a, b)))] = [float(loadings[i] * loadings[j]), float(lo), float(hi)]
    return out
