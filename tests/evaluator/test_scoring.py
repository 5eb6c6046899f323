"""Scoring rules: one common property test over the whole registry, hand-computed cases, and
agreement with scikit-learn."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from evaluator.scoring import SCORING_RULES, brier_score, get_scoring_rule, log_loss

GRID = np.linspace(0.001, 0.999, 999)


@pytest.mark.parametrize("name", sorted(SCORING_RULES))
def test_every_registered_rule_is_proper_bounded_and_rewards_a_perfect_forecast(name):
    rule = SCORING_RULES[name]
    sign = 1.0 if rule.greater_is_better else -1.0
    # Propriety: for each true probability q the expected score is optimised at p = q.
    qs = np.linspace(0.02, 0.98, 49)
    expected = sign * rule.expected(qs[:, None], GRID[None, :])
    best = GRID[np.argmax(expected, axis=1)]
    np.testing.assert_allclose(best, qs, atol=1.5e-3)
    at_truth = sign * rule.expected(qs, qs)
    assert np.all(at_truth[:, None] >= expected - 1e-12)
    # Range.
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.random(500), [0.0, 1.0, 0.5]])
    y = np.concatenate([rng.integers(0, 2, 500), [1, 0, 1]])
    s = rule(y, p)
    assert np.all((s >= rule.lower) & (s <= rule.upper))
    # A perfect forecast gets the best possible score, and is at least as good as any other.
    for outcome, perfect in ((1, 1.0), (0, 0.0)):
        top = rule([outcome], [perfect])[0]
        assert top == (rule.upper if rule.greater_is_better else rule.lower)
        others = rule(np.full(GRID.shape, outcome), GRID)
        assert np.all(sign * top >= sign * others)


@pytest.mark.parametrize(
    ("name", "y", "p", "expected"),
    [
        ("brier", 1, 0.7, 0.09),
        ("brier", 0, 0.7, 0.49),
        ("log", 1, 0.7, math.log(0.7)),
        ("log", 0, 0.7, math.log(0.3)),
        ("spherical", 1, 0.6, 0.6 / math.sqrt(0.52)),
        ("spherical", 0, 0.6, 0.4 / math.sqrt(0.52)),
        ("spherical", 1, 0.5, 0.5 / math.sqrt(0.5)),
    ],
)
def test_rule_matches_hand_computed_value(name, y, p, expected):
    assert get_scoring_rule(name)([y], [p])[0] == pytest.approx(expected)


def test_brier_and_log_loss_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(int)
    w = rng.random(2000)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p))
    assert brier_score(y, p, sample_weight=w) == pytest.approx(brier_score_loss(y, p, sample_weight=w))
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p))
    assert log_loss(y, p, sample_weight=w) == pytest.approx(sk_log_loss(y, p, sample_weight=w))
    # A confident miss is clipped, as scikit-learn does, instead of becoming infinite.
    assert log_loss([1, 0], [0.0, 0.0]) == pytest.approx(sk_log_loss([1, 0], [0.0, 0.0], labels=[0, 1]))


def test_log_loss_hand_computed():
    expected = -(math.log(0.8) + math.log(0.6) + math.log(0.5)) / 3
    assert log_loss([1, 0, 1], [0.8, 0.4, 0.5]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([1, 0], [0.5], "differ in length"),
        ([], [], "empty"),
        ([1, 2], [0.5, 0.5], "only 0 and 1"),
        ([1, 0], [0.5, 1.2], r"\[0, 1\]"),
        ([1, 0], [0.5, np.nan], "NaN"),
        ([[1, 0]], [[0.5, 0.5]], "1-D"),
        (["yes", "no"], [0.5, 0.5], "0/1"),
    ],
)
def test_invalid_inputs_raise_clear_value_errors(y, p, message):
    with pytest.raises(ValueError, match=message):
        brier_score(y, p)


def test_unknown_rule_names_the_known_ones():
    with pytest.raises(ValueError, match="brier"):
        get_scoring_rule("quadratic-ish")
