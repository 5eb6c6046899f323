"""Protocol F (early interventions): tiny presets on every task, hooks, the effect size, bad specs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from experiments.metrics_extra import standardized_effect
from experiments.params import SpecError
from experiments.protocols.interventions import blur, make_hooks, visible_drop_fraction
from experiments.registry import build, validate_spec
from experiments.trainer import Member
from tests.experiments.protocol_support import check_chunking, check_deterministic, check_tiny

DETAILS = {"early_late_effect", "effect_early", "effect_late", "sd_never", "intervention", "behaviour_mean"}


@pytest.mark.parametrize(("task", "intervention"), [("digits", "blur"), ("digits", "counterexamples"),
                                                     ("lms", "counterexamples"), ("modadd", "regime"),
                                                     ("sparse_parity", "mask"), ("two_pathway", "block")])
def test_tiny_preset_compares_early_late_and_never(task, intervention, tmp_path):
    result = check_tiny("F", task, tmp_path, DETAILS, params={"intervention": intervention})
    assert result["details"]["intervention"] == intervention
    assert {"behaviour_early", "behaviour_late"} <= set(result["per_seed"][0])


def test_runs_are_deterministic_and_independent_of_chunking(tmp_path):
    spec = {"concept": "F", "task": "digits", "preset": "tiny", "seeds": 3,
            "params": {"steps": 40, "intervention": "counterexamples"}}
    check_deterministic(spec)
    check_chunking(spec, tmp_path, ("behaviour", "behaviour_early", "behaviour_late"))


def test_mask_runs_are_deterministic_and_independent_of_chunking(tmp_path):
    spec = {"concept": "F", "task": "sparse_parity", "preset": "tiny", "seeds": 3, "params": {"steps": 80}}
    check_deterministic(spec)
    check_chunking(spec, tmp_path, ("behaviour", "behaviour_early", "behaviour_late", "loss_drop_fraction_early"))


def test_hooks_act_only_inside_their_window():
    _, config, _ = build({"concept": "F", "task": "lms", "preset": "tiny"})
    hooks = make_hooks(config, (2, 4), config.task_params)
    x, y = torch.ones(2, 8, 3), torch.zeros(2, 8, dtype=torch.long)
    members = [Member(seed=0), Member(seed=1)]
    assert torch.equal(hooks.batch_transform(1, x, y, members)[0], x)
    flipped, _ = hooks.batch_transform(2, x, y, members)
    assert (flipped[:, :2, 0] == -1).all() and (flipped[:, 2:, 0] == 1).all() and (flipped[..., 1:] == 1).all()
    _, modadd, _ = build({"concept": "F", "task": "modadd", "preset": "tiny"})
    regime = make_hooks(modadd, (0, 3), modadd.task_params)
    assert regime.model_kwargs(0) == {"alpha": 0.0} and regime.model_kwargs(3) == {}


def test_mask_redraws_only_the_relevant_bits_per_member_seed():
    _, config, _ = build({"concept": "F", "task": "sparse_parity", "preset": "tiny"})
    params = config.task_params
    hooks = make_hooks(config, (0, 5), params)
    k, n = params["k"], params["n"]
    x = torch.ones(2, 400, n)
    y = torch.zeros(2, 400, dtype=torch.long)
    masked, same_y = hooks.batch_transform(0, x, y, [Member(seed=0), Member(seed=1)])
    assert torch.equal(same_y, y) and torch.equal(masked[..., k:], x[..., k:])
    assert set(masked[..., :k].unique().tolist()) == {-1.0, 1.0}
    # the parity of the redrawn bits no longer tells the label (≈ half of the batch agrees with y = 0)
    agree = (masked[..., :k].prod(-1) > 0).double().mean().item()
    assert 0.4 < agree < 0.6
    # a member's bits depend on its own seed only, not on its chunk
    alone, _ = hooks.batch_transform(0, x[1:], y[1:], [Member(seed=1)])
    assert torch.equal(alone[0], masked[1])
    assert torch.equal(hooks.batch_transform(5, x, y, [Member(seed=0), Member(seed=1)])[0], x)


def test_a_pure_pause_leaves_the_visible_drop_time_unchanged():
    # never: the loss drops at step 60 of 200; a window [0, 50) that only pauses learning drops at 110
    never = visible_drop_fraction(0.3, (0, 0), 200)
    assert visible_drop_fraction(0.55, (0, 50), 200) == pytest.approx(never) and never == 0.3
    # a late window after the drop cannot move it; a run that never drops stays censored at 1.0
    assert visible_drop_fraction(0.3, (100, 150), 200) == 0.3
    assert visible_drop_fraction(1.0, (0, 50), 200) == 1.0
    # an early deficit that left a mark (the drop comes 20 steps beyond the lost time) scores that mark
    stat, early, late = standardized_effect([visible_drop_fraction(0.65, (0, 50), 200)] * 3, [0.3] * 3,
                                            [0.29, 0.3, 0.31])
    assert early == pytest.approx(0.1) and late == 0.0 and stat == pytest.approx(0.1 / 0.01)


def test_blur_averages_two_by_two_blocks():
    img = torch.arange(64, dtype=torch.float32).reshape(1, 64)
    out = blur(img).reshape(8, 8)
    assert out[0, 0] == out[1, 1] == (0 + 1 + 8 + 9) / 4
    assert torch.allclose(blur(out.reshape(1, 64)), out.reshape(1, 64))


def test_standardized_effect_on_hand_made_arms():
    never = np.array([0.0, 1.0, 2.0, 3.0])
    stat, early, late = standardized_effect(never + 2.0, never + 0.5, never)
    assert (early, late) == (2.0, 0.5)
    assert stat == pytest.approx(1.5 / never.std(ddof=1))
    stat, _, _ = standardized_effect([1.0, 1.0], [0.0, 0.0], [0.0, 0.0], sd_floor=0.5)
    assert stat == 2.0  # SD 0: the floor applies


def test_an_intervention_the_task_cannot_run_is_rejected():
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "F", "task": "lms", "preset": "tiny", "params": {"intervention": "blur"}})
    assert err.value.field == "params.intervention"
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "F", "task": "digits", "preset": "tiny", "params": {"duration": 0.4,
                                                                                     "late_start": 0.7}})
    assert err.value.field == "params.duration"
