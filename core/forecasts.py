"""Validation and conversion of forecast arrays, shared by the market's community aggregate
(``market.community``) and the evaluator's scoring rules. Pure numpy/pandas: no Django imports."""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["check_binary_forecasts", "to_seconds"]


def check_binary_forecasts(
    y_true: ArrayLike, y_prob: ArrayLike, *, open_interval: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate binary outcomes and forecast probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
        Outcomes, 0/1 or booleans (1 = YES).
    y_prob : array-like of shape (n_forecasts,)
        Forecast probabilities of YES, in [0, 1].
    open_interval : bool, default=False
        Require probabilities strictly inside (0, 1) (needed where a log score must stay finite).

    Returns
    -------
    y_true : ndarray of shape (n_forecasts,), float64 of 0.0 and 1.0
    y_prob : ndarray of shape (n_forecasts,), float64

    Raises
    ------
    ValueError
        If the arrays are not 1-D, differ in length, are empty, hold non-finite values, outcomes
        other than 0/1, or probabilities outside the allowed interval.
    """
    t = np.asarray(y_true)
    p = np.asarray(y_prob, dtype=np.float64)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"y_true and y_prob must be 1-D; got shapes {t.shape} and {p.shape}.")
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and y_prob differ in length: {t.shape[0]} != {p.shape[0]}.")
    if p.shape[0] == 0:
        raise ValueError("y_true and y_prob are empty; at least one forecast is needed.")
    try:
        t = t.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y_true must hold 0/1 outcomes; got dtype {t.dtype}.") from exc
    if not np.all((t == 0.0) | (t == 1.0)):
        bad = np.unique(t[(t != 0.0) & (t != 1.0)])[:5]
        raise ValueError(f"y_true must hold only 0 and 1; found {bad.tolist()}.")
    if not np.all(np.isfinite(p)):
        raise ValueError("y_prob holds NaN or infinite values.")
    if open_interval:
        if np.any((p <= 0.0) | (p >= 1.0)):
            raise ValueError("y_prob must lie strictly inside (0, 1).")
    elif np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("y_prob must lie in [0, 1].")
    return t, p


def to_seconds(times: ArrayLike) -> NDArray[np.float64]:
    """Convert numbers, ``numpy.datetime64`` or (timezone-aware) datetimes to float seconds.

    Numbers pass through unchanged; datetimes become seconds since the Unix epoch (UTC).
    """
    arr = np.asarray(times)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "M":
        return (arr - np.datetime64(0, "s")) / np.timedelta64(1, "s")
    try:
        stamps = pd.to_datetime(pd.Series(arr.ravel(), dtype=object), utc=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"times must be numbers or datetimes; got dtype {arr.dtype}.") from exc
    if stamps.isna().any():
        raise ValueError("times hold missing values.")
    seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(1, "s")
    return seconds.to_numpy(dtype=np.float64).reshape(arr.shape)
