"""The eight concepts of path dependence (A–H): the one place that names them.

Each concept has a letter, a name, the statistic that resolves its markets, that statistic's
orientation (always: higher = more path-dependent, as the essay "Path dependence in ML inductive
biases" orients it) and plain-language texts for the pages. The experiments registry, the market,
the evaluator and the templates all derive their lists from :data:`CONCEPTS`; adding a ninth concept
means adding one :class:`ConceptInfo` here and one protocol module (see docs/architecture.md).

Two statistics were renamed when their orientation was fixed to follow the essay (§E: a predictive
mid-training model, and §G: surviving early circuits, both count as *more* path dependence).
:data:`LEGACY_STATISTICS` keeps the old names and how they map, so criteria written with them keep
their meaning (see :func:`migrate_criterion`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CONCEPTS", "FACTOR", "FACTOR_INFO", "LEGACY_STATISTICS", "LETTERS", "MARKET_CONCEPTS", "STATISTIC_NAMES",
           "ConceptInfo", "concept_of_statistic", "market_concept", "migrate_criterion"]


@dataclass(frozen=True)
class ConceptInfo:
    letter: str
    name: str
    question: str  # the yes/no question the concept asks
    explanation: str  # what it means, in plain words
    high: str  # what a path-dependent world looks like
    measure: str  # how pathmarket's protocol measures it
    statistic: str = ""  # stable name of the resolving statistic (registry, markets, factor columns)
    orientation: str = ""  # one sentence: why a higher statistic means more path dependence


CONCEPTS: dict[str, ConceptInfo] = {
    info.letter: info
    for info in [
        ConceptInfo(
            "A",
            "Variance across runs",
            "Do independent training runs end up behaving differently?",
            "Train the same model on the same data several times, changing only the random seed. If training "
            "is path-dependent, the finished models disagree — especially on inputs unlike the training data, "
            "where nothing in the loss pins their behaviour down — and their internal representations differ.",
            "Seeds give models that agree on the test set but split on off-distribution inputs.",
            "Mean pairwise disagreement of S seeds on an out-of-distribution probe set (Dis_OOD), with the "
            "in-distribution disagreement, their ratio and the across-seed CKA as context.",
            statistic="dis_ood",
            orientation=("Higher = independently seeded runs disagree more off-distribution, so the seed (the "
                "path) decides more of the final behaviour."),
        ),
        ConceptInfo(
            "B",
            "Sensitivity to small changes",
            "Does a tiny change to the training set-up change the final model as much as a new seed?",
            "Two labs following the same recipe never implement it identically. Here one thing is changed at a "
            "time — only the initialisation seed, only the data order, a single weight nudged by one unit in "
            "the last place, the learning rate or batch size by a few percent, the optimiser — and the result "
            "is compared with a reference run.",
            "Even a one-ulp nudge to one weight ends in a model as different as a fresh seed would be.",
            "For the named change, Dis_OOD between reference and changed run divided by Dis_OOD between "
            "entirely independent seeds (1 means 'as different as a new seed').",
            statistic="dis_ratio",
            orientation=("Higher = the small change moves the final model closer to as far as a new seed would (1 "
                "= as different as a fresh seed)."),
        ),
        ConceptInfo(
            "C",
            "Distinct clusters",
            "When runs differ, do they fall into a few discrete kinds rather than along a continuum?",
            "Differences between runs can be a smear — every run lands somewhere on a spectrum — or a choice "
            "between a handful of distinct solutions, each internally consistent. Modular addition is a known "
            "example: networks learn either a 'clock' or a 'pizza' algorithm.",
            "The behaviour of many seeds is bimodal: each run picks one of a few solutions.",
            "The fraction of seeds in the minority cluster of the behaviour scalar, reported with the dip test "
            "p-value and ΔBIC of a two- versus one-component mixture against a control regime.",
            statistic="minority_fraction",
            orientation=("Higher = a larger share of runs lands in a second, distinct cluster of solutions, so "
                "which cluster a run joins is decided along its path."),
        ),
        ConceptInfo(
            "D",
            "Stability of clusters",
            "Once a run has fallen into a cluster, does it stay there — unless pushed hard?",
            "If clusters are stable attractors, a run commits to one early and keeps it. A small nudge toward "
            "the other solution decays and training returns to the old valley; a large enough push crosses the "
            "ridge and sticks. Either way the outcome snaps to one cluster or the other, never in between.",
            "Interventions either vanish or flip the run completely: a bimodal, 'snap' response.",
            "Spawn children from a parent checkpoint and nudge parameters toward the other cluster by α; the "
            "statistic is the fraction of interventions whose final behaviour lands near one of the two "
            "original clusters.",
            statistic="snap_fraction",
            orientation=("Higher = nudged runs snap back to their own cluster or jump fully to the other one "
                "(stable attractors) instead of ending in between."),
        ),
        ConceptInfo(
            "E",
            "Predictive power of the mid-training model",
            "Can we tell how a run will end by inspecting it part-way through?",
            "If final properties are settled early, an evaluation at a quarter of training already predicts "
            "the outcome, which is what makes early safety checks worth running. If late phase changes "
            "reorganise the model, the mid-training picture is misleading.",
            "A checkpoint at 25% of training predicts the final cluster almost perfectly.",
            "Leave-pair-out AUROC of predicting each seed's final cluster from its 25% checkpoint "
            "(1 = perfectly predictive, 0.5 = chance).",
            statistic="auroc_25",
            orientation=("Higher = the 25% checkpoint predicts the final cluster better: the outcome is settled "
                "early on the path (essay §E, listed under maximum path dependence)."),
        ),
        ConceptInfo(
            "F",
            "Sensitivity to early interventions",
            "Does the same intervention matter more when applied early than late?",
            "Injected examples, a short spell of a different regime, a blocked pathway or blurred inputs can "
            "be applied at different times. In a path-dependent world, an early nudge shapes what is built "
            "and has a lasting effect, while the same nudge late in training washes out.",
            "Early interventions change the final model much more than identical late ones.",
            "(effect of the early intervention − effect of the late one) on the final behaviour, in units of "
            "the seed-to-seed standard deviation.",
            statistic="early_late_effect",
            orientation=("Higher = the same intervention changes the final model more when applied early than late "
                "(critical periods)."),
        ),
        ConceptInfo(
            "G",
            "Survival of circuits",
            "Are circuits learned early still there at the end, or are they torn down and replaced?",
            "Some early structure persists unchanged to the end of training; some is wiped out when a more "
            "efficient mechanism arrives (grokking is the classic case). The more survives, the more the order "
            "in which things were learned shapes the final model.",
            "Early representations survive: the final model still computes with them.",
            "Linear CKA between early-checkpoint and final representations, averaged over seeds (1 = the "
            "early representation survives intact), with retention P(final correct | early correct) as context.",
            statistic="cka_early_final",
            orientation=("Higher = early representations survive to the end of training (essay §G: more survival "
                "of circuits means higher path dependence)."),
        ),
        ConceptInfo(
            "H",
            "Closed-form inductive bias",
            "Can we predict which solution training finds from the solutions alone, without replaying training?",
            "A closed-form bias (fewest units, smallest weight norm, lowest-degree interpolant) would let us "
            "pick the winner by inspecting the candidates. If instead the winner depends on what is learned "
            "first — fast features screening off slow ones — we must reason step by step through training.",
            "The order in which features are learned predicts the outcome better than any static measure.",
            "Across a family of task variants: hit rate of the learning-order prediction minus hit rate of "
            "the static (closed-form) prediction.",
            statistic="hit_rate_gap",
            orientation=("Higher = the learning order predicts the solution found better than any static, "
                "closed-form measure, so one must replay the path."),
        ),
    ]
}


LETTERS: tuple[str, ...] = tuple(CONCEPTS)
"""The concept letters in order ("A" … "H")."""
STATISTIC_NAMES: dict[str, str] = {letter: info.statistic for letter, info in CONCEPTS.items()}
"""Concept letter → the stable name of its resolving statistic."""
FACTOR = "g"
"""The market concept of the general factor (lower-case, as psychometrics writes its *g*)."""
FACTOR_INFO = ConceptInfo(
    FACTOR,
    "The general factor",
    "Do the eight concepts rise and fall together across trained settings?",
    "The essay guesses that one general factor of path dependence lies behind A–H: a setting whose seeds "
    "disagree would also be sensitive to small changes, split into clusters, and so on. A survey campaign "
    "trains many settings, measures all eight concepts on each, and asks how much of their co-variation "
    "one component (PC1) carries, against a parallel-analysis null.",
    "PC1 carries far more variance than the null, and every concept loads on it with the same sign.",
    "A survey campaign drawn at the market's close from a pre-registered design with a hidden seed; "
    "PC1's share of variance, its excess over the null's 95th percentile, a concept's loading or the "
    "product of two loadings, each with a bootstrap CI over rows (docs/factor-markets.md).",
    statistic="pc1_share",
    orientation="Higher = the concepts co-vary more, as one trait of a training setting.",
)
"""Markets on the factor (concept ``g``) are resolved by a survey campaign, not by one protocol."""
MARKET_CONCEPTS: dict[str, ConceptInfo] = {**CONCEPTS, FACTOR: FACTOR_INFO}
"""What a market may be about: the eight concepts and the general factor."""


def market_concept(value: str) -> str | None:
    """A concept filter's value → ``"A"`` … ``"H"`` (either case) or ``"g"`` (the general factor); None
    when it names neither. Lower-case ``g`` is the factor, so ``G`` must be written in capitals."""
    if value == FACTOR:
        return FACTOR
    return value.upper() if value.upper() in CONCEPTS else None


LEGACY_STATISTICS: dict[str, str] = {"one_minus_auroc_25": "auroc_25", "one_minus_cka": "cka_early_final"}
"""Old statistic names (oriented the other way) → today's name; the old value was ``1 − new``."""
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def concept_of_statistic(name: str) -> str:
    """The concept letter whose statistic is ``name`` (legacy names included); ``KeyError`` otherwise."""
    name = LEGACY_STATISTICS.get(name, name)
    for letter, statistic in STATISTIC_NAMES.items():
        if statistic == name:
            return letter
    raise KeyError(name)


def migrate_criterion(statistic: str, comparator: str, threshold: float) -> tuple[str, str, float]:
    """Rewrite a criterion on a legacy statistic so that it asks the same question of today's one.

    ``1 − x  <cmp>  t``  ⇔  ``x  <flipped cmp>  1 − t``, so the same experiment outcome gives the same
    YES/NO. Criteria on current statistics come back unchanged. ``1 − t`` is rounded to 12 decimals,
    so a threshold written as 0.2 becomes 0.8, not 0.8000000000000000444.
    """
    if statistic not in LEGACY_STATISTICS:
        return statistic, comparator, threshold
    if comparator not in _FLIP:
        raise ValueError(f"comparator must be one of {', '.join(_FLIP)}; got {comparator!r}")
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be finite; got {threshold!r}")
    return LEGACY_STATISTICS[statistic], _FLIP[comparator], round(1.0 - float(threshold), 12)
