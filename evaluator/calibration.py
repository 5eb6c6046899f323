"""Calibration of binary probability forecasts: reliability bins with binomial consistency bands,
expected calibration error (ECE) and the Murphy decomposition of the Brier score.

Binning follows :func:`sklearn.calibration.calibration_curve` exactly (``np.searchsorted`` on the
inner edges, so a forecast on an edge falls in the lower bin), which the tests check.

References
----------
.. [1] A. H. Murphy, "A new vector partition of the probability score",
       Journal of Applied Meteorology 12(4), 595-600, 1973.
.. [2] J. Bröcker and L. A. Smith, "Increasing the reliability of reliability diagrams",
       Weather and Forecasting 22(3), 651-661, 2007 (consistency bands).
.. [3] D. B. Stephenson, C. A. S. Coelho and I. T. Jolliffe, "Two extra components in the Brier
       score decomposition", Weather and Forecasting 23(4), 752-757, 2008 (within-bin terms).
.. [4] M. P. Naeini, G. F. Cooper and M. Hauskrecht, "Obtaining well calibrated probabilities
       using Bayesian binning", AAAI 2015 (expected calibration error).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evaluator.scoring import check_binary_forecasts

__all__ = [
    "MurphyDecomposition",
    "bin_edges",
    "calibration_summary",
    "expected_calibration_error",
    "murphy_decomposition",
    "reliability_bins",
]


def bin_edges(y_prob: ArrayLike, *, n_bins: int = 10, strategy: str = "uniform") -> NDArray[np.float64]:
    """Edges of the probability bins, shape (n_bins + 1,).

    ``strategy="uniform"`` splits [0, 1] evenly; ``"quantile"`` puts the same number of forecasts
    in each bin (edges at the percentiles of ``y_prob``), as scikit-learn does.
    """
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}.")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, int(n_bins) + 1)
    if strategy == "quantile":
        return np.percentile(np.asarray(y_prob, dtype=np.float64), np.linspace(0, 100, int(n_bins) + 1))
    raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}.")


def _bin_ids(y_prob: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.intp]:
    return np.searchsorted(edges[1:-1], y_prob)


def reliability_bins(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    confidence: float = 0.9,
) -> pd.DataFrame:
    """Reliability diagram data: per bin, the mean forecast, the observed frequency and a band.

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
        Outcomes, 0/1.
    y_prob : array-like of shape (n_forecasts,)
        Probabilities of YES in [0, 1].
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"
    confidence : float, default=0.9
        Coverage of the bands.

    Returns
    -------
    pandas.DataFrame of shape (n_bins, 10)
        Columns ``bin, lower, upper, count, mean_predicted, observed_frequency, band_low, band_high,
        ci_low, ci_high``.  Empty bins have ``count = 0`` and NaN elsewhere.
        ``band_low``/``band_high`` is the binomial *consistency band*: the central ``confidence``
        range of the observed frequency that a perfectly calibrated forecaster, whose events happen
        with probability ``mean_predicted``, would show in a bin of that size [2]_.  A point outside
        its band is evidence of miscalibration.  ``ci_low``/``ci_high`` is the Clopper-Pearson
        interval of the observed frequency itself.
    """
    t, p = check_binary_forecasts(y_true, y_prob)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}.")
    edges = bin_edges(p, n_bins=n_bins, strategy=strategy)
    ids = _bin_ids(p, edges)
    count = np.bincount(ids, minlength=n_bins)
    sum_p = np.bincount(ids, weights=p, minlength=n_bins)
    sum_t = np.bincount(ids, weights=t, minlength=n_bins)
    nz = count > 0
    safe = np.maximum(count, 1)
    mean_p = np.where(nz, sum_p / safe, np.nan)
    freq = np.where(nz, sum_t / safe, np.nan)
    alpha = 1.0 - confidence
    mp = np.nan_to_num(mean_p)
    band_low = np.where(nz, stats.binom.ppf(alpha / 2, safe, mp) / safe, np.nan)
    band_high = np.where(nz, stats.binom.ppf(1 - alpha / 2, safe, mp) / safe, np.nan)
    hits = np.round(sum_t)
    with np.errstate(invalid="ignore"):
        ci_low = np.where(hits > 0, stats.beta.ppf(alpha / 2, hits, safe - hits + 1), 0.0)
        ci_high = np.where(hits < count, stats.beta.ppf(1 - alpha / 2, hits + 1, safe - hits), 1.0)
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count,
            "mean_predicted": mean_p,
            "observed_frequency": freq,
            "band_low": band_low,
            "band_high": band_high,
            "ci_low": np.where(nz, ci_low, np.nan),
            "ci_high": np.where(nz, ci_high, np.nan),
        }
    )


def expected_calibration_error(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = 10, strategy: str = "uniform"
) -> float:
    """Expected calibration error ``Σ_k (n_k / n) · |ō_k − p̄_k|`` over the reliability bins [4]_.

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
    y_prob : array-like of shape (n_forecasts,)
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    float in [0, 1]
    """
    t, p = check_binary_forecasts(y_true, y_prob)
    edges = bin_edges(p, n_bins=n_bins, strategy=strategy)
    ids = _bin_ids(p, edges)
    gap = np.bincount(ids, weights=p, minlength=n_bins) - np.bincount(ids, weights=t, minlength=n_bins)
    return float(np.abs(gap).sum() / t.shape[0])


@dataclass(frozen=True)
class MurphyDecomposition:
    """Brier score = reliability − resolution + uncertainty + within_bin.

    Attributes
    ----------
    brier : float
        Mean squared error of the forecasts.
    reliability : float
        ``Σ_k (n_k/n) (p̄_k − ō_k)²``; 0 for a calibrated forecaster (lower is better).
    resolution : float
        ``Σ_k (n_k/n) (ō_k − ō)²``; how far the bins' frequencies spread from the base rate (higher is
        better).
    uncertainty : float
        ``ō (1 − ō)``; a property of the outcomes alone.
    within_bin : float
        What the binning leaves out: the within-bin variance of the forecasts minus twice their
        within-bin covariance with the outcomes [3]_; exactly 0 when each bin holds one forecast value.
    n : int
        Number of forecasts.
    """

    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    within_bin: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def murphy_decomposition(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int | None = 10, strategy: str = "uniform"
) -> MurphyDecomposition:
    """Murphy decomposition of the Brier score into reliability, resolution and uncertainty [1]_.

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
    y_prob : array-like of shape (n_forecasts,)
    n_bins : int or None, default=10
        Bins as in :func:`reliability_bins`; ``None`` groups identical forecast values, which makes
        the decomposition exact (``within_bin == 0``).
    strategy : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    MurphyDecomposition
    """
    t, p = check_binary_forecasts(y_true, y_prob)
    if n_bins is None:
        _, ids = np.unique(p, return_inverse=True)
        k = int(ids.max()) + 1
    else:
        ids = _bin_ids(p, bin_edges(p, n_bins=n_bins, strategy=strategy))
        k = int(n_bins)
    n = t.shape[0]
    count = np.bincount(ids, minlength=k)
    safe = np.maximum(count, 1)
    mean_p = np.bincount(ids, weights=p, minlength=k) / safe
    freq = np.bincount(ids, weights=t, minlength=k) / safe
    base = t.mean()
    brier = float(np.mean((p - t) ** 2))
    reliability = float(np.sum(count * (mean_p - freq) ** 2) / n)
    resolution = float(np.sum(count * (freq - base) ** 2) / n)
    uncertainty = float(base * (1.0 - base))
    return MurphyDecomposition(
        brier=brier,
        reliability=reliability,
        resolution=resolution,
        uncertainty=uncertainty,
        within_bin=brier - (reliability - resolution + uncertainty),
        n=int(n),
    )


def calibration_summary(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = 10, confidence: float = 0.9
) -> dict:
    """Everything a calibration page or API needs, JSON-ready.

    Returns
    -------
    dict
        ``{"n", "bins": [row dicts of reliability_bins, NaN as None], "ece", "murphy": {...}}``;
        with no forecasts, ``n = 0``, the bins empty and the figures None.
    """
    p_arr = np.asarray(y_prob, dtype=np.float64)
    if p_arr.size == 0:
        return {"n": 0, "bins": [], "ece": None, "murphy": None}
    bins = reliability_bins(y_true, y_prob, n_bins=n_bins, confidence=confidence)
    rows = bins.astype(object).where(bins.notna(), None).to_dict(orient="records")
    for row in rows:
        row["bin"], row["count"] = int(row["bin"]), int(row["count"])
    return {
        "n": int(p_arr.size),
        "bins": rows,
        "ece": expected_calibration_error(y_true, y_prob, n_bins=n_bins),
        "murphy": murphy_decomposition(y_true, y_prob, n_bins=n_bins).to_dict(),
    }
