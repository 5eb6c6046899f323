"""Protocol D (stability of clusters): spawning and nudge-and-return, snap metrics on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.evaluation import train_task
from experiments.metrics_extra import snap_fraction, snap_position, step_sharpness
from experiments.params import SpecError
from experiments.protocols.stability import _basin_distances, position_from
from experiments.registry import build, validate_spec
from tests.experiments.protocol_support import check_chunking, check_deterministic, check_tiny

DETAILS = {"snap_fraction", "barrier_same_init", "barrier_diff_init", "barrier_by_k", "agreement_by_k", "sharpness"}


@pytest.mark.parametrize("task", ["digits", "lms", "modadd", "sparse_parity"])
def test_tiny_preset_reports_spawning_and_snapping(task, tmp_path):
    result = check_tiny("D", task, tmp_path, DETAILS)
    details = result["details"]
    assert details["position_from"] == position_from(task)
    assert details["n_valid_seeds"] >= 1
    assert 0.0 <= result["statistic"] <= 1.0
    assert set(details["barrier_by_k"]) == {"0", "0.05", "0.2", "0.4"}
    assert details["barrier_same_init"] == details["barrier_by_k"]["0"]
    assert (tmp_path / "spawn_barrier_vs_k.png").exists()
    # the α = 0 continuation is cluster A by construction
    assert details["position_by_alpha"]["0"] == 0.0


def test_digits_runs_are_deterministic_and_independent_of_chunking(tmp_path):
    spec = {"concept": "D", "task": "digits", "preset": "tiny", "seeds": 2, "params": {"steps": 40}}
    check_deterministic(spec)
    check_chunking(spec, tmp_path, ("behaviour", "barrier_k0", "barrier_diff_init", "positions"))


def test_sparse_parity_runs_are_deterministic_and_independent_of_chunking(tmp_path):
    spec = {"concept": "D", "task": "sparse_parity", "preset": "tiny", "seeds": 2, "params": {"steps": 60}}
    check_deterministic(spec)
    check_chunking(spec, tmp_path, ("behaviour", "barrier_k0", "positions"))


def test_basin_position_puts_an_outcome_on_a_at_zero_and_on_b_at_one():
    # one seed, two "nudged outcomes": member 0 is the α = 0 outcome (A) itself, member 1 an independent
    # run that is also used as B, so the outcomes sit exactly on A and on B
    _, config, _ = build({"concept": "D", "task": "sparse_parity", "preset": "tiny"})
    run = train_task("sparse_parity", "mlp", {**config.task_params, "steps": 120}, [0, 1], device="cpu")
    other = {k: v[1:2].clone() for k, v in run.result.params.items()}
    d_a, d_b = _basin_distances(config, run, other, 1, 2, run.data.x_id, run.data.y_id)
    assert d_a[0, 0] == 0.0 and d_b[0, 1] == 0.0
    assert d_a[0, 1] == pytest.approx(d_b[0, 0]) and d_b[0, 0] > config.min_gap  # separate basins
    assert snap_position(d_a, d_b).tolist() == [[0.0, 1.0]]


def test_snap_margin_is_spelled_snap_margin_where_the_task_owns_margin():
    spec = validate_spec({"concept": "D", "task": "lms", "preset": "tiny",
                          "params": {"snap_margin": 0.2, "margin": 0.05}})
    _, config, _ = build(spec)
    assert config.margin == 0.2 and config.task_params["margin"] == 0.05
    assert "snap_margin" not in config.task_params
    # elsewhere the name is unchanged (stored digits/modadd specs stay valid)
    assert validate_spec({"concept": "D", "task": "digits", "preset": "tiny"})["params"]["margin"] == 0.25
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "D", "task": "digits", "preset": "tiny", "params": {"snap_margin": 0.2}})
    assert err.value.field == "params.snap_margin"


def test_snap_position_and_fraction_on_hand_made_outcomes():
    u = snap_position(np.array([0.0, 1.0, 0.5, 0.0]), np.array([1.0, 0.0, 0.5, 0.0]))
    assert u.tolist() == [0.0, 1.0, 0.5, 0.5]
    assert snap_fraction([0.0, 0.1, 0.95, 1.0], margin=0.2) == 1.0
    assert snap_fraction([0.4, 0.5, 0.6, 0.0], margin=0.2) == 0.25
    with pytest.raises(ValueError):
        snap_fraction([0.1], margin=0.6)
    with pytest.raises(ValueError):
        snap_position(np.array([-1.0]), np.array([1.0]))


def test_step_sharpness_is_one_for_a_step_and_small_for_a_ramp():
    alphas = np.linspace(0, 1, 5)
    assert step_sharpness(alphas, [0, 0, 0, 1, 1]) == 1.0
    assert step_sharpness(alphas, [0, 0.25, 0.5, 0.75, 1.0]) == pytest.approx(0.25)
    assert step_sharpness(alphas[::-1], [1, 1, 0, 0, 0]) == 1.0  # unsorted α
    assert np.isnan(step_sharpness(alphas, [0.3, 0.1, 0.5, 0.0, 0.3]))
