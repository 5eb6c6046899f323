"""Scoring numeric forecasts: distributions over a numeric market's outcome bins.

A numeric forecast is a probability per outcome (``pmf``, shape (N,)), over bins whose edges are
``support_edges`` (shape (N + 1,)): the market's interior edges, plus one bin width beyond each open
end for its overflow bin (a finite stand-in, so densities and the CRPS are defined). Inside each bin
the density is uniform, so the CDF is piecewise linear.

* **Log score of the bin density**: ``ln(p_k / w_k)`` for the outcome bin ``k`` of width ``w_k``
  (higher is better; units: ln per unit of the statistic).
* **CRPS**: ``∫ (F(x) − 1{x ≥ y})² dx`` for the outcome value ``y`` (lower is better; units of the
  statistic). Exact for the piecewise-linear CDF: on a segment where ``G = F − H`` is linear,
  ``∫ G² = (b − a)(G_a² + G_a·G_b + G_b²)/3``.
* **Time-averaged scores** (as for binary markets, evaluator.time_averaged): the peer score
  ``100·(ln p_k − mean of the others' ln p_k)`` and the baseline score ``100·log2(N·p_k)/log2 N``
  (0 for the uniform forecast, 100 for certainty on the right bin; N = 2 gives the binary baseline
  ``100·(log2 p + 1)``), each forecast counting for the share of the window it was its forecaster's
  latest. Both use the probability ``p_k`` of the outcome bin, so a numeric market's peer score is on
  the same scale as a binary market's.
* **PIT**: ``F(y)``; calibrated forecasts give PIT values uniform on [0, 1], tested with a χ² test on
  their histogram and a Kolmogorov–Smirnov test.
* **Community aggregate**: the recency-weighted mixture ``Σ_n w_n p_n / Σ w_n`` of each forecaster's
  latest distribution, with the weights ``w_n = exp(√n − √N)`` of evaluator.community.

References
----------
.. [1] Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
       estimation. JASA 102(477) — the CRPS and the log score.
.. [2] Gneiting, T., Balabdaoui, F. & Raftery, A. E. (2007). Probabilistic forecasts, calibration
       and sharpness. JRSS B 69(2) — the PIT histogram.
.. [3] Metaculus, "Scores FAQ" — continuous questions' log scores and time averaging.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evaluator.time_averaged import reference_scores, time_averaged_scores
from market.community import mixture_aggregate, mixture_series, recency_weights  # noqa: F401  (re-exported)
from market.distributions import support_edges  # noqa: F401  (re-exported)

__all__ = [
    "bin_log_score",
    "crps_bins",
    "mixture_aggregate",
    "mixture_series",
    "pit_uniformity",
    "pit_value",
    "support_edges",
    "time_averaged_numeric_scores",
    "numeric_reference_scores",
]

MIN_P = 1e-9


def _check(pmf: ArrayLike, support: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = np.asarray(pmf, dtype=np.float64)
    s = np.asarray(support, dtype=np.float64)
    if p.ndim != 1 or s.shape != (p.size + 1,):
        raise ValueError(
            f"pmf has shape {p.shape}; support_edges must have shape ({p.size + 1},), got {s.shape}."
        )
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError("pmf must be finite, non-negative and sum to 1.")
    if np.any(np.diff(s) <= 0):
        raise ValueError("support_edges must increase.")
    return p / p.sum(), s


def _outcome_index(support: NDArray[np.float64], y: float) -> int:
    return int(np.clip(np.searchsorted(support, y, side="right") - 1, 0, support.size - 2))


def bin_log_score(pmf: ArrayLike, support: ArrayLike, y: float) -> float:
    """``ln(p_k / w_k)``: the log of the forecast's density in the bin holding ``y``."""
    p, s = _check(pmf, support)
    k = _outcome_index(s, float(y))
    return float(np.log(max(p[k], MIN_P) / (s[k + 1] - s[k])))


def crps_bins(pmf: ArrayLike, support: ArrayLike, y: float) -> float:
    """The CRPS of a piecewise-uniform distribution at the outcome ``y`` (exact; see the module docstring)."""
    p, s = _check(pmf, support)
    y = float(y)
    if not np.isfinite(y):
        raise ValueError("the outcome must be finite.")
    cdf = np.concatenate([[0.0], np.cumsum(p)])
    points = np.union1d(s, [np.clip(y, s[0], s[-1])])
    f = np.interp(points, s, cdf)
    a, b = points[:-1], points[1:]
    h = ((a + b) / 2 >= y).astype(np.float64)  # the step 1{x ≥ y} on each segment
    ga, gb = f[:-1] - h, f[1:] - h
    inside = float(np.sum((b - a) * (ga * ga + ga * gb + gb * gb) / 3.0))
    # Beyond the support F is 0 (left) or 1 (right); only the part between y and the support counts.
    return inside + max(s[0] - y, 0.0) + max(y - s[-1], 0.0)


def pit_value(pmf: ArrayLike, support: ArrayLike, y: float) -> float:
    """The probability integral transform ``F(y)`` of the outcome, in [0, 1]."""
    p, s = _check(pmf, support)
    cdf = np.concatenate([[0.0], np.cumsum(p)])
    return float(np.clip(np.interp(float(y), s, cdf), 0.0, 1.0))


@dataclass(frozen=True)
class PitSummary:
    counts: list[int]  # PIT histogram, n_bins equal bins of [0, 1]
    n: int
    chi2: float  # χ² statistic against equal counts
    chi2_p: float  # its p-value (NaN for fewer than n_bins values)
    ks: float  # Kolmogorov–Smirnov distance to the uniform distribution
    ks_p: float
    uniform: bool | None  # the χ² test finds no evidence against uniformity at 5 % (None: too few values)


def pit_uniformity(pits: ArrayLike, *, n_bins: int = 10) -> PitSummary:
    """The PIT histogram and its uniformity tests (χ² on the counts, Kolmogorov–Smirnov)."""
    u = np.asarray(pits, dtype=np.float64)
    if u.ndim != 1 or np.any(~np.isfinite(u)) or np.any((u < 0) | (u > 1)):
        raise ValueError("pits must be a vector of values in [0, 1].")
    counts = np.histogram(u, bins=n_bins, range=(0.0, 1.0))[0]
    if u.size < n_bins:
        nan = float("nan")
        ks = stats.kstest(u, "uniform") if u.size else None
        return PitSummary(
            counts.tolist(),
            int(u.size),
            nan,
            nan,
            float(ks.statistic) if ks else nan,
            float(ks.pvalue) if ks else nan,
            None,
        )
    chi = stats.chisquare(counts)
    ks = stats.kstest(u, "uniform")
    return PitSummary(
        counts.tolist(),
        int(u.size),
        float(chi.statistic),
        float(chi.pvalue),
        float(ks.statistic),
        float(ks.pvalue),
        bool(chi.pvalue >= 0.05),
    )


def _numeric_baseline(
    binary_baseline: ArrayLike, coverage: ArrayLike, n_outcomes: int
) -> NDArray[np.float64]:
    """Rescale the time-averaged binary baseline of p_k to ``100·log2(N·p_k)/log2 N``.

    The binary baseline is the window average of ``100·(log2 p_k + 1)`` over covered time (0 when
    uncovered), i.e. ``B = 100·(L + c)`` with L the window average of log2 p_k and c the coverage;
    the numeric one is ``100·(L + c·log2 N)/log2 N = (B + 100·c·(log2 N − 1))/log2 N``.
    """
    log2n = np.log2(n_outcomes)
    return (np.asarray(binary_baseline) + 100.0 * np.asarray(coverage) * (log2n - 1.0)) / log2n


def time_averaged_numeric_scores(
    forecaster: ArrayLike,
    times: ArrayLike,
    pmfs: ArrayLike,
    *,
    outcome: int,
    open_time: object,
    close_time: object,
) -> pd.DataFrame:
    """Time-averaged baseline and peer scores of numeric forecasts (see the module docstring).

    Parameters
    ----------
    forecaster, times : array-like of shape (n_forecasts,)
    pmfs : array-like of shape (n_forecasts, N)
        Each forecast's distribution over the N outcomes.
    outcome : int
        Index of the outcome bin that happened.
    open_time, close_time : number or datetime

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluator.time_averaged.time_averaged_scores`, with ``last_probability`` the
        last forecast's ``p_k``.
    """
    p = np.asarray(pmfs, dtype=np.float64)
    if p.ndim != 2 or not (0 <= int(outcome) < p.shape[1]):
        raise ValueError(
            "pmfs must have shape (n_forecasts, N) and outcome must index one of the N outcomes."
        )
    p_k = np.clip(p[:, int(outcome)], MIN_P, 1 - MIN_P)
    table = time_averaged_scores(
        forecaster, times, p_k, outcome=1, open_time=open_time, close_time=close_time
    )
    table["baseline_score"] = _numeric_baseline(table["baseline_score"], table["coverage"], p.shape[1])
    return table


def numeric_reference_scores(
    times: ArrayLike,
    pmfs: ArrayLike,
    *,
    crowd_forecaster: ArrayLike,
    crowd_times: ArrayLike,
    crowd_pmfs: ArrayLike,
    outcome: int,
    open_time: object,
    close_time: object,
) -> dict[str, float]:
    """Score a reference series of distributions (the market price, the community mixture)."""
    p = np.asarray(pmfs, dtype=np.float64)
    crowd = np.asarray(crowd_pmfs, dtype=np.float64)
    p_k = np.clip(p[:, int(outcome)], MIN_P, 1 - MIN_P)
    crowd_k = np.clip(crowd[:, int(outcome)], MIN_P, 1 - MIN_P) if crowd.size else np.zeros(0)
    scored = reference_scores(
        times,
        p_k,
        crowd_forecaster=crowd_forecaster,
        crowd_times=crowd_times,
        crowd_prob=crowd_k,
        outcome=1,
        open_time=open_time,
        close_time=close_time,
    )
    scored["baseline_score"] = float(
        _numeric_baseline(scored["baseline_score"], scored["coverage"], p.shape[1])
    )
    return scored
