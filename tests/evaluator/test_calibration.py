"""Calibration: reliability bins against scikit-learn, bands, ECE and the Murphy decomposition."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from evaluator.calibration import (
    calibration_summary,
    expected_calibration_error,
    murphy_decomposition,
    reliability_bins,
)


@pytest.fixture
def forecasts():
    rng = np.random.default_rng(11)
    p = rng.random(3000)
    y = (rng.random(3000) < p**1.3).astype(int)  # slightly over-confident in YES
    return y, p


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_bins_match_scikit_learn_calibration_curve(forecasts, strategy, n_bins):
    y, p = forecasts
    bins = reliability_bins(y, p, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    filled = bins[bins["count"] > 0]
    np.testing.assert_allclose(filled["observed_frequency"], prob_true)
    np.testing.assert_allclose(filled["mean_predicted"], prob_pred)
    assert bins["count"].sum() == len(y)


def test_edge_values_fall_in_the_lower_bin_like_scikit_learn():
    bins = reliability_bins([1, 0, 1], [0.5, 0.5, 1.0], n_bins=2)
    assert bins["count"].tolist() == [2, 1]


def test_bands_are_binomial_quantiles_around_the_mean_forecast():
    y = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    p = [0.2] * 10
    row = reliability_bins(y, p, n_bins=5).iloc[0]  # 0.2 sits on an edge: the lower bin
    assert row["count"] == 10 and row["observed_frequency"] == pytest.approx(0.2)
    assert row["band_low"] == pytest.approx(stats.binom.ppf(0.05, 10, 0.2) / 10)
    assert row["band_high"] == pytest.approx(stats.binom.ppf(0.95, 10, 0.2) / 10)
    assert row["band_low"] <= 0.2 <= row["band_high"]
    assert row["ci_low"] < 0.2 < row["ci_high"]


def test_empty_bins_have_zero_count_and_no_figures():
    bins = reliability_bins([1, 0], [0.05, 0.95], n_bins=10)
    assert bins["count"].tolist() == [1] + [0] * 8 + [1]
    assert bins.loc[5, ["mean_predicted", "band_low"]].isna().all()


def test_ece_hand_computed():
    # Bin [0, .5]: forecasts .2, .4 (mean .3), outcomes 1, 0 (freq .5): gap .2 · 2/4.
    # Bin (.5, 1]: forecasts .9, .9 (mean .9), outcomes 1, 1 (freq 1): gap .1 · 2/4.
    assert expected_calibration_error([1, 0, 1, 1], [0.2, 0.4, 0.9, 0.9], n_bins=2) == pytest.approx(0.15)


def test_perfectly_calibrated_large_sample_has_small_ece(forecasts):
    rng = np.random.default_rng(2)
    p = rng.random(200_000)
    y = rng.random(200_000) < p
    assert expected_calibration_error(y, p) < 0.01


def test_murphy_decomposition_hand_computed_and_exact_with_distinct_values():
    y = [1, 0, 1, 1]
    p = [0.2, 0.2, 0.9, 0.9]
    m = murphy_decomposition(y, p, n_bins=None)
    # Groups: p=.2 (freq .5), p=.9 (freq 1); base rate .75.
    assert m.reliability == pytest.approx(0.5 * 0.3**2 + 0.5 * 0.1**2)
    assert m.resolution == pytest.approx(0.5 * 0.25**2 + 0.5 * 0.25**2)
    assert m.uncertainty == pytest.approx(0.75 * 0.25)
    assert m.within_bin == pytest.approx(0.0, abs=1e-15)
    assert m.brier == pytest.approx(brier_score_loss(y, p))
    assert m.reliability - m.resolution + m.uncertainty == pytest.approx(m.brier)


def test_murphy_identity_closes_with_the_within_bin_term(forecasts):
    y, p = forecasts
    m = murphy_decomposition(y, p, n_bins=10)
    assert m.brier == pytest.approx(brier_score_loss(y, p))
    assert m.reliability - m.resolution + m.uncertainty + m.within_bin == pytest.approx(m.brier)
    assert abs(m.within_bin) < 0.01


def test_summary_is_json_ready_and_handles_no_forecasts():
    import json

    s = calibration_summary([1, 0, 1], [0.7, 0.2, 0.6], n_bins=4)
    json.dumps(s, allow_nan=False)
    assert s["n"] == 3 and len(s["bins"]) == 4 and s["murphy"]["n"] == 3
    assert calibration_summary([], []) == {"n": 0, "bins": [], "ece": None, "murphy": None}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_bins": 0}, "positive integer"), ({"strategy": "log"}, "uniform"),
     ({"confidence": 1.0}, r"\(0, 1\)")],
)
def test_invalid_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        reliability_bins([1, 0], [0.3, 0.6], **kwargs)
