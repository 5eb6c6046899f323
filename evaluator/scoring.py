"""Proper scoring rules for binary forecasts, and scores of a forecaster's last forecast.

Pure numpy: no Django imports. Every rule lives in one registry (:data:`SCORING_RULES`) so a single
property test checks all of them (propriety, range, a perfect forecast is optimal).

The time-averaged Metaculus-style scores live in :mod:`evaluator.time_averaged` and the community
aggregate in :mod:`market.community`; all of them validate their input with
:func:`core.forecasts.check_binary_forecasts` (re-exported here).

References
----------
.. [1] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation",
       Journal of the American Statistical Association 102(477), 359-378, 2007.
.. [2] G. W. Brier, "Verification of forecasts expressed in terms of probability",
       Monthly Weather Review 78(1), 1-3, 1950.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.forecasts import check_binary_forecasts

__all__ = [
    "SCORING_RULES",
    "ScoringRule",
    "brier_score",
    "check_binary_forecasts",
    "get_scoring_rule",
    "log_loss",
    "register_scoring_rule",
]


@dataclass(frozen=True)
class ScoringRule:
    """A scoring rule S(p, o) for a binary event.

    Attributes
    ----------
    name : str
        Registry key.
    func : callable
        ``func(y_true, y_prob) -> ndarray`` of per-forecast scores; inputs already validated.
    greater_is_better : bool
        Orientation: True for rewards (log, spherical), False for losses (Brier).
    lower, upper : float
        Closed range of the per-forecast score (may be infinite).
    description : str
        One line for documentation and pages.
    """

    name: str
    func: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
    greater_is_better: bool
    lower: float
    upper: float
    description: str

    def __call__(self, y_true: ArrayLike, y_prob: ArrayLike) -> NDArray[np.float64]:
        """Per-forecast scores, shape (n_forecasts,)."""
        t, p = check_binary_forecasts(y_true, y_prob)
        with np.errstate(divide="ignore"):
            return self.func(t, p)

    def mean(self, y_true: ArrayLike, y_prob: ArrayLike) -> float:
        """Mean score over forecasts."""
        return float(np.mean(self(y_true, y_prob)))

    def expected(self, q: ArrayLike, p: ArrayLike) -> NDArray[np.float64]:
        """Expected score of forecasting ``p`` when the true probability of YES is ``q``.

        ``q`` and ``p`` broadcast against each other.  A rule is proper when, for every ``q``,
        this is optimised (maximised or minimised, per orientation) at ``p = q``.
        """
        q_arr, p_arr = np.broadcast_arrays(np.asarray(q, float), np.asarray(p, float))
        flat_p = p_arr.ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            s_yes = self.func(np.ones_like(flat_p), flat_p).reshape(p_arr.shape)
            s_no = self.func(np.zeros_like(flat_p), flat_p).reshape(p_arr.shape)
            return q_arr * s_yes + (1.0 - q_arr) * s_no


SCORING_RULES: dict[str, ScoringRule] = {}


def register_scoring_rule(
    name: str, *, greater_is_better: bool, lower: float, upper: float, description: str
) -> Callable[[Callable], Callable]:
    """Decorator that registers ``func(y_true, y_prob) -> scores`` as a :class:`ScoringRule`."""

    def decorate(func: Callable) -> Callable:
        if name in SCORING_RULES:
            raise ValueError(f"Scoring rule {name!r} is already registered.")
        SCORING_RULES[name] = ScoringRule(name, func, greater_is_better, lower, upper, description)
        return func

    return decorate


def get_scoring_rule(name: str) -> ScoringRule:
    """Look a rule up by name; an unknown name raises a ValueError that lists the known ones."""
    try:
        return SCORING_RULES[name]
    except KeyError:
        raise ValueError(f"Unknown scoring rule {name!r}; known rules: {sorted(SCORING_RULES)}.") from None


def _prob_of_outcome(y_true: NDArray[np.float64], y_prob: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(y_true == 1.0, y_prob, 1.0 - y_prob)


@register_scoring_rule(
    "log", greater_is_better=True, lower=-np.inf, upper=0.0, description="ln p(outcome), natural log"
)
def _log_score(y_true: NDArray[np.float64], y_prob: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log(_prob_of_outcome(y_true, y_prob))


@register_scoring_rule(
    "brier", greater_is_better=False, lower=0.0, upper=1.0, description="(p − o)², squared error"
)
def _brier(y_true: NDArray[np.float64], y_prob: NDArray[np.float64]) -> NDArray[np.float64]:
    return (y_prob - y_true) ** 2


@register_scoring_rule(
    "spherical",
    greater_is_better=True,
    lower=0.0,
    upper=1.0,
    description="p(outcome) / √(p² + (1 − p)²)",
)
def _spherical(y_true: NDArray[np.float64], y_prob: NDArray[np.float64]) -> NDArray[np.float64]:
    return _prob_of_outcome(y_true, y_prob) / np.sqrt(y_prob**2 + (1.0 - y_prob) ** 2)


def brier_score(y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Mean squared error of probability forecasts (Brier score, lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
        Outcomes, 0/1.
    y_prob : array-like of shape (n_forecasts,)
        Probabilities of YES in [0, 1].
    sample_weight : array-like of shape (n_forecasts,), optional
        Non-negative weights.

    Returns
    -------
    float
        ``Σ w (p − o)² / Σ w``; equals :func:`sklearn.metrics.brier_score_loss` for binary outcomes.

    References
    ----------
    Brier (1950), see the module references.
    """
    t, p = check_binary_forecasts(y_true, y_prob)
    w = _check_weights(sample_weight, t.shape[0])
    return float(np.average((p - t) ** 2, weights=w))


def log_loss(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None, eps: float | None = None
) -> float:
    """Mean negative log-likelihood of the outcomes (log loss, natural log, lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_forecasts,)
        Outcomes, 0/1.
    y_prob : array-like of shape (n_forecasts,)
        Probabilities of YES in [0, 1].
    sample_weight : array-like of shape (n_forecasts,), optional
        Non-negative weights.
    eps : float, optional
        Probabilities are clipped to ``[eps, 1 − eps]`` so a confident miss stays finite.
        Defaults to the float64 machine epsilon, as :func:`sklearn.metrics.log_loss` does.

    Returns
    -------
    float
        ``−Σ w ln p(outcome) / Σ w``.
    """
    t, p = check_binary_forecasts(y_true, y_prob)
    w = _check_weights(sample_weight, t.shape[0])
    eps = np.finfo(np.float64).eps if eps is None else float(eps)
    if not 0.0 <= eps < 0.5:
        raise ValueError(f"eps must lie in [0, 0.5); got {eps}.")
    p = np.clip(p, eps, 1.0 - eps)
    with np.errstate(divide="ignore"):
        return float(-np.average(np.log(_prob_of_outcome(t, p)), weights=w))


def _check_weights(sample_weight: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},); got {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero.")
    return w
