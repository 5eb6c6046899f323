"""Time-averaged (Metaculus-style) baseline and peer scores of every forecaster on one question.

Each forecast counts for the share of the open window ``[open_time, close_time)`` during which it
was its forecaster's latest. Periods in which a forecaster had no standing forecast score zero, so
the *coverage* (the share of the window that the forecaster covered) is reported beside each score.

- Baseline score: ``100 · (log2 p(outcome) + 1)``: 0 for a constant 50 %, 100 for certainty.
- Peer score: ``100 · (ln p(outcome) − mean of the other forecasters' ln p(outcome))``, taken at each
  instant over the forecasters whose forecast is standing then (0 while nobody else has one). At
  every instant the peer scores of all forecasters sum to zero.

Forecasts made before the window opens count from ``open_time``; forecasts at or after
``close_time`` are ignored.  Everything is vectorized: the crowd's running sum of ln p and its size
are piecewise constant between forecasts, so each forecast's integral is a difference of two
cumulative integrals looked up with ``searchsorted``; there is no Python loop over forecasts.

References
----------
.. [1] Metaculus, "Scores FAQ": baseline score, peer score, coverage and time-averaging,
       https://www.metaculus.com/help/scores-faq/
.. [2] Metaculus source, ``scoring/score_math.py`` (evaluate_forecasts_baseline_accuracy,
       evaluate_forecasts_peer_accuracy).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from core.forecasts import check_binary_forecasts, to_seconds

__all__ = ["reference_scores", "time_averaged_scores", "to_seconds"]

_LN2 = np.log(2.0)


@dataclass(frozen=True)
class _Window:
    open: float
    close: float

    @property
    def length(self) -> float:
        return self.close - self.open


def _check_window(open_time: object, close_time: object) -> _Window:
    o, c = (float(to_seconds(np.asarray([x]))[0]) for x in (open_time, close_time))
    if not (np.isfinite(o) and np.isfinite(c)):
        raise ValueError("open_time and close_time must be finite.")
    if c <= o:
        raise ValueError(f"close_time must be after open_time; got a window of {c - o} s.")
    return _Window(o, c)


def _check_outcome(outcome: object) -> float:
    if isinstance(outcome, bool | np.bool_) or outcome in (0, 1):
        return float(outcome)
    raise ValueError(f"outcome must be 0/1 or a boolean; got {outcome!r}.")


@dataclass(frozen=True)
class _Forecasts:
    """Forecasts inside the window, sorted by (forecaster, time, input order)."""

    code: NDArray[np.int64]  # forecaster index into ``labels``
    start: NDArray[np.float64]  # seconds after open (clipped at 0)
    end: NDArray[np.float64]  # seconds after open: next forecast of the same forecaster, or close
    log_p: NDArray[np.float64]  # ln p(outcome)
    prob: NDArray[np.float64]  # p(YES)
    order_key: NDArray[np.float64]  # original time, for the global event order
    input_index: NDArray[np.int64]
    labels: NDArray
    first: NDArray[np.bool_]  # first forecast of its forecaster


def _prepare(
    forecaster: ArrayLike | None, times: ArrayLike, y_prob: ArrayLike, outcome: float, window: _Window
) -> _Forecasts:
    t = to_seconds(times)
    p_arr = np.asarray(y_prob, dtype=np.float64)
    if t.ndim != 1 or t.shape != p_arr.shape:
        raise ValueError(f"times and y_prob must be 1-D of the same length; got {t.shape} and {p_arr.shape}.")
    if not np.all(np.isfinite(t)):
        raise ValueError("times hold NaN or infinite values.")
    if forecaster is None:
        labels, code = np.array([0]), np.zeros(t.shape[0], dtype=np.int64)
    else:
        who = np.asarray(forecaster)
        if who.shape != t.shape:
            raise ValueError(f"forecaster must have shape {t.shape}; got {who.shape}.")
        labels, code = np.unique(who, return_inverse=True)
    p = p_arr
    if p.shape[0]:
        _, p = check_binary_forecasts(np.full(p.shape[0], outcome), p, open_interval=True)
    idx = np.arange(t.shape[0])
    keep = t < window.close
    t, p, code, idx = t[keep], p[keep], code[keep], idx[keep]
    order = np.lexsort((idx, t, code))
    t, p, code, idx = t[order], p[order], code[order], idx[order]
    start = np.maximum(t, window.open) - window.open
    same_next = np.zeros(t.shape[0], dtype=bool)
    same_next[:-1] = code[1:] == code[:-1]
    end = np.where(same_next, np.roll(start, -1), window.length)
    first = np.ones(t.shape[0], dtype=bool)
    first[1:] = code[1:] != code[:-1]
    log_p = np.log(p) if outcome == 1.0 else np.log1p(-p)
    return _Forecasts(code, start, end, log_p, p, t, idx, labels, first)


@dataclass(frozen=True)
class _Crowd:
    """Piecewise-constant state of the crowd: on [bounds[k], bounds[k+1]) ``n[k]`` forecasters have
    a standing forecast and their ln p(outcome) sums to ``log_sum[k]``."""

    bounds: NDArray[np.float64]
    n: NDArray[np.float64]
    log_sum: NDArray[np.float64]

    def integral(self, g: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """∫_a^b g(t) dt for a piecewise-constant g given per segment, vectorized over a and b."""
        cum = np.concatenate(([0.0], np.cumsum(g * np.diff(self.bounds))))

        def at(x: NDArray[np.float64]) -> NDArray[np.float64]:
            k = np.clip(np.searchsorted(self.bounds, x, side="right") - 1, 0, g.shape[0] - 1)
            return cum[k] + g[k] * (x - self.bounds[k])

        return at(b) - at(a)


def _crowd(f: _Forecasts, length: float) -> _Crowd:
    prev = np.roll(f.log_p, 1)
    d_sum = np.where(f.first, f.log_p, f.log_p - prev)
    events = np.lexsort((f.input_index, f.order_key))
    n_after = np.cumsum(f.first[events].astype(np.float64))
    sum_after = np.cumsum(d_sum[events])
    bounds = np.concatenate(([0.0], f.start[events], [length]))
    return _Crowd(bounds, np.concatenate(([0.0], n_after)), np.concatenate(([0.0], sum_after)))


_COLUMNS = [
    "forecaster",
    "n_forecasts",
    "coverage",
    "baseline_score",
    "peer_score",
    "last_probability",
    "brier_last",
    "log_loss_last",
]


def time_averaged_scores(
    forecaster: ArrayLike,
    times: ArrayLike,
    y_prob: ArrayLike,
    *,
    outcome: int | bool,
    open_time: object,
    close_time: object,
) -> pd.DataFrame:
    """Time-averaged baseline and peer scores, with coverage, for every forecaster of one question.

    Parameters
    ----------
    forecaster : array-like of shape (n_forecasts,)
        Who made each forecast (any hashable labels, e.g. user ids).
    times : array-like of shape (n_forecasts,)
        When each forecast was made: seconds, ``datetime64`` or timezone-aware datetimes.
    y_prob : array-like of shape (n_forecasts,)
        Probability of YES after each forecast, strictly inside (0, 1).
    outcome : {0, 1}
        1 when the question resolved YES.
    open_time, close_time : number or datetime
        The window in which forecasts count (same units as ``times``).

    Returns
    -------
    pandas.DataFrame
        One row per forecaster with at least one forecast before ``close_time``, columns
        ``forecaster, n_forecasts, coverage, baseline_score, peer_score, last_probability,
        brier_last, log_loss_last``.  ``coverage`` is in [0, 1]; the scores are time averages over
        the whole window; ``brier_last`` and ``log_loss_last`` score the last forecast before close.

    Raises
    ------
    ValueError
        On mismatched shapes, probabilities outside (0, 1), a non-binary outcome or an empty window.

    Notes
    -----
    A forecaster's score is ``Σ_i s_i · |I_i| / T`` where ``I_i`` is the part of the window in which
    forecast ``i`` was that forecaster's latest, ``T = close_time − open_time``. For the peer score
    ``s_i(t) = 100 · (ln p_i − (S(t) − ln p_i)/(n(t) − 1))`` where ``S(t)`` and ``n(t)`` are the sum
    of ln p(outcome) and the number of standing forecasts at time ``t``.
    """
    o = _check_outcome(outcome)
    window = _check_window(open_time, close_time)
    f = _prepare(forecaster, times, y_prob, o, window)
    if f.code.shape[0] == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in _COLUMNS}).astype({"forecaster": object})
    crowd = _crowd(f, window.length)
    n = crowd.n
    safe = np.maximum(n - 1.0, 1.0)
    g_self = np.where(n >= 2, n / safe, 0.0)
    g_sum = np.where(n >= 2, crowd.log_sum / safe, 0.0)
    duration = f.end - f.start
    peer = 100.0 * (f.log_p * crowd.integral(g_self, f.start, f.end) - crowd.integral(g_sum, f.start, f.end))
    baseline = 100.0 * (f.log_p / _LN2 + 1.0) * duration

    n_labels = f.labels.shape[0]
    present = np.bincount(f.code, minlength=n_labels) > 0
    last = np.zeros(f.code.shape[0], dtype=bool)
    last[:-1] = f.code[1:] != f.code[:-1]
    last[-1] = True
    last_p = np.full(n_labels, np.nan)
    last_p[f.code[last]] = f.prob[last]
    last_log_p = np.full(n_labels, np.nan)
    last_log_p[f.code[last]] = f.log_p[last]

    def per(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(f.code, weights=x, minlength=n_labels)[present]

    frame = pd.DataFrame(
        {
            "forecaster": f.labels[present],
            "n_forecasts": np.bincount(f.code, minlength=n_labels)[present],
            "coverage": per(duration) / window.length,
            "baseline_score": per(baseline) / window.length,
            "peer_score": per(peer) / window.length,
            "last_probability": last_p[present],
            "brier_last": (last_p[present] - o) ** 2,
            "log_loss_last": -last_log_p[present],
        }
    )
    return frame.reset_index(drop=True)


def reference_scores(
    times: ArrayLike,
    y_prob: ArrayLike,
    *,
    crowd_forecaster: ArrayLike,
    crowd_times: ArrayLike,
    crowd_prob: ArrayLike,
    outcome: int | bool,
    open_time: object,
    close_time: object,
) -> dict[str, float]:
    """Score a reference series (the market price, the community aggregate) against the crowd.

    The series is a pseudo-forecaster: each point ``(time, probability)`` stands until the next.
    Its peer score compares it with *all* human forecasters standing at each instant,
    ``100 · (ln r(t) − mean_u ln p_u(t))``, so it does not change anybody else's peer score.

    Parameters
    ----------
    times, y_prob : array-like of shape (n_points,)
        The reference series (probability of YES, strictly inside (0, 1)).
    crowd_forecaster, crowd_times, crowd_prob : array-like of shape (n_forecasts,)
        The human forecasts, as in :func:`time_averaged_scores` (may be empty).
    outcome : {0, 1}
    open_time, close_time : number or datetime

    Returns
    -------
    dict
        ``{"coverage", "baseline_score", "peer_score", "last_probability", "brier_last",
        "log_loss_last"}``; the scores are NaN when no point falls before ``close_time``.
    """
    o = _check_outcome(outcome)
    window = _check_window(open_time, close_time)
    ref = _prepare(None, times, y_prob, o, window)
    if ref.code.shape[0] == 0:
        nan = float("nan")
        return dict.fromkeys(_COLUMNS[2:], nan) | {"coverage": 0.0}
    if np.asarray(crowd_prob).shape[0] == 0:
        crowd = _Crowd(np.array([0.0, window.length]), np.zeros(1), np.zeros(1))
    else:
        crowd = _crowd(_prepare(crowd_forecaster, crowd_times, crowd_prob, o, window), window.length)
    n = crowd.n
    g_on = (n >= 1).astype(np.float64)
    g_mean = np.where(n >= 1, crowd.log_sum / np.maximum(n, 1.0), 0.0)
    duration = ref.end - ref.start
    peer = 100.0 * (ref.log_p * crowd.integral(g_on, ref.start, ref.end) - crowd.integral(g_mean, ref.start, ref.end))
    baseline = 100.0 * (ref.log_p / _LN2 + 1.0) * duration
    return {
        "coverage": float(duration.sum() / window.length),
        "baseline_score": float(baseline.sum() / window.length),
        "peer_score": float(peer.sum() / window.length),
        "last_probability": float(ref.prob[-1]),
        "brier_last": float((ref.prob[-1] - o) ** 2),
        "log_loss_last": float(-ref.log_p[-1]),
    }
