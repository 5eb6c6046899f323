"""Scoring numeric forecasts: hand-computed log scores and CRPS, a numerical-integral check, PIT."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator import numeric
from evaluator.time_averaged import time_averaged_scores

EDGES = np.array([0.0, 1.0, 2.0, 3.0, 4.0])


def test_support_edges_add_one_bin_width_per_open_end():
    assert numeric.support_edges(EDGES, open_lower=True, open_upper=False).tolist() == [-1, 0, 1, 2, 3, 4]
    assert numeric.support_edges(EDGES, open_lower=False, open_upper=True).tolist() == [0, 1, 2, 3, 4, 5]


def test_log_score_of_the_bin_density_by_hand():
    pmf = [0.1, 0.2, 0.3, 0.4]
    assert numeric.bin_log_score(pmf, EDGES, 2.5) == pytest.approx(math.log(0.3 / 1.0))
    half = np.array([0.0, 0.5, 1.0, 1.5, 2.0])  # width 0.5: the density doubles
    assert numeric.bin_log_score(pmf, half, 0.6) == pytest.approx(math.log(0.2 / 0.5))


def test_crps_of_a_point_mass_like_bin_by_hand():
    # All mass uniform on [1, 2], outcome 1.5: ∫_1^1.5 (x−1)² dx + ∫_1.5^2 (x−1−1)² dx = 1/24 + 1/24.
    pmf = [0.0, 1.0, 0.0, 0.0]
    assert numeric.crps_bins(pmf, EDGES, 1.5) == pytest.approx(1 / 12)
    # Outcome 3.5 (outside the mass): ∫_1^2 (x−1)² dx + ∫_2^3.5 1 dx = 1/3 + 1.5.
    assert numeric.crps_bins(pmf, EDGES, 3.5) == pytest.approx(1 / 3 + 1.5)
    # Outcome beyond the support: the distance beyond it counts in full.
    assert numeric.crps_bins(pmf, EDGES, 6.0) == pytest.approx(1 / 3 + 4.0)


def _crps_numerically(pmf, edges, y, n=400_001):
    lo, hi = min(edges[0], y) - 1.0, max(edges[-1], y) + 1.0
    x = np.linspace(lo, hi, n)
    cdf = np.interp(x, edges, np.concatenate([[0.0], np.cumsum(pmf)]))
    g = (cdf - (x >= y)) ** 2
    return float(np.sum((g[1:] + g[:-1]) / 2 * np.diff(x)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12), st.floats(-2.0, 14.0))
def test_crps_agrees_with_a_numerical_integral(weights, y):
    pmf = np.asarray(weights) / sum(weights)
    edges = np.linspace(0.0, 12.0, pmf.size + 1)
    assert numeric.crps_bins(pmf, edges, y) == pytest.approx(_crps_numerically(pmf, edges, y), abs=1e-4)


def test_crps_is_proper_a_sharper_right_forecast_scores_better():
    right = [0.05, 0.85, 0.05, 0.05]
    vague = [0.25, 0.25, 0.25, 0.25]
    assert numeric.crps_bins(right, EDGES, 1.4) < numeric.crps_bins(vague, EDGES, 1.4)


def test_pit_is_the_cdf_at_the_outcome():
    pmf = [0.1, 0.2, 0.3, 0.4]
    assert numeric.pit_value(pmf, EDGES, 2.5) == pytest.approx(0.1 + 0.2 + 0.15)
    assert numeric.pit_value(pmf, EDGES, -3) == 0.0 and numeric.pit_value(pmf, EDGES, 9) == 1.0


def test_pit_uniformity_accepts_uniform_and_rejects_overconfident_forecasts():
    rng = np.random.default_rng(0)
    calibrated = numeric.pit_uniformity(rng.uniform(size=500))
    assert calibrated.uniform is True and sum(calibrated.counts) == 500
    overconfident = numeric.pit_uniformity(
        np.concatenate([rng.uniform(0, 0.05, 250), rng.uniform(0.95, 1, 250)])
    )
    assert overconfident.uniform is False and overconfident.chi2_p < 1e-6
    assert numeric.pit_uniformity([0.5, 0.2]).uniform is None


def test_mixture_aggregate_weights_each_forecasters_latest_by_recency():
    a = [0.7, 0.1, 0.1, 0.1]
    b = [0.1, 0.7, 0.1, 0.1]
    c = [0.1, 0.1, 0.1, 0.7]
    # User 1 changed their mind (a → c); only their latest counts.
    mix = numeric.mixture_aggregate([1, 2, 1], [0.0, 1.0, 2.0], [a, b, c])
    assert mix == pytest.approx((np.array(b) + np.array(c)) / 2)  # N = 2: equal weights
    mix3 = numeric.mixture_aggregate([1, 2, 3], [0.0, 1.0, 2.0], [a, b, c])
    w = np.exp(np.sqrt([1, 2, 3]) - np.sqrt(3))
    assert mix3 == pytest.approx((w[0] * np.array(a) + w[1] * np.array(b) + w[2] * np.array(c)) / w.sum())
    series = numeric.mixture_series([1, 2, 1], [0.0, 1.0, 2.0], [a, b, c])
    assert list(series["n_forecasters"]) == [1, 2, 2]


def test_time_averaged_numeric_scores_reduce_to_the_binary_ones_for_two_outcomes():
    users, times = [1, 2, 1], [0.0, 3.0, 6.0]
    p_yes = np.array([0.6, 0.3, 0.8])
    pmfs = np.stack([p_yes, 1 - p_yes], axis=1)
    got = numeric.time_averaged_numeric_scores(users, times, pmfs, outcome=0, open_time=0.0, close_time=10.0)
    want = time_averaged_scores(users, times, p_yes, outcome=1, open_time=0.0, close_time=10.0)
    assert got["baseline_score"].to_numpy() == pytest.approx(want["baseline_score"].to_numpy())
    assert got["peer_score"].to_numpy() == pytest.approx(want["peer_score"].to_numpy())


def test_numeric_baseline_is_zero_for_uniform_and_100_for_certainty():
    n = 12
    uniform = np.full((1, n), 1 / n)
    got = numeric.time_averaged_numeric_scores([1], [0.0], uniform, outcome=3, open_time=0.0, close_time=1.0)
    assert got["baseline_score"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    sure = np.full((1, n), 1e-12)
    sure[0, 3] = 1 - 11e-12
    got = numeric.time_averaged_numeric_scores([1], [0.0], sure, outcome=3, open_time=0.0, close_time=1.0)
    assert got["baseline_score"].iloc[0] == pytest.approx(100.0, abs=1e-6)
