"""Time-averaged baseline and peer scores (Metaculus style), checked against hand computations."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.time_averaged import reference_scores, time_averaged_scores

LN = math.log


def _by_forecaster(frame):
    return {row["forecaster"]: row for row in frame.to_dict(orient="records")}


def test_two_forecasters_hand_computed():
    # a: 0.8 on [0, 5), 0.6 on [5, 10); b: 0.3 on [5, 10). Outcome YES, window [0, 10).
    rows = _by_forecaster(time_averaged_scores(["a", "b", "a"], [0, 5, 5], [0.8, 0.3, 0.6], outcome=1,
                                               open_time=0, close_time=10))
    a, b = rows["a"], rows["b"]
    assert a["coverage"] == pytest.approx(1.0) and b["coverage"] == pytest.approx(0.5)
    expected = 0.5 * 100 * (math.log2(0.8) + 1) + 0.5 * 100 * (math.log2(0.6) + 1)
    assert a["baseline_score"] == pytest.approx(expected)
    assert b["baseline_score"] == pytest.approx(0.5 * 100 * (math.log2(0.3) + 1))
    # Alone on [0, 5) a scores no peer points; on [5, 10) a beats b by ln 0.6 − ln 0.3.
    assert a["peer_score"] == pytest.approx(0.5 * 100 * (LN(0.6) - LN(0.3)))
    assert b["peer_score"] == pytest.approx(-a["peer_score"])
    assert a["n_forecasts"] == 2 and a["last_probability"] == 0.6
    assert a["brier_last"] == pytest.approx(0.16) and a["log_loss_last"] == pytest.approx(-LN(0.6))


def test_outcome_no_scores_the_probability_of_no():
    rows = _by_forecaster(time_averaged_scores([1, 2], [0, 0], [0.2, 0.6], outcome=0, open_time=0,
                                               close_time=4))
    assert rows[1]["baseline_score"] == pytest.approx(100 * (math.log2(0.8) + 1))
    assert rows[1]["peer_score"] == pytest.approx(100 * (LN(0.8) - LN(0.4)))
    assert rows[2]["brier_last"] == pytest.approx(0.36)


def test_peer_score_averages_over_all_other_forecasters():
    rows = _by_forecaster(time_averaged_scores([1, 2, 3], [0, 0, 0], [0.9, 0.5, 0.2], outcome=1,
                                               open_time=0, close_time=1))
    assert rows[1]["peer_score"] == pytest.approx(100 * (LN(0.9) - (LN(0.5) + LN(0.2)) / 2))


def test_forecast_before_open_counts_from_open_and_latest_pre_open_wins():
    rows = _by_forecaster(time_averaged_scores(["u", "u"], [-20, -10], [0.3, 0.9], outcome=1,
                                               open_time=0, close_time=10))
    assert rows["u"]["coverage"] == pytest.approx(1.0)
    assert rows["u"]["baseline_score"] == pytest.approx(100 * (math.log2(0.9) + 1))


def test_forecasts_at_or_after_close_are_ignored():
    frame = time_averaged_scores(["u", "u", "late"], [2, 10, 12], [0.7, 0.1, 0.9], outcome=1,
                                 open_time=0, close_time=10)
    rows = _by_forecaster(frame)
    assert set(rows) == {"u"}
    assert rows["u"]["coverage"] == pytest.approx(0.8)
    assert rows["u"]["last_probability"] == 0.7
    assert rows["u"]["baseline_score"] == pytest.approx(0.8 * 100 * (math.log2(0.7) + 1))


def test_single_forecaster_has_zero_peer_score_and_partial_coverage():
    rows = _by_forecaster(time_averaged_scores([7], [2.5], [0.5], outcome=0, open_time=0, close_time=10))
    assert rows[7]["peer_score"] == 0.0
    assert rows[7]["coverage"] == pytest.approx(0.75)
    assert rows[7]["baseline_score"] == pytest.approx(0.0)  # 50 % is the baseline's zero


def test_same_time_forecasts_of_one_forecaster_keep_the_last_one_given():
    rows = _by_forecaster(time_averaged_scores([1, 1], [3, 3], [0.2, 0.7], outcome=1, open_time=0,
                                               close_time=6))
    assert rows[1]["last_probability"] == 0.7
    assert rows[1]["baseline_score"] == pytest.approx(0.5 * 100 * (math.log2(0.7) + 1))


def test_datetimes_are_accepted():
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    times = [t0, t0 + dt.timedelta(hours=5), t0 + dt.timedelta(hours=5)]
    with_dates = time_averaged_scores(["a", "b", "a"], times, [0.8, 0.3, 0.6], outcome=1, open_time=t0,
                                      close_time=t0 + dt.timedelta(hours=10))
    with_numbers = time_averaged_scores(["a", "b", "a"], [0, 5, 5], [0.8, 0.3, 0.6], outcome=1, open_time=0,
                                        close_time=10)
    np.testing.assert_allclose(with_dates["peer_score"], with_numbers["peer_score"])


def test_no_forecasts_gives_an_empty_table():
    assert time_averaged_scores([], [], [], outcome=1, open_time=0, close_time=1).empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"open_time": 5, "close_time": 5}, "after open_time"),
        ({"outcome": 2}, "outcome"),
        ({"y_prob": [0.5, 1.0]}, r"\(0, 1\)"),
        ({"times": [0]}, "same length"),
    ],
)
def test_invalid_inputs_raise(kwargs, message):
    args = {"forecaster": [1, 2], "times": [0, 1], "y_prob": [0.5, 0.5], "outcome": 1, "open_time": 0,
            "close_time": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        time_averaged_scores(args.pop("forecaster"), args.pop("times"), args.pop("y_prob"), **args)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(-5, 15), st.floats(0.01, 0.99)), min_size=1, max_size=25
    ),
    st.booleans(),
)
def test_peer_scores_sum_to_zero_and_coverage_stays_in_unit_interval(forecasts, outcome):
    who, t, p = zip(*forecasts)
    frame = time_averaged_scores(list(who), list(t), list(p), outcome=outcome, open_time=0, close_time=10)
    assert abs(frame["peer_score"].sum()) < 1e-8
    assert ((frame["coverage"] >= 0) & (frame["coverage"] <= 1 + 1e-12)).all()


def test_reference_series_is_scored_against_the_crowd_mean():
    scored = reference_scores([0, 5], [0.5, 0.6], crowd_forecaster=["a", "b", "a"], crowd_times=[0, 5, 5],
                              crowd_prob=[0.8, 0.3, 0.6], outcome=1, open_time=0, close_time=10)
    first_half = LN(0.5) - LN(0.8)
    second_half = LN(0.6) - (LN(0.6) + LN(0.3)) / 2
    assert scored["peer_score"] == pytest.approx(100 * (first_half + second_half) / 2)
    assert scored["coverage"] == 1.0
    assert scored["baseline_score"] == pytest.approx(50 * (math.log2(0.5) + 1) + 50 * (math.log2(0.6) + 1))


def test_reference_series_without_a_crowd_has_zero_peer_score():
    scored = reference_scores([2], [0.7], crowd_forecaster=[], crowd_times=[], crowd_prob=[], outcome=1,
                              open_time=0, close_time=4)
    assert scored["peer_score"] == 0.0 and scored["coverage"] == pytest.approx(0.5)
