"""Leaderboard maths: mean peer score per forecaster with a bootstrap CI over markets.

Besides the plain mean, each row carries the Metaculus-style *ranking score*
``Σ peer / max(30, Σ coverage)``: a forecaster with few questions is shrunk toward 0, so a lucky
single market does not top the table. The table is sorted by it.

References
----------
.. [1] Metaculus, "Scores FAQ: peer accuracy leaderboards" (sum of peer scores divided by
       max(30, sum of coverage)), https://www.metaculus.com/help/scores-faq/
.. [2] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, 1993 (percentile CI).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from experiments.metrics import bootstrap_ci

__all__ = ["bootstrap_mean_ci", "leaderboard_table"]


def bootstrap_mean_ci(
    values: ArrayLike, *, n_resamples: int = 1000, confidence: float = 0.95, random_state: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over markets: :func:`experiments.metrics.bootstrap_ci`
    (the project's one bootstrap) with the leaderboard's rule that one market has no interval.

    Parameters
    ----------
    values : array-like of shape (n,)
        Finite values; with fewer than 2 the interval is ``(nan, nan)``.
    n_resamples : int, default=1000
    confidence : float, default=0.95
    random_state : int, default=0

    Returns
    -------
    (low, high) : tuple of float
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a 1-D array of finite numbers.")
    if n_resamples < 1 or not 0 < confidence < 1:
        raise ValueError("n_resamples must be >= 1 and confidence in (0, 1).")
    if x.shape[0] < 2:
        return float("nan"), float("nan")
    return bootstrap_ci(x, lambda resamples: resamples.mean(axis=1), n_resamples=n_resamples,
                        confidence=confidence, seed=random_state, batched=True)


def leaderboard_table(
    scores: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    min_coverage: float = 30.0,
    random_state: int = 0,
) -> pd.DataFrame:
    """Aggregate per-market peer scores into leaderboard rows.

    Parameters
    ----------
    scores : DataFrame
        One row per (forecaster, market) with columns ``forecaster``, ``peer_score`` and
        ``coverage`` (optionally ``baseline_score``).
    n_resamples, confidence, random_state
        Bootstrap settings (resampling markets).
    min_coverage : float, default=30
        The denominator floor of the ranking score.

    Returns
    -------
    DataFrame
        Columns ``forecaster, peer_score, ci_low, ci_high, n_markets, coverage_sum, rank_score,
        baseline_score``, sorted by ``rank_score`` (descending), then ``peer_score``.
    """
    required = {"forecaster", "peer_score", "coverage"}
    if not required <= set(scores.columns):
        raise ValueError(f"scores needs the columns {sorted(required)}; got {sorted(scores.columns)}.")
    columns = ["forecaster", "peer_score", "ci_low", "ci_high", "n_markets", "coverage_sum", "rank_score",
               "baseline_score"]
    if scores.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = scores.copy()
    if "baseline_score" not in frame:
        frame["baseline_score"] = np.nan
    grouped = frame.groupby("forecaster", sort=False)
    table = grouped.agg(
        peer_score=("peer_score", "mean"),
        n_markets=("peer_score", "size"),
        coverage_sum=("coverage", "sum"),
        peer_sum=("peer_score", "sum"),
        baseline_score=("baseline_score", "mean"),
    ).reset_index()
    cis = [
        bootstrap_mean_ci(group["peer_score"].to_numpy(), n_resamples=n_resamples, confidence=confidence,
                          random_state=random_state)
        for _, group in grouped  # one per forecaster; each is vectorized over resamples and markets
    ]
    table["ci_low"] = [c[0] for c in cis]
    table["ci_high"] = [c[1] for c in cis]
    table["rank_score"] = table["peer_sum"] / np.maximum(min_coverage, table["coverage_sum"])
    table = table.sort_values(["rank_score", "peer_score"], ascending=False, kind="stable")
    return table[columns].reset_index(drop=True)
