"""Metrics on hand-made cases with known answers."""
import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.metrics import roc_auc_score

from experiments import metrics


def test_linear_cka_is_one_under_rotation_and_isotropic_scaling():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 12))
    Q = ortho_group.rvs(12, random_state=1)
    assert metrics.linear_cka(X, 3.7 * X @ Q) == pytest.approx(1.0, abs=1e-10)


def test_linear_cka_of_unrelated_representations_is_small_and_not_scale_invariant_per_column():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(500, 5)), rng.normal(size=(500, 5))
    assert metrics.linear_cka(X, Y) < 0.1
    anisotropic = X * np.array([1, 1, 1, 1, 50.0])
    assert metrics.linear_cka(X, anisotropic) < 0.9


def test_pairwise_linear_cka_matches_the_pair_function():
    rng = np.random.default_rng(2)
    reps = rng.normal(size=(4, 30, 6))
    reps[1] = reps[0] @ ortho_group.rvs(6, random_state=3) * 0.5
    matrix = metrics.pairwise_linear_cka(reps)
    for i in range(4):
        for j in range(4):
            assert matrix[i, j] == pytest.approx(metrics.linear_cka(reps[i], reps[j]), abs=1e-10)
    assert matrix[0, 1] == pytest.approx(1.0)


def test_disagreement_of_a_model_with_itself_is_zero_and_counts_mismatches():
    pred = np.array([0, 1, 2, 3, 1])
    assert metrics.disagreement(pred, pred) == 0.0
    assert metrics.disagreement(pred, np.array([0, 1, 2, 0, 0])) == pytest.approx(0.4)
    matrix = metrics.pairwise_disagreement(np.stack([pred, pred, np.zeros(5, int)]))
    assert np.allclose(np.diag(matrix), 0)
    assert matrix[0, 1] == 0 and matrix[0, 2] == pytest.approx(0.8)


def test_disagreement_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="equal length"):
        metrics.disagreement(np.zeros(3), np.zeros(4))


def test_pairwise_mean_excludes_pairs_of_the_same_seed():
    matrix = np.array([[0, 1.0], [1.0, 0]])
    assert metrics.pairwise_mean(matrix) == 1.0
    assert metrics.pairwise_mean(matrix, np.array([0, 0, 1])) == 1.0


def test_lmc_barrier_hand_case():
    assert metrics.lmc_barrier(np.array([0.1, 0.5, 0.3])) == pytest.approx(0.3)
    assert metrics.lmc_barrier(np.array([0.2, 0.1, 0.2])) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        metrics.lmc_barrier(np.array([0.1]))


def test_bootstrap_ci_is_seeded_and_covers_the_mean():
    values = np.random.default_rng(0).normal(5.0, 1.0, size=200)
    a = metrics.bootstrap_ci(values, np.mean, n_resamples=500, seed=3)
    b = metrics.bootstrap_ci(values, np.mean, n_resamples=500, seed=3)
    assert a == b
    assert a[0] < values.mean() < a[1]
    assert a[1] - a[0] == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.25)
    batched = metrics.bootstrap_ci(values, lambda v: v.mean(axis=1), n_resamples=500, seed=3, batched=True)
    assert batched == pytest.approx(a)


def test_bootstrap_ci_validates_confidence():
    with pytest.raises(ValueError, match="confidence"):
        metrics.bootstrap_ci(np.ones(3), np.mean, confidence=1.5)


def _bimodal(rng):
    return np.concatenate([rng.normal(0.0, 0.1, 30), rng.normal(1.0, 0.1, 20)])


def test_dip_test_separates_bimodal_from_unimodal():
    rng = np.random.default_rng(0)
    _, p_bimodal = metrics.dip_test(_bimodal(rng))
    _, p_unimodal = metrics.dip_test(rng.normal(size=50))
    assert p_bimodal < 0.01 < 0.2 < p_unimodal


def test_gmm_delta_bic_and_minority_fraction():
    rng = np.random.default_rng(1)
    bimodal, unimodal = _bimodal(rng), rng.normal(size=50)
    assert metrics.gmm_delta_bic(bimodal) > 10 > metrics.gmm_delta_bic(unimodal)
    assert metrics.minority_fraction(bimodal) == pytest.approx(0.4)
    assert metrics.minority_fraction(unimodal) == 0.0
    assert metrics.minority_fraction(np.ones(10)) == 0.0
    mixture = metrics.gmm_1d(bimodal)
    assert mixture["means"][0] == pytest.approx(0.0, abs=0.1)
    assert mixture["means"][1] == pytest.approx(1.0, abs=0.1)


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(labels + rng.normal(size=200), 1)
    assert metrics.auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert metrics.auroc(np.array([0.0, 1.0]), np.array([0, 1])) == 1.0
