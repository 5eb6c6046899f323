"""Pure maths of a question's evidence: distances between settings, the nearest ones, and where a
threshold falls among their statistics (docs/evidence.md).

numpy in, dataclasses out; no ORM and no registry (experiments/evidence/space.py maps parameters to
the unit coordinates used here).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

COMPARATORS: tuple[str, ...] = (">=", ">", "<=", "<")
SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
MIN_ROWS_TO_WARN = 5
"""Fewer nearby values than this say too little to call a question foregone."""
ONE_SIDED = 0.95
"""Share of nearby values on one side of the threshold from which the outcome looks essentially certain."""


def setting_distances(
    target: np.ndarray, points: np.ndarray, *, mismatches: np.ndarray | None = None
) -> np.ndarray:
    """Root-mean-square distance of each point from the target over the coordinates both have.

    Parameters
    ----------
    target : ndarray of shape (d,)
        The question's setting in unit coordinates (0 and 1 = the ends of the surveyed range of each
        parameter, on a log scale for log-ish parameters); NaN = not set.
    points : ndarray of shape (n, d)
        The candidate settings in the same coordinates; NaN = not set.
    mismatches : ndarray of shape (n,), optional
        Number of categorical protocol variants (B's change, F's intervention…) in which a point differs
        from the target; each adds 1 (a whole surveyed range) to its distance.

    Returns
    -------
    ndarray of shape (n,)
        Distances ≥ 0; ``inf`` for a point that shares no coordinate with the target (when ``d > 0``).
    """
    target = np.asarray(target, dtype=float)
    points = np.asarray(points, dtype=float).reshape(-1, target.shape[0])
    if target.ndim != 1:
        raise ValueError(f"target must be one-dimensional; got shape {target.shape}")
    diff = points - target[None, :]
    present = np.isfinite(diff)
    count = present.sum(axis=1)
    squares = np.where(present, diff, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt(squares.sum(axis=1) / count)
    if target.shape[0] == 0:
        dist = np.zeros(points.shape[0])
    dist = np.where((count == 0) & (target.shape[0] > 0), np.inf, dist)
    if mismatches is not None:
        dist = dist + np.asarray(mismatches, dtype=float)
    return dist


def nearest(distances: np.ndarray, *, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest finite distances, nearest first (ties keep the input order)."""
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    distances = np.asarray(distances, dtype=float)
    finite = np.flatnonzero(np.isfinite(distances))
    order = finite[np.argsort(distances[finite], kind="stable")]
    return order[:k]


def holds(values: np.ndarray, comparator: str, threshold: float) -> np.ndarray:
    """``values <comparator> threshold`` elementwise (False for NaN), as the decision rule reads it."""
    if comparator not in COMPARATORS:
        raise ValueError(f"comparator must be one of {', '.join(COMPARATORS)}; got {comparator!r}")
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        out = {">=": v >= threshold, ">": v > threshold, "<=": v <= threshold, "<": v < threshold}[comparator]
    return out & np.isfinite(v)


def ci_sides(ci_low: np.ndarray, ci_high: np.ndarray, comparator: str, threshold: float) -> np.ndarray:
    """How each CI would settle the question: "yes" (the whole CI satisfies it), "no" (none of it
    does), "straddles", or "" (no CI). Same rule as experiments/decision.py, without adding seeds."""
    lo, hi = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    known = np.isfinite(lo) & np.isfinite(hi)
    a, b = holds(lo, comparator, threshold), holds(hi, comparator, threshold)
    return np.where(~known, "", np.where(a & b, "yes", np.where(~a & ~b, "no", "straddles")))


@dataclass(frozen=True)
class Summary:
    """The statistic over the nearby settings, against the question's threshold."""

    n: int
    n_yes: int
    """Settings whose statistic satisfies the question (the YES side)."""
    share_yes: float
    minimum: float
    q25: float
    median: float
    q75: float
    maximum: float
    threshold_quantile: float
    """Share of the values below the threshold (0 = the threshold lies under all of them)."""
    threshold_position: str
    """"below", "inside" or "above" the observed range [minimum, maximum]."""
    ci_yes: int
    """Settings whose whole CI satisfies the question (a run like them would resolve YES)."""
    ci_no: int
    ci_straddles: int

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(
    values: np.ndarray,
    *,
    comparator: str,
    threshold: float,
    ci_low: np.ndarray | None = None,
    ci_high: np.ndarray | None = None,
) -> Summary | None:
    """Where ``threshold`` falls among ``values`` (finite ones); None when there is none.

    Parameters
    ----------
    values : ndarray of shape (n,)
        The statistic of each nearby setting (NaN ignored).
    comparator, threshold
        The question: YES when ``statistic <comparator> threshold``.
    ci_low, ci_high : ndarray of shape (n,), optional
        Each value's CI, to count the settings whose CI alone would settle the question.
    """
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be a finite number; got {threshold!r}")
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v)
    if not keep.any():
        return None
    lo = np.full(v.shape, np.nan) if ci_low is None else np.asarray(ci_low, dtype=float)
    hi = np.full(v.shape, np.nan) if ci_high is None else np.asarray(ci_high, dtype=float)
    v, lo, hi = v[keep], lo[keep], hi[keep]
    yes = holds(v, comparator, threshold)
    sides = ci_sides(lo, hi, comparator, threshold)
    q = np.quantile(v, [0.25, 0.5, 0.75])
    lowest, highest = float(v.min()), float(v.max())
    position = "below" if threshold < lowest else "above" if threshold > highest else "inside"
    return Summary(
        n=int(v.size),
        n_yes=int(yes.sum()),
        share_yes=float(yes.mean()),
        minimum=lowest,
        q25=float(q[0]),
        median=float(q[1]),
        q75=float(q[2]),
        maximum=highest,
        threshold_quantile=float((v < threshold).mean()),
        threshold_position=position,
        ci_yes=int((sides == "yes").sum()),
        ci_no=int((sides == "no").sum()),
        ci_straddles=int((sides == "straddles").sum()),
    )


@dataclass(frozen=True)
class Warning:
    """Why a question looks foregone from the nearby evidence."""

    code: str
    """"outside_range" (the threshold lies beyond every nearby value) or "one_sided" (≥ 95% on one side)."""
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def foregone_warning(
    summary: Summary | None,
    *,
    statistic: str,
    comparator: str,
    threshold: float,
    min_rows: int = MIN_ROWS_TO_WARN,
    one_sided: float = ONE_SIDED,
) -> Warning | None:
    """A warning when the nearby evidence says the outcome is essentially certain; None otherwise.

    Fires when the threshold lies outside the observed range of the statistic, or when at least
    ``one_sided`` of the values lie on one side of it; never on fewer than ``min_rows`` values.
    """
    if summary is None or summary.n < min_rows:
        return None
    sym = SYMBOLS[comparator]
    side = "YES" if summary.share_yes >= 0.5 else "NO"
    if summary.threshold_position != "inside":
        where = "below the lowest" if summary.threshold_position == "below" else "above the highest"
        return Warning(
            "outside_range",
            (
                f"The threshold {threshold:g} lies {where} {statistic} of the {summary.n} nearest settings "
                f"(observed {summary.minimum:.4g} – {summary.maximum:.4g}): every one of them is on the "
                f"{side} side "
                f"of '{statistic} {sym} {threshold:g}', so the market looks like a foregone {side}."
            ),
        )
    share = max(summary.share_yes, 1.0 - summary.share_yes)
    if share >= one_sided:
        return Warning(
            "one_sided",
            (
                f"{share:.0%} of the {summary.n} nearest settings are on the {side} side of "
                f"'{statistic} {sym} {threshold:g}' (observed {summary.minimum:.4g} – "
                f"{summary.maximum:.4g}), so the outcome looks essentially certain."
            ),
        )
    return None


def headline(summary: Summary | None, *, statistic: str, comparator: str, threshold: float) -> str:
    """One sentence: e.g. "72% of the 18 nearest settings have dis_ood ≥ 0.03 (the YES side)"."""
    if summary is None:
        return ""
    noun, verb = ("setting", "has") if summary.n == 1 else ("settings", "have")
    return (
        f"{summary.share_yes:.0%} of the {summary.n} nearest {noun} {verb} {statistic} {SYMBOLS[comparator]} "
        f"{threshold:g} (the YES side); the threshold sits at the {summary.threshold_quantile:.0%} "
        f"quantile of their values."
    )
