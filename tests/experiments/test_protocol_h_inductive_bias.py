"""Protocol H (closed-form inductive bias): tiny presets, hit rates, minimal units by hand."""
from __future__ import annotations

import pytest
import torch

from experiments.metrics_extra import hit_rate
from experiments.mltasks.base import TaskData
from experiments.nets import MLP
from experiments.protocols.inductive_bias import minimal_units
from tests.experiments.protocol_support import check_deterministic, check_tiny


@pytest.mark.parametrize("task", ["gotu", "lms"])
def test_tiny_preset_reports_both_hit_rates(task, tmp_path):
    result = check_tiny("H", task, tmp_path, {"hit_rate_gap", "hit_rate_static", "hit_rate_dynamic", "per_variant"})
    details = result["details"]
    assert result["statistic"] == pytest.approx(details["hit_rate_dynamic"] - details["hit_rate_static"])
    assert len(details["per_variant"]) == 3
    if task == "gotu":
        assert -1.5 < details["c"] < 1.5
        # min-degree always predicts c = +1
        assert all(v["static_predicts_min_degree"] == 1.0 for v in details["per_variant"].values())


def test_runs_are_deterministic():
    check_deterministic({"concept": "H", "task": "gotu", "preset": "tiny", "seeds": 2, "params": {"steps": 60}})


def test_hit_rate_by_hand():
    assert hit_rate(["a", "b", "a"], ["a", "a", "a"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        hit_rate([], [])


def test_minimal_units_counts_the_units_a_solution_needs():
    # two members; the last layer's unit 0 alone carries the sign of x in member 0, member 1 needs none of 4
    model = MLP(1, 4, 2, depth=1)
    x = torch.linspace(-1, 1, 40).reshape(-1, 1)
    y = (x[:, 0] > 0).long()
    w1 = torch.zeros(2, 4, 1)
    w1[0, 0, 0] = 1.0
    w1[0, 1, 0] = 0.01
    params = {"hidden.0.weight": w1, "hidden.0.bias": torch.zeros(2, 4),
              "out.weight": torch.zeros(2, 2, 4), "out.bias": torch.zeros(2, 2)}
    params["out.weight"][0, 1, 0] = 5.0
    params["out.weight"][0, 0, 0] = -5.0
    params["out.weight"][0, 1, 1] = 0.1
    params["out.bias"][0] = torch.tensor([0.0, -0.01])
    data = TaskData(x_train=x, y_train=y, x_id=x, y_id=y, x_ood=x, y_ood=y, loss="ce", n_out=2, probe=x)
    units = minimal_units(model, params, data, torch.device("cpu"))
    assert units[0] == 1.0
    assert units[1] == 5.0  # width + 1: never reaches 95%
