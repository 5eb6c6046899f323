"""Community aggregate: recency weights, weighted median, and the series over time."""
from __future__ import annotations

import math

import numpy as np
import pytest

from market.community import community_aggregate, community_series, recency_weights, weighted_median


def test_recency_weights_hand_computed():
    np.testing.assert_allclose(recency_weights(2), [1.0, 1.0])
    expected = [math.exp(1 - math.sqrt(3)), math.exp(math.sqrt(2) - math.sqrt(3)), 1]
    np.testing.assert_allclose(recency_weights(3), expected)
    assert recency_weights(0).shape == (0,)
    with pytest.raises(ValueError, match="non-negative integer"):
        recency_weights(-1)


@pytest.mark.parametrize(
    ("values", "weights", "expected"),
    [
        ([1, 2, 3, 4], [1, 1, 1, 1], 2.5),  # equal weights: the ordinary median
        ([3, 1, 2], [1, 1, 1], 2.0),
        ([1, 2, 3], [1, 1, 5], 3.0),
        ([1, 2, 3], [0, 1, 1], 2.5),  # zero weight ignored
        ([0.2], [0.3], 0.2),
    ],
)
def test_weighted_median_hand_computed(values, weights, expected):
    assert weighted_median(values, weights) == pytest.approx(expected)


def test_weighted_median_matches_numpy_median_row_by_row():
    rng = np.random.default_rng(0)
    x = rng.random((50, 7))
    np.testing.assert_allclose(weighted_median(x, np.ones_like(x)), np.median(x, axis=1))


def test_aggregate_uses_each_forecasters_latest_forecast_with_recency_weights():
    # Latest: b 0.2 (t=1, w=e^(1−√3)=0.481), c 0.3 (t=2, w=e^(√2−√3)=0.727), a 0.1 (t=3, w=1).
    # Sorted by value: 0.1 (cum 1.0), 0.2 (cum 1.481), 0.3 (cum 2.208); half of 2.208 is reached at 0.2.
    assert community_aggregate(["a", "b", "c", "a"], [0, 1, 2, 3], [0.9, 0.2, 0.3, 0.1]) == pytest.approx(0.2)


def test_recency_lets_the_newest_forecasts_win_a_split_crowd():
    # Four users: two old at 0.9, two new at 0.1; the new ones carry more weight.
    assert community_aggregate([1, 2, 3, 4], [0, 1, 2, 3], [0.9, 0.9, 0.1, 0.1]) == pytest.approx(0.1)
    assert community_aggregate([1, 2, 3, 4], [0, 1, 2, 3], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.9)


def test_series_has_one_point_per_time_and_matches_the_aggregate_at_each_step():
    who = ["a", "b", "c", "a", "d"]
    t = [0, 1, 2, 3, 3]
    p = [0.9, 0.2, 0.3, 0.1, 0.8]
    series = community_series(who, t, p)
    assert list(series["time"]) == [0, 1, 2, 3]
    assert list(series["n_forecasters"]) == [1, 2, 3, 4]
    for _, row in series.iterrows():
        upto = [i for i in range(5) if t[i] <= row["time"]]
        expected = community_aggregate([who[i] for i in upto], [t[i] for i in upto], [p[i] for i in upto])
        assert row["probability"] == pytest.approx(expected)
    assert series["probability"].tolist()[:3] == pytest.approx([0.9, 0.55, 0.3])


def test_series_matches_the_aggregate_on_random_markets_and_unsorted_input():
    rng = np.random.default_rng(5)
    n = 300
    who = rng.integers(0, 25, n)
    t = rng.permutation(n).astype(float)
    p = rng.uniform(0.01, 0.99, n)
    series = community_series(who, t, p)
    for step in (0, 10, 150, 299):
        mask = t <= step
        assert series.loc[series["time"] == step, "probability"].item() == pytest.approx(
            community_aggregate(who[mask], t[mask], p[mask])
        )


def test_empty_input_gives_nan_and_an_empty_series():
    assert math.isnan(community_aggregate([], [], []))
    assert community_series([], [], []).empty


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError, match="one length"):
        community_series([1], [0, 1], [0.5, 0.5])
