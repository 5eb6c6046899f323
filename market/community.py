"""Community aggregate: a recency-weighted median of each forecaster's latest probability.

Among the ``N`` forecasters with a standing forecast, ranked from the oldest latest forecast
(``n = 1``) to the newest (``n = N``), forecaster ``n`` gets weight ``w_n = exp(√n − √N)`` when
``N > 2`` and weight 1 otherwise, so the newest forecast weighs 1 and older ones decay slowly.
The aggregate is the weighted median of the latest probabilities.

References
----------
.. [1] Metaculus, "FAQ: What is the Community Prediction?",
       https://www.metaculus.com/faq/#community-prediction (recency weights ``exp(√n − √N)``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from core.forecasts import check_binary_forecasts, to_seconds

__all__ = ["community_aggregate", "community_series", "mixture_aggregate", "mixture_series",
           "recency_weights", "weighted_median"]

# Bound on the (events × forecasters) block held in memory at once by community_series.
_MAX_CELLS = 2_000_000


def recency_weights(n_forecasters: int) -> NDArray[np.float64]:
    """Weights ``w_n = exp(√n − √N)``, ``n = 1..N`` from oldest to newest; all ones when N ≤ 2.

    Parameters
    ----------
    n_forecasters : int
        N, at least 0.

    Returns
    -------
    ndarray of shape (N,)
    """
    if int(n_forecasters) != n_forecasters or n_forecasters < 0:
        raise ValueError(f"n_forecasters must be a non-negative integer; got {n_forecasters!r}.")
    n = np.arange(1, int(n_forecasters) + 1, dtype=np.float64)
    if n_forecasters <= 2:
        return np.ones_like(n)
    return np.exp(np.sqrt(n) - np.sqrt(n_forecasters))


def weighted_median(values: ArrayLike, weights: ArrayLike) -> NDArray[np.float64] | float:
    """Weighted median along the last axis.

    The median is the smallest value at which the cumulative weight reaches half the total; where
    the cumulative weight equals exactly half, it is the mean of that value and the next one, so
    equal weights give the ordinary median. Entries with zero weight or a NaN value are ignored.

    Parameters
    ----------
    values : array-like of shape (..., n)
    weights : array-like of shape (..., n)
        Non-negative.

    Returns
    -------
    float or ndarray of shape (...)
        NaN where no entry has positive weight.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if v.shape != w.shape or v.ndim == 0:
        raise ValueError(f"values and weights must have the same non-scalar shape; got {v.shape} and "
                         f"{w.shape}.")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative.")
    w = np.where(np.isnan(v), 0.0, w)
    v = np.where(w > 0, v, np.inf)  # ignored entries sort last
    order = np.argsort(v, axis=-1, kind="stable")
    v = np.take_along_axis(v, order, axis=-1)
    w = np.take_along_axis(w, order, axis=-1)
    cum = np.cumsum(w, axis=-1)
    total = cum[..., -1:]
    half = total / 2.0
    tol = 1e-12 * total
    k = np.argmax(cum >= half - tol, axis=-1)[..., None]
    at_k = np.take_along_axis(v, k, axis=-1)
    nxt = np.take_along_axis(v, np.minimum(k + 1, v.shape[-1] - 1), axis=-1)
    tie = (np.abs(np.take_along_axis(cum, k, axis=-1) - half) <= tol) & np.isfinite(nxt)
    out = np.where(tie, (at_k + np.where(np.isfinite(nxt), nxt, 0.0)) / 2.0, at_k)[..., 0]
    out = np.where(total[..., 0] > 0, out, np.nan)
    return float(out) if out.ndim == 0 else out


def _validate(forecaster: ArrayLike, times: ArrayLike, y_prob: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    t = to_seconds(times)
    p = np.asarray(y_prob, dtype=np.float64)
    who = np.asarray(forecaster)
    if t.ndim != 1 or t.shape != p.shape or who.shape != t.shape:
        raise ValueError(
            f"forecaster, times and y_prob must be 1-D of one length; got {who.shape}, {t.shape}, {p.shape}."
        )
    if not np.all(np.isfinite(t)):
        raise ValueError("times hold NaN or infinite values.")
    if p.shape[0]:
        check_binary_forecasts(np.zeros(p.shape[0]), p)
    return who, t, p


def community_aggregate(forecaster: ArrayLike, times: ArrayLike, y_prob: ArrayLike) -> float:
    """The community aggregate after all the given forecasts.

    Parameters
    ----------
    forecaster : array-like of shape (n_forecasts,)
        Who made each forecast.
    times : array-like of shape (n_forecasts,)
        When (seconds or datetimes); ties keep input order, the later entry being newer.
    y_prob : array-like of shape (n_forecasts,)
        Probability of YES, in [0, 1].

    Returns
    -------
    float
        Recency-weighted median of each forecaster's latest probability; NaN with no forecasts.
    """
    who, t, p = _validate(forecaster, times, y_prob)
    if p.shape[0] == 0:
        return float("nan")
    order = np.lexsort((np.arange(t.shape[0]), t))
    who, p = who[order], p[order]
    # Last occurrence of each forecaster in time order = their latest forecast.
    _, first_in_reversed = np.unique(who[::-1], return_index=True)
    latest = np.sort(who.shape[0] - 1 - first_in_reversed)  # oldest latest first
    return float(weighted_median(p[latest], recency_weights(latest.shape[0])))


def community_series(forecaster: ArrayLike, times: ArrayLike, y_prob: ArrayLike) -> pd.DataFrame:
    """The community aggregate after every forecast.

    Parameters
    ----------
    forecaster, times, y_prob : array-like of shape (n_forecasts,)
        As in :func:`community_aggregate`.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (as given, in time order), ``probability`` and ``n_forecasters``; one row
        per distinct time, holding the state after the last forecast made at that time.

    Notes
    -----
    Builds, block by block, the (events × forecasters) matrix of each forecaster's latest forecast
    (a forward fill with ``np.maximum.accumulate``), ranks the rows by recency and takes the
    row-wise weighted median; memory stays below a few million cells whatever the market size.
    """
    who, t, p = _validate(forecaster, times, y_prob)
    times_in = np.asarray(times)
    if p.shape[0] == 0:
        return pd.DataFrame({"time": times_in[:0], "probability": [], "n_forecasters": []})
    order = np.lexsort((np.arange(t.shape[0]), t))
    _, code = np.unique(who[order], return_inverse=True)
    p_sorted, t_sorted = p[order], t[order]
    n_events, n_users = p.shape[0], int(code.max()) + 1
    block = max(1, _MAX_CELLS // n_users)
    probability = np.empty(n_events)
    count = np.empty(n_events, dtype=np.int64)
    carry = np.full(n_users, -1, dtype=np.int64)
    for a in range(0, n_events, block):  # blocks of events, not single forecasts
        b = min(n_events, a + block)
        latest = np.full((b - a, n_users), -1, dtype=np.int64)
        latest[np.arange(b - a), code[a:b]] = np.arange(a, b)
        latest = np.maximum(np.maximum.accumulate(latest, axis=0), carry)
        carry = latest[-1]
        valid = latest >= 0
        n = valid.sum(axis=1)
        # Rank 1..N from oldest to newest latest forecast; invalid entries (-1) rank below all.
        rank = np.argsort(np.argsort(latest, axis=1), axis=1) - (n_users - n)[:, None] + 1
        sqrt_n = np.sqrt(n)[:, None]
        w = np.where(n[:, None] > 2, np.exp(np.sqrt(np.maximum(rank, 1)) - sqrt_n), 1.0)
        w = np.where(valid, w, 0.0)
        values = np.where(valid, p_sorted[np.maximum(latest, 0)], np.nan)
        probability[a:b] = weighted_median(values, w)
        count[a:b] = n
    last_at_time = np.ones(n_events, dtype=bool)
    last_at_time[:-1] = t_sorted[1:] != t_sorted[:-1]
    return pd.DataFrame(
        {
            "time": times_in[order][last_at_time],
            "probability": probability[last_at_time],
            "n_forecasters": count[last_at_time],
        }
    ).reset_index(drop=True)


def mixture_aggregate(forecaster: ArrayLike, times: ArrayLike, pmfs: ArrayLike) -> NDArray[np.float64]:
    """The recency-weighted mixture of each forecaster's latest distribution, shape (N,)."""
    who = np.asarray(forecaster, dtype=object)
    t = to_seconds(times)
    p = np.asarray(pmfs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != who.size or t.shape != who.shape or who.size == 0:
        raise ValueError("forecaster, times and pmfs must describe the same, non-empty list of forecasts.")
    order = np.lexsort((np.arange(who.size), t))
    latest: dict = {}
    for i in order:  # later forecasts replace earlier ones; dict order follows the latest time
        latest.pop(who[i], None)
        latest[who[i]] = i
    rows = p[list(latest.values())]
    w = recency_weights(rows.shape[0])
    mix = (w[:, None] * rows).sum(axis=0) / w.sum()
    return mix / mix.sum()


def mixture_series(forecaster: ArrayLike, times: ArrayLike, pmfs: ArrayLike) -> pd.DataFrame:
    """The mixture after each distinct forecast time: columns ``time, pmf, n_forecasters``."""
    who = np.asarray(forecaster, dtype=object)
    t = np.asarray(times, dtype=object)
    p = np.asarray(pmfs, dtype=np.float64)
    seconds = to_seconds(times) if who.size else np.zeros(0)
    order = np.lexsort((np.arange(who.size), seconds))
    out = []
    for j, i in enumerate(order):
        if j + 1 < order.size and seconds[order[j + 1]] == seconds[i]:
            continue  # several forecasts at one instant: one point after the last of them
        upto = order[: j + 1]
        out.append(
            {
                "time": t[i],
                "pmf": mixture_aggregate(who[upto], seconds[upto], p[upto]),
                "n_forecasters": len(set(who[upto].tolist())),
            }
        )
    return pd.DataFrame(out, columns=["time", "pmf", "n_forecasters"])
