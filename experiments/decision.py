"""The pre-registered decision rule that turns a statistic and its confidence interval into an outcome.

Pure Python (no Django, no torch), so the rule can be unit-tested and quoted in the report.

The rule (docs/pipeline.md, "Lifecycle"):

1. The market asks "statistic <comparator> threshold?" with a confidence level; the experiment
   reports the statistic with a bootstrap percentile CI at that level.
2. If the whole CI satisfies the comparison, the market resolves YES; if no point of the CI
   satisfies it, NO.
3. If the CI straddles the threshold (or is not finite), the run adds seeds — the count doubles,
   capped by the spec's ``seed_budget`` — and decides again.
4. Still straddling with the budget spent: the market is annulled and every position refunded.

References
----------
Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*, ch. 13 (percentile interval).
Lakens, D. (2017). Equivalence tests. *Social Psychological and Personality Science* 8(4) — deciding
from the position of a CI relative to a bound rather than from a point estimate.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

Comparator = Literal[">=", ">", "<=", "<"]
COMPARATORS: tuple[str, ...] = (">=", ">", "<=", "<")
Outcome = Literal["yes", "no", "more_seeds", "annul"]


@dataclass(frozen=True)
class Criterion:
    """A market's pre-registered resolution criterion (the experiment spec is stored beside it)."""

    statistic: str
    """Name of the statistic the market is about: the protocol's headline statistic or one of its
    ``alternate_statistics`` (the finalizer passes that statistic's value and CI to :func:`decide`)."""
    comparator: str
    """One of ``>=``, ``>``, ``<=``, ``<``: YES when ``statistic <comparator> threshold``."""
    threshold: float
    """The value the statistic is compared with."""
    confidence: float = 0.95
    """Confidence level of the bootstrap CI, in (0, 1)."""

    def __post_init__(self) -> None:
        if self.comparator not in COMPARATORS:
            raise ValueError(f"comparator must be one of {', '.join(COMPARATORS)}; got {self.comparator!r}")
        if not math.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be a finite number; got {self.threshold!r}")
        if not 0.0 < float(self.confidence) < 1.0:
            raise ValueError(f"confidence must lie in (0, 1); got {self.confidence!r}")

    @classmethod
    def from_dict(cls, data: dict) -> Criterion:
        """Build from the JSON stored on a run; raises ``ValueError`` naming a missing key."""
        missing = [key for key in ("statistic", "comparator", "threshold") if key not in data]
        if missing:
            raise ValueError(f"criterion is missing {', '.join(missing)}")
        return cls(
            statistic=str(data["statistic"]),
            comparator=str(data["comparator"]),
            threshold=float(data["threshold"]),
            confidence=float(data.get("confidence", 0.95)),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """The criterion in words, e.g. ``YES if dis_ood >= 0.03 (95% CI)``."""
        return f"YES if {self.statistic} {self.comparator} {self.threshold:g} ({self.confidence:.0%} CI)"


@dataclass(frozen=True)
class Decision:
    """What to do with a run's result."""

    outcome: str
    """``yes``, ``no``, ``more_seeds`` or ``annul``."""
    reason: str
    """One sentence a reader of the report can check against the numbers."""
    next_seed_count: int | None = None
    """For ``more_seeds``: how many seeds the run should hold after the extension."""

    def to_dict(self) -> dict:
        return asdict(self)


def _holds(value: float, comparator: str, threshold: float) -> bool:
    if comparator == ">=":
        return value >= threshold
    if comparator == ">":
        return value > threshold
    if comparator == "<=":
        return value <= threshold
    return value < threshold


def next_seed_count(current: int, budget: int) -> int:
    """Seeds after one extension round: double the count, capped by the budget.

    Doubling shrinks a bootstrap CI by about 1/√2 per round, so a budget of 8× the initial seeds
    allows three rounds.
    """
    if current < 1:
        raise ValueError(f"current seed count must be >= 1; got {current}")
    return min(int(budget), 2 * int(current))


def decide(
    *,
    criterion: Criterion,
    statistic: float,
    ci_low: float,
    ci_high: float,
    n_seeds: int,
    seed_budget: int,
    unit: str = "seeds",
) -> Decision:
    """Apply the pre-registered rule to one result.

    Parameters
    ----------
    criterion : Criterion
        The market's comparator, threshold and confidence level.
    statistic, ci_low, ci_high : float
        The point estimate and its bootstrap percentile interval (``ci_low <= ci_high``).
    n_seeds : int
        Seeds behind this result.
    seed_budget : int
        Most seeds the spec allows the run to use (``>= n_seeds``).
    unit : str, default="seeds"
        What is counted, in the reasons: a survey campaign that resolves a factor market extends by
        rows, not seeds (docs/factor-markets.md), under the same rule.

    Returns
    -------
    Decision
        ``yes``/``no`` when the whole CI lies on one side of the threshold; ``more_seeds`` when it
        straddles and the budget allows more; ``annul`` when it straddles with the budget spent.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1; got {n_seeds}")
    budget = max(int(seed_budget), int(n_seeds))
    thr, cmp_ = criterion.threshold, criterion.comparator
    level = f"{criterion.confidence:.0%} CI"
    values = (statistic, ci_low, ci_high)
    if all(v is not None and math.isfinite(float(v)) for v in values):
        lo, hi = sorted((float(ci_low), float(ci_high)))
        if _holds(lo, cmp_, thr) and _holds(hi, cmp_, thr):
            return Decision(
                "yes",
                f"The whole {level} [{lo:.4g}, {hi:.4g}] satisfies {criterion.statistic} {cmp_} {thr:g} "
                f"({n_seeds} {unit}).",
            )
        if not _holds(lo, cmp_, thr) and not _holds(hi, cmp_, thr):
            return Decision(
                "no",
                f"No point of the {level} [{lo:.4g}, {hi:.4g}] satisfies {criterion.statistic} {cmp_} "
                f"{thr:g} ({n_seeds} {unit}).",
            )
        problem = f"The {level} [{lo:.4g}, {hi:.4g}] straddles the threshold {thr:g}"
    else:
        problem = f"The statistic or its CI is not a finite number ({statistic}, [{ci_low}, {ci_high}])"
    if n_seeds < budget:
        target = next_seed_count(n_seeds, budget)
        return Decision("more_seeds", f"{problem} with {n_seeds} {unit}; adding {unit} up to {target}.",
                        target)
    return Decision(
        "annul",
        f"{problem} with all {n_seeds} {unit} of the budget; the experiment cannot settle the question, "
        "so the market is annulled and every position refunded.",
    )
