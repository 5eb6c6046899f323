"""Leaderboard maths: mean peer score, bootstrap CI over markets, shrunk ranking score."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluator.leaderboard import bootstrap_mean_ci, leaderboard_table


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_more_markets():
    rng = np.random.default_rng(0)
    small = rng.normal(10, 5, 10)
    large = rng.normal(10, 5, 1000)
    lo_s, hi_s = bootstrap_mean_ci(small)
    lo_l, hi_l = bootstrap_mean_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 5
    assert all(math.isnan(x) for x in bootstrap_mean_ci([3.0]))


def test_table_aggregates_per_forecaster_and_ranks_by_shrunk_score():
    scores = pd.DataFrame(
        {
            "forecaster": ["lucky", "steady", "steady", "steady", "poor"],
            "peer_score": [90.0, 20.0, 30.0, 25.0, -10.0],
            "coverage": [0.5, 1.0, 1.0, 1.0, 1.0],
        }
    )
    table = leaderboard_table(scores, n_resamples=200)
    rows = {r["forecaster"]: r for r in table.to_dict(orient="records")}
    assert rows["steady"]["peer_score"] == pytest.approx(25.0)
    assert rows["steady"]["n_markets"] == 3 and rows["steady"]["coverage_sum"] == pytest.approx(3.0)
    assert rows["steady"]["rank_score"] == pytest.approx(75.0 / 30)
    assert rows["lucky"]["rank_score"] == pytest.approx(90.0 / 30)
    assert math.isnan(rows["lucky"]["ci_low"])  # one market: no interval
    assert list(table["forecaster"]) == ["lucky", "steady", "poor"]
    assert rows["steady"]["ci_low"] <= 25.0 <= rows["steady"]["ci_high"]


def test_empty_and_invalid_inputs():
    assert leaderboard_table(pd.DataFrame({"forecaster": [], "peer_score": [], "coverage": []})).empty
    with pytest.raises(ValueError, match="columns"):
        leaderboard_table(pd.DataFrame({"who": [1]}))
