"""Protocol E (mid-training predictiveness): tiny presets and the prediction metrics on hand-made data."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from experiments.metrics_extra import (
    logistic_fit,
    loo_logistic_scores,
    loo_r2,
    lpo_auroc_pairs,
    two_cluster_split,
)
from tests.experiments.protocol_support import check_deterministic, check_tiny


@pytest.mark.parametrize("task", ["modadd", "sparse_parity", "digits", "lms"])
def test_tiny_preset_reports_auroc_by_checkpoint(task, tmp_path):
    result = check_tiny("E", task, tmp_path, {"auroc_by_checkpoint", "auroc_25"})
    details = result["details"]
    assert set(details["auroc_by_checkpoint"]) == {"0.05", "0.1", "0.25", "0.5"}
    assert result["statistic"] == pytest.approx(details["auroc_by_checkpoint"]["0.25"])
    assert sum(details["cluster_sizes"]) == len(result["per_seed"])


def test_runs_are_deterministic():
    check_deterministic({"concept": "E", "task": "digits", "preset": "tiny", "seeds": 6, "params": {"steps": 40}})


def test_two_cluster_split_finds_the_gap():
    labels, threshold = two_cluster_split([0.1, 0.12, 0.11, 0.9, 0.95])
    assert labels.tolist() == [0, 0, 0, 1, 1]
    assert 0.12 < threshold < 0.9
    labels, threshold = two_cluster_split([0.5, 0.5, 0.5])
    assert labels.tolist() == [0, 0, 0] and threshold == 0.5


def test_logistic_fit_matches_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] - x[:, 1] + 0.5 * rng.normal(size=40) > 0).astype(int)
    w, b = logistic_fit(x, y, c=0.7)
    ref = LogisticRegression(C=0.7, tol=1e-12, max_iter=10_000).fit(x, y)
    assert np.allclose(w, ref.coef_[0], atol=1e-5) and b == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_leave_pair_out_auroc_is_one_for_a_separable_predictor_and_half_for_noise():
    rng = np.random.default_rng(1)
    y = np.array([0] * 10 + [1] * 10)
    separable = (y + 0.1 * rng.normal(size=20))[:, None]
    assert lpo_auroc_pairs(separable, y).mean() == 1.0
    noise = rng.normal(size=(200, 1))
    y_noise = rng.integers(0, 2, size=200)
    assert abs(lpo_auroc_pairs(noise[:40], y_noise[:40]).mean() - 0.5) < 0.25
    with pytest.raises(ValueError):
        lpo_auroc_pairs(separable, np.zeros(20, dtype=int))


def test_leave_pair_out_is_not_biased_against_a_lone_positive_like_leave_one_out():
    x = np.array([[0.0], [0.1], [0.2], [0.3], [1.0]])
    y = np.array([0, 0, 0, 0, 1])
    loo = loo_logistic_scores(x, y)
    assert loo[-1] == 0.0  # held out, the lone positive leaves a one-class fold
    assert lpo_auroc_pairs(x, y).mean() == 0.5  # every pair leaves one class: no information, not anti-information


def test_loo_r2_is_high_for_a_linear_target_and_negative_for_noise():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 2))
    assert loo_r2(x, 2 * x[:, 0] + 0.01 * rng.normal(size=30)) > 0.99
    assert loo_r2(x, rng.normal(size=30)) < 0.2
