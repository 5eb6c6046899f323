"""The pre-registered decision rule (experiments/decision.py): YES, NO, more seeds, annul."""
import math

import pytest

from experiments.decision import Criterion, decide, next_seed_count


def crit(comparator=">=", threshold=0.03, confidence=0.95):
    return Criterion(statistic="dis_ood", comparator=comparator, threshold=threshold, confidence=confidence)


def test_ci_entirely_above_a_ge_threshold_resolves_yes():
    d = decide(criterion=crit(), statistic=0.05, ci_low=0.04, ci_high=0.06, n_seeds=32, seed_budget=64)
    assert d.outcome == "yes"
    assert "[0.04, 0.06]" in d.reason and "32 seeds" in d.reason


def test_ci_entirely_below_a_ge_threshold_resolves_no():
    d = decide(criterion=crit(), statistic=0.01, ci_low=0.005, ci_high=0.02, n_seeds=32, seed_budget=64)
    assert d.outcome == "no"


def test_straddling_ci_with_budget_left_asks_for_more_seeds_doubling_up_to_the_budget():
    d = decide(criterion=crit(), statistic=0.03, ci_low=0.02, ci_high=0.04, n_seeds=32, seed_budget=48)
    assert d.outcome == "more_seeds"
    assert d.next_seed_count == 48
    assert "straddles" in d.reason


def test_straddling_ci_with_the_budget_spent_annuls():
    d = decide(criterion=crit(), statistic=0.03, ci_low=0.02, ci_high=0.04, n_seeds=64, seed_budget=64)
    assert d.outcome == "annul"
    assert "refunded" in d.reason


@pytest.mark.parametrize(
    ("comparator", "lo", "hi", "expected"),
    [
        # The CI touching the threshold counts as satisfying an inclusive comparator only.
        (">=", 0.03, 0.05, "yes"),
        (">", 0.03, 0.05, "more_seeds"),
        (">", 0.0301, 0.05, "yes"),
        (">", 0.01, 0.03, "no"),
        (">=", 0.01, 0.0299, "no"),
        (">=", 0.01, 0.03, "more_seeds"),
        ("<=", 0.01, 0.03, "yes"),
        ("<", 0.01, 0.03, "more_seeds"),
        ("<", 0.01, 0.0299, "yes"),
        ("<", 0.03, 0.05, "no"),
        ("<=", 0.0301, 0.05, "no"),
        ("<=", 0.03, 0.05, "more_seeds"),
    ],
)
def test_each_comparator_reads_the_ci_on_the_correct_side(comparator, lo, hi, expected):
    d = decide(criterion=crit(comparator), statistic=(lo + hi) / 2, ci_low=lo, ci_high=hi, n_seeds=8,
               seed_budget=16)
    assert d.outcome == expected


def test_a_non_finite_statistic_asks_for_more_seeds_then_annuls():
    more = decide(criterion=crit(), statistic=math.nan, ci_low=math.nan, ci_high=math.nan, n_seeds=4,
                  seed_budget=8)
    assert more.outcome == "more_seeds" and "not a finite" in more.reason
    done = decide(criterion=crit(), statistic=None, ci_low=None, ci_high=None, n_seeds=8, seed_budget=8)
    assert done.outcome == "annul"


def test_next_seed_count_doubles_and_never_exceeds_the_budget():
    assert next_seed_count(6, 12) == 12
    assert next_seed_count(6, 10) == 10
    assert next_seed_count(8, 64) == 16
    with pytest.raises(ValueError):
        next_seed_count(0, 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"comparator": "=="}, "comparator"),
        ({"threshold": math.inf}, "threshold"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_a_malformed_criterion_is_refused_with_the_field_named(kwargs, message):
    base = {"statistic": "dis_ood", "comparator": ">=", "threshold": 0.03, "confidence": 0.95}
    with pytest.raises(ValueError, match=message):
        Criterion(**{**base, **kwargs})


def test_criterion_round_trips_through_the_json_stored_on_a_run():
    c = crit("<", 0.5, 0.9)
    assert Criterion.from_dict(c.to_dict()) == c
    assert c.describe() == "YES if dis_ood < 0.5 (90% CI)"
    with pytest.raises(ValueError, match="threshold"):
        Criterion.from_dict({"statistic": "x", "comparator": ">="})
