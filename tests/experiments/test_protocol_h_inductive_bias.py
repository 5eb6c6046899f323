"""Protocol H (closed-form inductive bias): tiny presets, hit rates, minimal units by hand."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from experiments.metrics_extra import hit_rate
from experiments.mltasks import get_task
from experiments.mltasks.base import TaskData
from experiments.nets import MLP
from experiments.params import SpecError
from experiments.protocols._shared import base_member
from experiments.protocols._variants import cue_variants, first_learned, relative_threshold
from experiments.protocols.inductive_bias import minimal_units, run_variant
from experiments.registry import build, validate_spec
from experiments.trainer import TrainResult
from tests.experiments.protocol_support import check_chunking, check_deterministic, check_tiny


@pytest.mark.parametrize("task", ["digits", "gotu", "lms", "sparse_parity"])
def test_tiny_preset_reports_both_hit_rates(task, tmp_path):
    result = check_tiny("H", task, tmp_path, {"hit_rate_gap", "hit_rate_static", "hit_rate_dynamic", "per_variant"})
    details = result["details"]
    assert result["statistic"] == pytest.approx(details["hit_rate_dynamic"] - details["hit_rate_static"])
    assert len(details["per_variant"]) == 3
    assert -1.0 <= result["statistic"] <= 1.0
    if task in ("digits", "sparse_parity"):
        assert set(details["solutions"]) == {"cue", "pixels" if task == "digits" else "parity"}
        assert 0.0 <= min(details["cue_only_score_by_variant"].values()) <= 1.0
    if task == "gotu":
        assert -1.5 < details["c"] < 1.5
        # min-degree always predicts c = +1
        assert all(v["static_predicts_min_degree"] == 1.0 for v in details["per_variant"].values())


def test_runs_are_deterministic():
    check_deterministic({"concept": "H", "task": "gotu", "preset": "tiny", "seeds": 2, "params": {"steps": 60}})


def test_cue_runs_are_deterministic_and_independent_of_chunking(tmp_path):
    spec = {"concept": "H", "task": "sparse_parity", "preset": "tiny", "seeds": 2, "params": {"steps": 60}}
    check_deterministic(spec)
    check_chunking(spec, tmp_path, ("behaviour", "hit_static", "hit_dynamic", "score_1", "units_parity_1"))


def _variant_outcome(task: str, gamma: float, steps: int) -> dict:
    _, config, seeds = build({"concept": "H", "task": task, "preset": "tiny"})
    params = config.task_params
    spec = replace(get_task(task).train_spec(params), steps=steps, eval_points=20)
    (variant,) = cue_variants(task, params, "mlp", scales=(gamma,))
    members = [base_member(task, s, params) for s in seeds[:3]]
    return run_variant(config, variant, spec, members, torch.device("cpu"))


@pytest.mark.parametrize("task", ["digits", "sparse_parity"])
def test_without_a_cue_both_predictors_and_the_outcome_pick_the_task_feature(task):
    task_feature = "pixels" if task == "digits" else "parity"
    out = _variant_outcome(task, 0.0, 150)
    assert (out["found"] == task_feature).all()
    assert (out["static"] == task_feature).all() and (out["dynamic"] == task_feature).all()
    assert (out["speed_cue"] == 151).all() and (out["units_cue"] == 17).all()  # never learned: width + 1


def test_a_large_cue_is_found_and_predicted():
    out = _variant_outcome("sparse_parity", 1.0, 200)
    assert (out["found"] == "cue").all()
    assert (out["dynamic"] == "cue").all()
    assert (out["score"] > 0.9).all()  # the model scores from the cue alone


def test_cue_h_rejects_a_transformer():
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "H", "task": "sparse_parity", "arch": "transformer", "preset": "tiny"})
    assert err.value.field == "arch"
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "H", "task": "digits", "arch": "cnn", "preset": "tiny"})
    assert err.value.field == "arch"


def test_relative_threshold_and_per_member_learning_time():
    level = relative_threshold({"a": np.array([1.0, 0.5]), "b": np.array([0.6, 0.3])}, 2)
    assert level == pytest.approx([0.95, 0.5])
    result = TrainResult(members=[], params={}, checkpoints={}, curves={
        "step": np.array([10, 20, 30]), "eval_acc": np.array([[0.5, 0.96, 1.0], [0.4, 0.45, 0.49]])})
    assert first_learned(result, 30, level).tolist() == [20.0, 31.0]


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
