"""Markets that ``manage.py seed_markets`` creates: at least two per concept A–H, and the factor markets (g).

To add a market, append a SeedMarket; ``close_in`` is measured from the moment the seed command runs.
Titles identify seed markets, so seeding twice creates nothing new.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class SeedMarket:
    title: str
    question: str
    spec: dict
    statistic: str
    comparator: str
    threshold: float
    close_in: timedelta = timedelta(weeks=3)
    liquidity: float = 100.0
    confidence: float = 0.95
    extra: dict = field(default_factory=dict)


def _spec(concept: str, task: str, arch: str, seeds: int, **params: object) -> dict:
    return {"concept": concept, "task": task, "arch": arch, "preset": "default", "seeds": seeds,
            "seed_budget": 2 * seeds, "params": params}


WEEK = timedelta(weeks=1)

SEED_MARKETS: list[SeedMarket] = [
    # A. Variance across runs
    SeedMarket(
        "A · digits MLPs disagree off-distribution",
        "Train 32 seeds of an MLP on scikit-learn digits. On test digits with Gaussian noise (σ = 0.3 of the "
        "pixel range), do two seeds disagree on at least 20% of images on average?",
        _spec("A", "digits", "mlp", 32, noise=0.3),
        "dis_ood", ">=", 0.2, 3 * WEEK,
    ),
    SeedMarket(
        "A · digits CNNs agree off-distribution",
        "Small CNNs have a stronger built-in bias than MLPs. Do 32 CNN seeds on digits disagree on fewer than "
        "15% of noisy test images on average?",
        _spec("A", "digits", "cnn", 32, noise=0.3),
        "dis_ood", "<", 0.15, 4 * WEEK,
    ),
    # Re-aimed (issue 14, "no foregone conclusions"): the old market "A · modular-addition transformers
    # vary across seeds" asked dis_ood >= 0.02, but grokked seeds predict the same held-out sums, so
    # Dis_OOD ≈ 0 and it always resolved NO. What does vary is the gradient symmetricity (clock vs
    # pizza). Measured with `run_experiment A modadd --arch transformer --preset tiny --seeds 8
    # --set p=59 --set alpha=1.0 --set train_frac=0.6 --set weight_decay=1.0 --set width=32
    # --set steps=1000 --set lr=3e-3 --device cpu` (98 s): OOD accuracy 0.9998, dis_ood 0.00036
    # (95% CI [0, 0.0009]); symmetricity 0.25–0.85, behaviour_sd 0.188 (95% CI [0.084, 0.244]).
    # 0.15 lies inside that CI. (4 seeds of the same setting: dis_ood 0.0007, behaviour_sd 0.214.)
    SeedMarket(
        "A · grokked modular-addition transformers end at different algorithms",
        "1-layer transformers learn (a + b) mod 59 from 60% of the table; once they generalize, every seed "
        "predicts the same held-out sums. Do they still differ inside: is the standard deviation across 32 "
        "seeds of the gradient symmetricity (near 1 for the pizza algorithm, lower for the clock) at least 0.15?",
        _spec("A", "modadd", "transformer", 32, p=59, alpha=1.0, train_frac=0.6, weight_decay=1.0),
        "behaviour_sd", ">=", 0.15, 5 * WEEK,
    ),
    # B. Small changes
    SeedMarket(
        "B · one ulp changes a digits MLP as much as half a new seed",
        "Nudge a single weight of a digits MLP by one unit in the last place (torch.nextafter) and retrain. Is "
        "the off-distribution disagreement with the reference at least half of what a completely new seed gives?",
        _spec("B", "digits", "mlp", 32, noise=0.3, change="one_ulp"),
        "dis_ratio", ">=", 0.5, 3 * WEEK,
    ),
    SeedMarket(
        "B · data order alone matters on linear + slab data",
        "On Shah et al.'s linear + 5-slab data, change only the order of the training batches. Does the "
        "resulting model differ off-distribution at least 15% as much as a fresh seed would?",
        _spec("B", "lms", "mlp", 32, n_slab=20, margin=0.1, change="data_order"),
        "dis_ratio", ">=", 0.15, 4 * WEEK,
    ),
    # C. Distinct clusters
    SeedMarket(
        "C · clock and pizza both appear in modular addition",
        "With attention α = 0.5 (halfway between softmax and uniform), do at least 10% of 48 seeds fall in the "
        "minority algorithm cluster (clock vs pizza, by gradient symmetricity)?",
        _spec("C", "modadd", "transformer", 48, p=59, alpha=0.5, train_frac=0.6, weight_decay=1.0),
        "minority_fraction", ">=", 0.10, 4 * WEEK,
    ),
    SeedMarket(
        "C · sparse-parity MLPs split into two kinds of learner",
        "Train 48 seeds of an MLP on 3-sparse parity over 12 bits. Do at least 10% of them fall in a second, "
        "distinct cluster of the behaviour scalar (the step at which the loss drops)?",
        _spec("C", "sparse_parity", "mlp", 48, n=12, k=3),
        "minority_fraction", ">=", 0.10, 5 * WEEK,
    ),
    # D. Stability of clusters
    SeedMarket(
        "D · modular-addition clusters snap back or flip",
        "Nudge mid-training transformers toward the other algorithm by α on a grid and keep training. Do at "
        "least 70% of the interventions end within a margin of one of the two original clusters?",
        _spec("D", "modadd", "transformer", 32, p=59, alpha=0.5, train_frac=0.6, weight_decay=1.0),
        "snap_fraction", ">=", 0.7, 5 * WEEK,
    ),
    SeedMarket(
        "D · nudged digits MLPs snap back or flip",
        "Interpolate mid-training digits MLPs toward a model of the other behaviour cluster and keep training. "
        "Do at least 10% of the interventions end near one of the two original clusters?",
        _spec("D", "digits", "mlp", 32, noise=0.3),
        "snap_fraction", ">=", 0.1, 3 * WEEK,
    ),
    # E. Mid-training predictiveness
    SeedMarket(
        "E · the 25% checkpoint predicts clock vs pizza",
        "From checkpoints at a quarter of training, can a leave-one-out classifier predict each seed's final "
        "algorithm with a leave-pair-out AUROC of at least 0.8?",
        _spec("E", "modadd", "transformer", 48, p=59, alpha=0.5, train_frac=0.6, weight_decay=1.0),
        "auroc_25", ">=", 0.8, 4 * WEEK,
    ),
    SeedMarket(
        "E · early slab reliance predicts the final MLP",
        "On linear + slab data, does the 25% checkpoint predict whether a seed ends up using the slabs with "
        "AUROC above 0.75?",
        _spec("E", "lms", "mlp", 48, n_slab=20, margin=0.1),
        "auroc_25", ">", 0.75, 6 * WEEK,
    ),
    # F. Early interventions
    SeedMarket(
        "F · blocking a pathway early matters more than late",
        "Block pathway A of a two-pathway network for a short phase, early or late. Does the early block move "
        "pathway A's final share by at least one seed standard deviation more than the late block?",
        _spec("F", "two_pathway", "linear", 32, intervention="block"),
        "early_late_effect", ">=", 1.0, 3 * WEEK,
    ),
    SeedMarket(
        "F · late counter-examples outweigh early ones on linear + slab data",
        "On linear + slab data, inject a few examples that contradict the linear coordinate, early or late. "
        "Does the late injection move the final S-randomized AUC at least 5 seed standard deviations more "
        "than the early one (early − late effect at most −5)?",
        _spec("F", "lms", "mlp", 32, n_slab=20, margin=0.1, intervention="counterexamples"),
        "early_late_effect", "<=", -5.0, 5 * WEEK,
    ),
    # G. Survival of circuits
    SeedMarket(
        "G · grokking rebuilds modular-addition representations",
        "Compare each transformer's representation at an early checkpoint with the final one. Is CKA(early, "
        "final) at most 0.5 on average (most early structure replaced)?",
        _spec("G", "modadd", "transformer", 16, p=59, alpha=1.0, train_frac=0.3, weight_decay=1.0),
        "cka_early_final", "<=", 0.5, 4 * WEEK,
    ),
    SeedMarket(
        "G · early CNN features survive on digits",
        "Do a small CNN's early-checkpoint representations survive to the end of training (CKA(early, final) "
        "above 0.88 on average)?",
        _spec("G", "digits", "cnn", 16),
        "cka_early_final", ">", 0.88, 3 * WEEK,
    ),
    # H. Closed-form inductive bias
    SeedMarket(
        "H · learning order beats min-degree on GOTU",
        "Across variants of the Boolean-cube task, does predicting the learned solution from the learning "
        "order beat the min-degree closed form by at least 10 percentage points of hit rate?",
        _spec("H", "gotu", "mlp", 32, n=10),
        "hit_rate_gap", ">=", 0.10, 5 * WEEK,
    ),
    SeedMarket(
        "H · static measures suffice on linear + slab data",
        "Across variants of linear + slab data, is predicting the learned solution from the learning order "
        "no better than the static prediction (hit-rate gap at most 0)?",
        _spec("H", "lms", "mlp", 32, n_slab=20, margin=0.1),
        "hit_rate_gap", "<=", 0.0, 6 * WEEK,
    ),
    # Issue 5 (resolution pipeline): a `tiny` market that closes three minutes after seeding, so a new
    # user of `make run` watches the whole loop — forecast, close, run, resolution report — in minutes.
    SeedMarket(
        "A · demo: do tiny digits MLPs disagree off-distribution? (closes 3 minutes after start)",
        "Train 8 seeds of a small MLP on scikit-learn digits for 150 steps (the tiny preset). On noisy test "
        "digits, do two seeds disagree on at least 5% of images on average? This market closes three "
        "minutes after `make run` seeds it; watch its resolution report fill in.",
        {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": 8, "seed_budget": 16,
         "params": {"noise": 0.3}},
        "dis_ood", ">=", 0.05, timedelta(minutes=3),
    ),
    # Issue 14: markets on the general factor (concept g), each resolved by a survey campaign drawn at the
    # close from a hidden, committed seed (docs/factor-markets.md). Reviewed against random subsets of the
    # shipped survey (survey-v2, 192 rows; the evidence panel repeats this):
    # - PC1 − null p95 on 96-row subsets ranged 0.12–0.20 (median 0.153), so "PC1 beats the null" (> 0)
    #   would be a foregone YES; the question asks for a 15-point margin, and its budget of 288 rows narrows
    #   the CI to about ±0.03 so that it can settle (at 96 rows 23 of 24 subsets straddle 0.15).
    # - A·E is −0.56 pooled (a foregone NO), and within one task it cannot settle at any affordable budget
    #   (lms, 64 rows: 0.18, CI −0.22 to 0.46). So the sign question is asked where the survey has no rows:
    #   three times longer training. If the contrast persists it resolves NO clearly (−0.5 ± 0.1 at 96 rows).
    SeedMarket(
        "g · on a fresh 96-row survey, does PC1 beat the null by at least 15 points?",
        "Draw a fresh survey of 96 MLP settings (digits, linear + slabs, sparse parity; the survey's default "
        "axes) from a design seed that nobody sees before the close, and measure all eight concepts on each. "
        "Does the first principal component's share of variance exceed the 95th percentile of the parallel-"
        "analysis null by at least 15 percentage points? If the 95% CI straddles 0.15, rows of the same design "
        "are added (192, then 288); if it still straddles, the market is annulled.",
        {"kind": "survey_campaign", "concept": "g", "preset": "survey", "rows": 96, "row_budget": 288,
         "statistic": "pc1_share_minus_null_p95"},
        "pc1_share_minus_null_p95", ">=", 0.15, 8 * WEEK,
    ),
    SeedMarket(
        "g · when MLPs train three times longer, do A and E load with the same sign?",
        "On the shipped survey, seed variance (A) loads against mid-training predictiveness (E): settings whose "
        "seeds disagree more are the ones whose 25% checkpoint predicts less (the product of their PC1 loadings "
        "is −0.56). Is that a short-training effect? Draw 96 settings with three times the survey's steps "
        "(digits and linear + slabs 450–1,500, sparse parity 2,400–7,200) from a seed nobody sees before the "
        "close, measure all eight concepts, and multiply the PC1 loadings of A and E: YES if the product is "
        "positive (the same sign). The survey has no rows this long, so its evidence is extrapolation.",
        {"kind": "survey_campaign", "concept": "g", "preset": "survey", "rows": 96, "row_budget": 192,
         "statistic": "sign_agreement", "concepts": ["A", "E"],
         "axes": {"digits.steps": "450:1500", "lms.steps": "450:1500", "sparse_parity.steps": "2400:7200"}},
        "sign_agreement_A_E", ">", 0.0, 10 * WEEK,
    ),
    # The factor's demo: a tiny campaign that closes five minutes after seeding and resolves in minutes on
    # the `make run` worker. Its answer is certain by construction — the largest eigenvalue of a correlation
    # matrix of p columns is at least 1, so PC1 carries at least 1/p ≥ 1/8 of the variance — and the
    # question says so: it shows the loop (hidden seed, reveal, campaign, decision, report), not a question.
    SeedMarket(
        "g · demo: a tiny survey campaign (closes 5 minutes after start)",
        "A demonstration of a campaign-resolved market: at the close, the hidden design seed is revealed, 4 "
        "tiny settings of digits and linear + slabs MLPs are drawn and trained, and the general factor is "
        "estimated from them. The market asks whether PC1 carries at least 1/8 of the variance, which is "
        "always true (a correlation matrix's largest eigenvalue is at least 1), so it resolves YES: watch its "
        "report fill in, then forecast the real factor markets.",
        {"kind": "survey_campaign", "concept": "g", "preset": "tiny", "tasks": ["digits", "lms"], "rows": 4,
         "row_budget": 4, "statistic": "pc1_share", "axes": {"steps": "100:200"}, "n_bootstrap": 500, "n_null": 300},
        "pc1_share", ">=", 0.125, timedelta(minutes=5),
    ),
]


@dataclass(frozen=True)
class NumericSeedMarket:
    """A numeric seed market: forecasters state a distribution over the statistic on ``[lo, hi]``."""

    title: str
    question: str
    spec: dict
    statistic: str
    lo: float
    hi: float
    n_bins: int = 50
    open_lower: bool = False
    open_upper: bool = False
    close_in: timedelta = timedelta(weeks=3)
    liquidity: float = 100.0


# One numeric market per concept. Each range covers what the default presets measured
# (docs/protocols.md, "What the default presets found") with room on both sides, so no outcome is
# settled in advance; statistics bounded by definition (fractions, 1 − AUROC, 1 − CKA) get their
# natural closed range, unbounded ones open ends.
NUMERIC_SEED_MARKETS: list[NumericSeedMarket] = [
    NumericSeedMarket(
        "A · how often do digits MLPs disagree off-distribution? (numeric)",
        "Train 32 seeds of an MLP on scikit-learn digits. On test digits with Gaussian noise (σ = 0.3 of the "
        "pixel range), what is the mean pairwise disagreement dis_ood between seeds?",
        _spec("A", "digits", "mlp", 32, noise=0.3), "dis_ood", 0.0, 0.1, open_upper=True,
    ),
    NumericSeedMarket(
        "B · how far does reshuffling the data move a digits MLP? (numeric)",
        "Train 32 pairs of digits MLPs that differ only in the order of the training data. How far apart do "
        "their OOD predictions end, relative to re-seeding everything (dis_ratio; 1 = as far as a new seed)?",
        _spec("B", "digits", "mlp", 32, noise=0.3, change="data_order"), "dis_ratio", 0.0, 1.5, open_upper=True,
    ),
    NumericSeedMarket(
        "C · what share of lms MLP seeds falls in the minority cluster? (numeric)",
        "Train 48 seeds of an MLP on the linear-plus-slabs task. What fraction of seeds falls in the smaller of "
        "the two behaviour clusters (minority_fraction; 0 = one cluster)?",
        _spec("C", "lms", "mlp", 48, n_slab=20, margin=0.1), "minority_fraction", 0.0, 0.5,
    ),
    NumericSeedMarket(
        "D · how often do nudged digits MLPs snap to a cluster? (numeric)",
        "Nudge digits MLPs part of the way toward a final model of the other cluster and keep training. What "
        "fraction of the interventions snaps to one of the two clusters (snap_fraction)?",
        _spec("D", "digits", "mlp", 32, noise=0.3), "snap_fraction", 0.0, 1.0,
    ),
    NumericSeedMarket(
        "E · how well does the 25% checkpoint of a digits MLP predict its final cluster? (numeric)",
        "Train 48 seeds of a digits MLP. Summarise how well the 25% checkpoint predicts which final behaviour "
        "cluster a seed ends in: the AUROC of the 25% checkpoint's prediction (auroc_25; 0.5 = chance).",
        _spec("E", "digits", "mlp", 48, noise=0.3), "auroc_25", 0.0, 1.0,
    ),
    NumericSeedMarket(
        "F · does blocking a pathway early matter more than late? (numeric)",
        "Train 32 two-pathway linear networks with pathway B blocked early, late or never. How much more does "
        "early blocking change the final behaviour than late blocking, in seed standard deviations "
        "(early_late_effect)?",
        _spec("F", "two_pathway", "linear", 32, intervention="block"), "early_late_effect", -0.5, 2.0,
        open_lower=True, open_upper=True,
    ),
    NumericSeedMarket(
        "G · how much of a sparse-parity MLP's early representation survives? (numeric)",
        "Train 16 seeds of an MLP on sparse parity. Compare the last hidden layer at 20% of training with the "
        "final one: what is their linear CKA (cka_early_final; 1 = unchanged)?",
        _spec("G", "sparse_parity", "mlp", 16), "cka_early_final", 0.0, 1.0,
    ),
    NumericSeedMarket(
        "H · does the learning order beat the static predictor on GOTU? (numeric)",
        "Train 32 MLPs on the generalization-on-the-unseen task (n = 10). What is the gap between the hit "
        "rates of the dynamic (learning-order) and the static (min-degree) predictors (hit_rate_gap)?",
        _spec("H", "gotu", "mlp", 32, n=10), "hit_rate_gap", -0.5, 0.5, open_lower=True, open_upper=True,
    ),
    # The general factor as a distribution: 60 random 96-row subsets of the shipped survey gave PC1 shares of
    # 0.32–0.40 (median 0.355; the null's mean is about 0.22), so the range leaves room on both sides.
    NumericSeedMarket(
        "g · what share of the variance will PC1 carry on a fresh 96-row survey? (numeric)",
        "Draw a fresh survey of 96 MLP settings (digits, linear + slabs, sparse parity; the survey's default axes) "
        "from a design seed nobody sees before the close, measure all eight concepts on each, and estimate the "
        "general factor. Forecast the share of variance on the first principal component (pc1_share; with no "
        "factor at all it would be about 0.2 on 96 rows).",
        {"kind": "survey_campaign", "concept": "g", "preset": "survey", "rows": 96, "row_budget": 96,
         "statistic": "pc1_share"},
        "pc1_share", 0.15, 0.65, n_bins=50, open_upper=True, close_in=8 * WEEK,
    ),
    # The numeric twin of the demo market above: closes four minutes after seeding.
    NumericSeedMarket(
        "A · demo: how often do tiny digits MLPs disagree? (numeric; closes 4 minutes after start)",
        "Train 8 seeds of a small MLP on digits for 150 steps (the tiny preset). Forecast the distribution of "
        "their mean OOD disagreement dis_ood; the market closes four minutes after `make run` seeds it.",
        {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": 8, "seed_budget": 16,
         "params": {"noise": 0.3}},
        "dis_ood", 0.0, 0.2, n_bins=40, open_upper=True, close_in=timedelta(minutes=4),
    ),
]
