"""Numeric markets' outcome space and the target distributions a forecaster submits, pure numpy.

A numeric market cuts ``[lo, hi]`` into ``n`` equal bins; an open lower (upper) end adds an overflow
bin before (after) them for values below ``lo`` (above ``hi``). A closed end is a promise that the
statistic lies inside: a value beyond it counts in the nearest interior bin.

A forecaster states a distribution in one of three forms, each turned into one probability per outcome
(``pmf``):

* ``cdf``: n + 1 non-decreasing values from 0 to 1, the CDF at the interior bin edges
  (F(lo) is the mass of the lower overflow bin, 1 − F(hi) that of the upper one; a closed end needs
  F(lo) = 0 or F(hi) = 1);
* ``components``: a mixture of 1–3 logistic distributions ``{center, spread, weight}`` (spread is the
  logistic scale s; weights sum to 1), truncated to the closed ends;
* ``quantiles``: ``{"0.1": x, …}`` — a CDF through those points, linear between them and logistic
  beyond the outer ones.

Every outcome keeps at least ``FLOOR`` of the mass spread evenly (p ← (1 − FLOOR)·p + FLOOR/N), so a
forecast never claims an outcome is impossible: its log score and its LMSR cost stay finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

MAX_BINS = 200
MAX_COMPONENTS = 3
FLOOR = 0.01  # share of the mass spread evenly over all outcomes
WEIGHT_TOLERANCE = 1e-6


class DistributionError(ValueError):
    """A bad target distribution; ``field`` names the input at fault (``cdf``, ``components.0.spread`` …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Bins:
    """The outcome space of a numeric market."""

    lo: float
    hi: float
    n: int  # interior bins
    open_lower: bool = False
    open_upper: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(f"the range must be finite with lo < hi, got [{self.lo}, {self.hi}]")
        if not (2 <= int(self.n) <= MAX_BINS):
            raise ValueError(f"a numeric market has 2 to {MAX_BINS} bins, got {self.n}")

    @property
    def n_outcomes(self) -> int:
        return self.n + int(self.open_lower) + int(self.open_upper)

    @property
    def edges(self) -> np.ndarray:
        """The n + 1 interior bin edges, lo … hi."""
        return np.linspace(self.lo, self.hi, self.n + 1)

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / self.n

    def outcome_of(self, value: float) -> int:
        """The outcome (index into the pmf) that holds ``value``."""
        if not math.isfinite(value):
            raise ValueError(f"the statistic must be finite, got {value!r}")
        first = int(self.open_lower)
        if value < self.lo:
            return 0 if self.open_lower else first
        if value > self.hi:
            return self.n_outcomes - 1 if self.open_upper else first + self.n - 1
        inner = min(int((value - self.lo) / self.width), self.n - 1)
        return first + inner

    def labels(self) -> list[str]:
        """A short label per outcome: ``< lo``, ``[a, b)``, …, ``> hi``."""
        e = self.edges
        inner = [f"[{e[i]:.4g}, {e[i + 1]:.4g})" for i in range(self.n)]
        return [
            *([f"< {self.lo:.4g}"] if self.open_lower else []),
            *inner,
            *([f"> {self.hi:.4g}"] if self.open_upper else []),
        ]

    def pmf_from_cdf(self, cdf: np.ndarray) -> np.ndarray:
        """Outcome probabilities from the CDF at the interior edges (no floor)."""
        inner = np.diff(cdf)
        lower = [cdf[0]] if self.open_lower else []
        upper = [1.0 - cdf[-1]] if self.open_upper else []
        return np.concatenate([lower, inner, upper])

    def cdf_from_pmf(self, pmf: np.ndarray) -> np.ndarray:
        """The CDF at the interior edges from outcome probabilities."""
        pmf = np.asarray(pmf, dtype=float)
        start = pmf[0] if self.open_lower else 0.0
        inner = pmf[int(self.open_lower) : int(self.open_lower) + self.n]
        return np.concatenate([[start], start + np.cumsum(inner)])


def with_floor(pmf: np.ndarray) -> np.ndarray:
    """(1 − FLOOR)·p + FLOOR/N, renormalized (every outcome keeps some mass)."""
    p = np.clip(np.asarray(pmf, dtype=float), 0.0, None)
    p = p / p.sum()
    p = (1.0 - FLOOR) * p + FLOOR / p.size
    return p / p.sum()


def _finite_numbers(values: object, field: str) -> np.ndarray:
    if not isinstance(values, list | tuple) or not values:
        raise DistributionError(field, f"{field} must be a non-empty list of numbers.")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise DistributionError(field, f"{field}[{i}] must be a number, got {v!r}.")
        if not math.isfinite(v):
            raise DistributionError(field, f"{field}[{i}] must be a finite number, not {v}.")
    return np.asarray(values, dtype=float)


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DistributionError(field, f"{field} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise DistributionError(field, f"{field} must be a finite number, not {value}.")
    return float(value)


def pmf_from_cdf_values(bins: Bins, cdf: object) -> np.ndarray:
    """Validate a submitted CDF and return the outcome probabilities (floored)."""
    arr = _finite_numbers(cdf, "cdf")
    if arr.size != bins.n + 1:
        raise DistributionError(
            "cdf", f"cdf must have n + 1 = {bins.n + 1} values (one per bin edge), got {arr.size}."
        )
    if arr.min() < 0 or arr.max() > 1:
        raise DistributionError("cdf", "cdf values must lie between 0 and 1.")
    if np.any(np.diff(arr) < 0):
        i = int(np.argmax(np.diff(arr) < 0))
        raise DistributionError(
            "cdf", f"cdf must be non-decreasing; it falls from {arr[i]:g} to {arr[i + 1]:g} at edge {i + 1}."
        )
    if not bins.open_lower and arr[0] != 0:
        raise DistributionError("cdf", "the lower end is closed, so cdf must start at 0.")
    if not bins.open_upper and arr[-1] != 1:
        raise DistributionError("cdf", "the upper end is closed, so cdf must end at 1.")
    if arr[-1] - arr[0] <= 0 and not (bins.open_lower or bins.open_upper):
        raise DistributionError("cdf", "cdf must rise from 0 to 1.")
    return with_floor(bins.pmf_from_cdf(arr))


def logistic_cdf(x: np.ndarray, center: float, spread: float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh((np.asarray(x, dtype=float) - center) / (2.0 * spread)))


def components_validate(components: object) -> list[tuple[float, float, float]]:
    """[(center, spread, weight)] from the submitted list, or DistributionError naming the field."""
    if not isinstance(components, list | tuple) or not components:
        raise DistributionError(
            "components", "components must be a list of 1 to 3 objects {center, spread, weight}."
        )
    if len(components) > MAX_COMPONENTS:
        raise DistributionError("components", f"at most {MAX_COMPONENTS} components, got {len(components)}.")
    out = []
    for i, comp in enumerate(components):
        if not isinstance(comp, dict):
            raise DistributionError(
                f"components.{i}", f"components[{i}] must be an object {{center, spread, weight}}."
            )
        missing = [k for k in ("center", "spread", "weight") if k not in comp]
        if missing:
            raise DistributionError(
                f"components.{i}.{missing[0]}", f"components[{i}].{missing[0]} is required."
            )
        center = _number(comp["center"], f"components.{i}.center")
        spread = _number(comp["spread"], f"components.{i}.spread")
        weight = _number(comp["weight"], f"components.{i}.weight")
        if spread <= 0:
            raise DistributionError(
                f"components.{i}.spread", f"components[{i}].spread must be > 0, got {spread:g}."
            )
        if weight < 0:
            raise DistributionError(
                f"components.{i}.weight", f"components[{i}].weight must be ≥ 0, got {weight:g}."
            )
        out.append((center, spread, weight))
    total = sum(w for _, _, w in out)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise DistributionError("components", f"the components' weights must sum to 1, got {total:g}.")
    return out


def _truncate(bins: Bins, cdf: np.ndarray, *, field: str) -> np.ndarray:
    """Condition a CDF at the edges on the statistic lying inside the closed ends."""
    below = 0.0 if bins.open_lower else cdf[0]
    above = 1.0 if bins.open_upper else cdf[-1]
    if above - below <= 1e-12:
        raise DistributionError(
            field, f"the {field} put no mass inside the range [{bins.lo:g}, {bins.hi:g}]."
        )
    return (cdf - below) / (above - below)


def pmf_from_components(bins: Bins, components: object) -> np.ndarray:
    """Outcome probabilities of a logistic mixture (floored); closed ends truncate it."""
    comps = components_validate(components)
    edges = bins.edges
    cdf = sum(w * logistic_cdf(edges, c, s) for c, s, w in comps)
    cdf = _truncate(bins, np.asarray(cdf, dtype=float), field="components")
    return with_floor(bins.pmf_from_cdf(np.clip(cdf, 0.0, 1.0)))


def pmf_from_quantiles(bins: Bins, quantiles: object) -> np.ndarray:
    """Outcome probabilities from ``{level: value}`` (floored): a CDF linear between the points and
    logistic beyond the outer ones (with the scale the two outer points imply)."""
    if not isinstance(quantiles, dict) or not quantiles:
        raise DistributionError(
            "quantiles", 'quantiles must be an object like {"0.1": x, "0.5": y, "0.9": z}.'
        )
    pts = []
    for key, value in quantiles.items():
        try:
            level = float(key)
        except (TypeError, ValueError):
            raise DistributionError("quantiles", f"quantile level {key!r} is not a number.") from None
        if not (0.0 < level < 1.0):
            raise DistributionError("quantiles", f"quantile level {key!r} must lie strictly between 0 and 1.")
        x = _number(value, f"quantiles.{key}")
        lo_ok = bins.open_lower or x >= bins.lo
        hi_ok = bins.open_upper or x <= bins.hi
        if not (lo_ok and hi_ok):
            raise DistributionError(
                f"quantiles.{key}",
                f"quantile {key} = {x:g} lies outside the range [{bins.lo:g}, {bins.hi:g}].",
            )
        pts.append((level, x))
    if len(pts) < 2:
        raise DistributionError("quantiles", "give at least two quantiles.")
    pts.sort()
    levels = np.array([p for p, _ in pts])
    xs = np.array([x for _, x in pts])
    if np.any(np.diff(xs) <= 0):
        raise DistributionError("quantiles", "quantile values must increase with their levels.")
    edges = bins.edges
    cdf = np.interp(edges, xs, levels)
    # Logistic tails matched to the outer points: scale from the two outermost quantiles.
    scale = (xs[-1] - xs[0]) / max(
        math.log(levels[-1] / (1 - levels[-1])) - math.log(levels[0] / (1 - levels[0])), 1e-9
    )
    left, right = edges < xs[0], edges > xs[-1]
    cdf[left] = levels[0] * 2.0 * logistic_cdf(edges[left], xs[0], scale)
    cdf[right] = 1.0 - (1.0 - levels[-1]) * 2.0 * (1.0 - logistic_cdf(edges[right], xs[-1], scale))
    cdf = _truncate(bins, cdf, field="quantiles")
    return with_floor(bins.pmf_from_cdf(np.clip(cdf, 0.0, 1.0)))


def pmf_from_input(bins: Bins, data: dict) -> tuple[np.ndarray, str]:
    """The outcome probabilities of whichever form ``data`` holds; returns (pmf, the form's name)."""
    forms = [k for k in ("cdf", "components", "quantiles") if k in data]
    if not forms:
        raise DistributionError("distribution", "send one of cdf, components or quantiles.")
    if len(forms) > 1:
        raise DistributionError(
            forms[1], f"send only one of cdf, components or quantiles; got {', '.join(forms)}."
        )
    form = forms[0]
    builder = {
        "cdf": pmf_from_cdf_values,
        "components": pmf_from_components,
        "quantiles": pmf_from_quantiles,
    }[form]
    return builder(bins, data[form]), form


def support_edges(edges: ArrayLike, *, open_lower: bool, open_upper: bool) -> NDArray[np.float64]:
    """The N + 1 edges of every outcome: the interior edges, extended by one bin width per open end."""
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 3 or np.any(np.diff(e) <= 0) or not np.all(np.isfinite(e)):
        raise ValueError("edges must be at least 3 finite, increasing values.")
    w = e[1] - e[0]
    return np.concatenate([[e[0] - w] if open_lower else [], e, [e[-1] + w] if open_upper else []])
