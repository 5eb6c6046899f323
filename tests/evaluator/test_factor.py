"""General factor: recovers known loadings from a one-factor matrix, finds no factor in
independent columns, handles missing cells explicitly, and validates its inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from evaluator.factor import CONCEPTS, general_factor, rows_needed

LOADINGS = np.array([0.8, 0.7, 0.6, 0.75, 0.5, 0.65, 0.7, 0.6])
FAST = {"n_bootstrap": 300, "n_null": 200}


def one_factor(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(n, 1))
    return factor * LOADINGS + rng.normal(size=(n, LOADINGS.size)) * np.sqrt(1 - LOADINGS**2)


def test_recovers_known_loadings_from_a_one_factor_matrix():
    result = general_factor(one_factor(400), transform="zscore", **FAST)
    fa = np.array([result.fa_loadings[c] for c in CONCEPTS])
    np.testing.assert_allclose(fa, LOADINGS, atol=0.1)
    # Population PC1 share of this correlation matrix.
    corr = np.outer(LOADINGS, LOADINGS)
    np.fill_diagonal(corr, 1.0)
    true_share = np.linalg.eigvalsh(corr)[-1] / LOADINGS.size
    lo, hi = result.pc1_ci
    assert lo - 0.02 <= true_share <= hi + 0.02
    assert result.pc1_share > result.null_p95
    assert result.n_factors_retained == 1
    assert result.verdict_code == "general_factor"
    assert "Evidence of a general factor" in result.verdict
    for c in CONCEPTS:
        low, high = result.loadings_ci[c]
        assert 0 < low <= result.loadings[c] <= high


def test_reports_no_factor_on_independent_columns():
    rng = np.random.default_rng(1)
    result = general_factor(rng.normal(size=(60, 8)), **FAST)
    assert result.verdict_code == "no_evidence"
    assert result.verdict.startswith("No evidence of a general factor")
    assert result.pc1_share <= result.null_p95
    assert result.n_factors_retained == 0
    # With 8 columns and 60 rows PC1 explains well above 1/8 under the null.
    assert 0.15 < result.null_share_mean < result.null_p95 < 0.35


def test_pca_share_matches_scikit_learn_on_the_correlation_matrix():
    x = one_factor(120, seed=4)
    result = general_factor(x, transform="zscore", **FAST)
    z = (x - x.mean(0)) / x.std(0)
    np.testing.assert_allclose(result.explained_share, PCA().fit(z).explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(result.eigenvalues, np.linalg.eigvalsh(np.corrcoef(x.T))[::-1], rtol=1e-10)


def test_rank_transform_is_invariant_to_monotone_rescaling_of_a_column():
    x = one_factor(80, seed=2)
    y = x.copy()
    y[:, 0] = np.exp(3 * y[:, 0])
    a = general_factor(x, **FAST)
    b = general_factor(y, **FAST)
    assert a.pc1_share == pytest.approx(b.pc1_share)


def test_bootstrap_signs_are_aligned_so_intervals_do_not_straddle_zero_by_flipping():
    # If bootstrap PC1s were not sign-aligned, half would be negated and the CI would span ±0.8.
    result = general_factor(-one_factor(200, seed=3), **FAST)
    assert all(result.loadings_ci[c][0] > 0.3 for c in CONCEPTS)


@pytest.mark.parametrize("missing", ["impute", "pairwise"])
def test_missing_cells_are_counted_and_the_factor_still_found(missing):
    x = one_factor(300, seed=7)
    rng = np.random.default_rng(0)
    x[rng.random(x.shape) < 0.15] = np.nan
    result = general_factor(x, missing=missing, **FAST)
    assert result.n_missing == int(np.isnan(x).sum())
    assert result.missing == missing
    assert result.pc1_share > result.null_p95


def test_sparse_and_constant_columns_and_rows_are_dropped_and_reported():
    x = one_factor(30, seed=8)
    frame = pd.DataFrame(x, columns=list(CONCEPTS))
    frame["G"] = 1.0  # constant
    frame.loc[2:, "H"] = np.nan  # only two values
    frame.loc[0, ["A", "B", "C", "D", "E", "F"]] = np.nan  # row 0 keeps a single usable value
    result = general_factor(frame, **FAST)
    assert result.dropped_columns == ["G", "H"]
    assert result.columns == list("ABCDEF")
    assert result.dropped_rows == 1 and result.n_rows == 29


def test_too_little_data_gives_an_insufficient_verdict_not_an_error():
    result = general_factor(np.full((2, 8), np.nan), **FAST)
    assert result.verdict_code == "insufficient_data"
    assert result.pc1_share is None and result.rows_needed >= 40
    empty = general_factor(pd.DataFrame(columns=list(CONCEPTS), dtype=float), **FAST)
    assert empty.verdict_code == "insufficient_data" and empty.n_rows == 0


def test_few_rows_give_a_wide_interval_and_ask_for_more_rows():
    result = general_factor(one_factor(15, seed=9), **FAST)
    assert result.rows_needed > 15
    assert f"{result.rows_needed - 15} more" in result.verdict or result.verdict_code == "no_evidence"


def test_rows_needed_components():
    assert rows_needed(n_rows=0, n_cols=8) == 40
    # Precision: half-width 0.1 at 50 rows → 0.05 needs 4× the rows.
    assert rows_needed(n_rows=50, n_cols=8, pc1_ci_halfwidth=0.1) == 200
    # Detectability: a weak spike (sample eigenvalue just above the noise edge) needs many rows.
    weak = rows_needed(n_rows=100, n_cols=8, pc1_eigenvalue=1.8)
    strong = rows_needed(n_rows=100, n_cols=8, pc1_eigenvalue=4.0)
    assert weak > strong == 40
    # An eigenvalue inside the noise bulk has no spike to detect: only the floor applies.
    assert rows_needed(n_rows=20, n_cols=8, pc1_eigenvalue=2.0) == 40


def test_results_are_reproducible_for_a_seed():
    x = one_factor(50, seed=1)
    assert general_factor(x, random_state=3, **FAST) == general_factor(x, random_state=3, **FAST)


@pytest.mark.parametrize(
    ("matrix", "kwargs", "message"),
    [
        (np.zeros(5), {}, "2-D"),
        (np.full((5, 3), np.inf), {}, "infinite"),
        (np.zeros((5, 3)), {"transform": "log"}, "transform"),
        (np.zeros((5, 3)), {"missing": "drop"}, "missing"),
        (np.zeros((5, 3)), {"n_bootstrap": 0}, "n_bootstrap"),
        (np.zeros((5, 3)), {"confidence": 1.5}, "confidence"),
        (np.zeros((5, 3)), {"columns": ["A"]}, "labels"),
    ],
)
def test_invalid_inputs_raise(matrix, kwargs, message):
    with pytest.raises(ValueError, match=message):
        general_factor(matrix, **kwargs)


@pytest.mark.parametrize("n_rows", [3, 5, 8])
def test_fewer_rows_than_concepts_gives_an_estimate_not_an_error(n_rows):
    """With n ≤ 8 rows the correlation matrix has rank < 8; the missing eigenvalues are zero."""
    rng = np.random.default_rng(n_rows)
    result = general_factor(pd.DataFrame(rng.normal(size=(n_rows, 8)), columns=list(CONCEPTS)), **FAST)
    assert 0.0 < result.pc1_share <= 1.0
