"""Building blocks of :mod:`evaluator.factor`: column standardisation, batched pairwise-complete
correlations, the rows-needed rule and the plain-language verdict.

References
----------
.. [1] R. C. MacCallum, K. F. Widaman, S. Zhang and S. Hong, "Sample size in factor analysis",
       Psychological Methods 4(1), 84-99, 1999.
.. [2] J. Baik, G. Ben Arous and S. Péché, "Phase transition of the largest eigenvalue for
       nonnull complex sample covariance matrices", Annals of Probability 33(5), 2005;
       D. Paul, "Asymptotics of sample eigenstructure for a large dimensional spiked covariance
       model", Statistica Sinica 17, 2007.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = ["batched_corr", "blocks", "rows_needed", "standardise", "verdict"]

_CELLS_PER_BLOCK = 2_000_000  # bound on resamples × rows × columns held at once


def rows_needed(
    *,
    n_rows: int,
    n_cols: int,
    pc1_eigenvalue: float | None = None,
    pc1_ci_halfwidth: float | None = None,
    target_halfwidth: float = 0.05,
    rows_per_column: int = 5,
) -> int:
    """Rows a reliable PC1 estimate needs: the largest of three requirements.

    1. A floor of ``max(20, rows_per_column · n_cols)`` rows [1]_.
    2. Precision: the bootstrap half-width of the PC1 share shrinks like ``1/√n``, so reaching
       ``target_halfwidth`` needs ``n · (halfwidth / target)²`` rows.
    3. Detectability: a population eigenvalue ``ℓ`` separates from the noise bulk only when
       ``ℓ > 1 + √(p/n)`` (the BBP transition [2]_). ``ℓ`` is estimated from the sample eigenvalue
       ``λ`` by inverting ``λ = ℓ + (p/n)·ℓ/(ℓ − 1)`` [2]_; asking for twice the margin,
       ``ℓ ≥ 1 + 2√(p/n)``, gives ``n ≥ 4p / (ℓ − 1)²``. When ``λ`` lies inside the noise bulk
       ``(1 + √(p/n))²`` there is no spike to detect and this term is skipped.

    Parameters
    ----------
    n_rows, n_cols : int
        Current rows (≥ 0) and columns (≥ 1).
    pc1_eigenvalue : float, optional
        Largest eigenvalue of the correlation matrix.
    pc1_ci_halfwidth : float, optional
        Half the width of the bootstrap interval of the PC1 share.
    target_halfwidth : float, default=0.05
    rows_per_column : int, default=5

    Returns
    -------
    int
    """
    if n_rows < 0 or n_cols < 1:
        raise ValueError(f"need n_rows >= 0 and n_cols >= 1; got {n_rows} and {n_cols}.")
    if target_halfwidth <= 0:
        raise ValueError(f"target_halfwidth must be positive; got {target_halfwidth}.")
    need = max(20, rows_per_column * n_cols)
    if n_rows > 0 and pc1_ci_halfwidth is not None and np.isfinite(pc1_ci_halfwidth):
        need = max(need, math.ceil(n_rows * (pc1_ci_halfwidth / target_halfwidth) ** 2))
    if n_rows > 0 and pc1_eigenvalue is not None and np.isfinite(pc1_eigenvalue):
        gamma = n_cols / n_rows
        lam = float(pc1_eigenvalue)
        if lam > (1 + math.sqrt(gamma)) ** 2:
            b = lam + 1 - gamma
            spike = (b + math.sqrt(max(b * b - 4 * lam, 0.0))) / 2
            need = max(need, math.ceil(4 * n_cols / (spike - 1) ** 2))
    return int(need)


def standardise(frame: pd.DataFrame, transform: str) -> NDArray[np.float64]:
    """Rank or z-score each column over its observed cells, then scale to mean 0, sd 1 (NaN kept)."""
    out = np.full(frame.shape, np.nan)
    for j, name in enumerate(frame.columns):  # a handful of columns, not forecasts
        col = frame[name].to_numpy()
        obs = ~np.isnan(col)
        x = stats.rankdata(col[obs]) if transform == "rank" else col[obs]
        out[obs, j] = (x - x.mean()) / x.std()
    return out


def batched_corr(x: NDArray[np.float64], mask: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pairwise-complete Pearson correlations of stacks of matrices.

    ``x`` and ``mask`` have shape (..., n, p); ``x`` is 0 where ``mask`` is 0. Pairs with fewer than
    3 common rows or no variance get correlation 0.  Returns shape (..., p, p) with unit diagonal.
    """
    n = np.einsum("...ri,...rj->...ij", mask, mask)
    sx = np.einsum("...ri,...rj->...ij", x, mask)  # Σ x_i over rows where i and j are observed
    sxx = np.einsum("...ri,...rj->...ij", x * x, mask)
    sxy = np.einsum("...ri,...rj->...ij", x, x)
    safe_n = np.maximum(n, 1.0)
    sx_t = np.swapaxes(sx, -1, -2)
    cov = sxy - sx * sx_t / safe_n
    var_i = sxx - sx**2 / safe_n
    var_j = np.swapaxes(var_i, -1, -2)
    denom = np.sqrt(np.clip(var_i, 0, None) * np.clip(var_j, 0, None))
    ok = (n >= 3) & (denom > 1e-12 * np.maximum(n, 1.0))
    corr = np.where(ok, cov / np.where(ok, denom, 1.0), 0.0)
    corr = np.clip(corr, -1.0, 1.0)
    p = x.shape[-1]
    corr[..., np.arange(p), np.arange(p)] = 1.0
    return corr


def blocks(total: int, per_item: int) -> list[tuple[int, int]]:
    size = max(1, _CELLS_PER_BLOCK // max(per_item, 1))
    return [(a, min(total, a + size)) for a in range(0, total, size)]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def verdict(*, n: int, p: int, share: float, ci: NDArray, null_p95: float, load_ci: NDArray, need: int,
             confidence: float) -> tuple[str, str]:
    more = max(need - n, 0)
    tail = f" A reliable estimate needs about {more} more setup{'s' if more != 1 else ''} ({need} in all)." if more else ""
    level = f"{100 * confidence:.0f}%"
    if share <= null_p95:
        return "no_evidence", (
            f"No evidence of a general factor yet: PC1 explains {_pct(share)} of the variance across {n} setups, "
            f"no more than independent columns reach 5% of the time ({_pct(null_p95)})." + tail
        )
    if (load_ci[1] < 0).any():
        return "contrast", (
            f"PC1 explains {_pct(share)} of the variance (null 95th percentile {_pct(null_p95)}), but some concepts "
            "load on it with the opposite sign: it is a contrast between concepts, not a general factor." + tail
        )
    positive = int((load_ci[0] > 0).sum())
    if ci[0] > null_p95 and more == 0:
        return "general_factor", (
            f"Evidence of a general factor: PC1 explains {_pct(share)} of the variance ({level} CI "
            f"{_pct(ci[0])}–{_pct(ci[1])}) across {n} setups, above the {_pct(null_p95)} that independent "
            f"columns reach 95% of the time; {positive} of {p} concepts load on it with intervals clear of zero."
        )
    return "suggestive", (
        f"Suggestive but not yet reliable: PC1 explains {_pct(share)} of the variance ({level} CI "
        f"{_pct(ci[0])}–{_pct(ci[1])}) against {_pct(null_p95)} for independent columns." + tail
    )
