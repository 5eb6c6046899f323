"""Protocol B (small changes): tiny presets, the change members, determinism, bad specs."""
from __future__ import annotations

import pytest

from experiments.params import SpecError
from experiments.protocols.sensitivity import CHANGES, changed_members, nudge_target
from experiments.registry import build, validate_spec
from tests.experiments.protocol_support import check_deterministic, check_tiny


@pytest.mark.parametrize("task", ["digits", "modadd", "lms", "gotu", "sparse_parity"])
def test_tiny_preset_reports_a_ratio_per_change(task, tmp_path):
    result = check_tiny("B", task, tmp_path, {"dis_ratio", "change", "ratios", "dis_ood_all_seeds"})
    ratios = result["details"]["ratios"]
    assert set(ratios) == set(CHANGES)
    assert ratios["all_seeds"]["ratio"] == 1.0
    assert result["statistic"] == ratios["one_ulp"]["ratio"]
    assert {"dis_ood_one_ulp", "dis_ood_all_seeds"} <= set(result["per_seed"][0])


def test_each_change_differs_from_the_reference_in_exactly_one_knob():
    _, config, _ = build({"concept": "B", "task": "digits", "preset": "tiny"})
    members = changed_members(config, 3, ulp_param=nudge_target(config))
    ref = members["reference"]
    expected = {"all_seeds": {"init_seed", "data_seed"}, "init_seed": {"init_seed"}, "data_order": {"data_seed"},
                "one_ulp": {"ulp_nudge", "ulp_param"}, "lr": {"lr_mult"}, "batch": {"batch_mult"},
                "init_scale": {"init_scale"}, "optimizer": {"optimizer", "lr_mult"}}
    for name, fields in expected.items():
        changed = {f for f in ref.__dataclass_fields__ if getattr(ref, f) != getattr(members[name], f)}
        assert changed == fields, name
    assert members["optimizer"].optimizer == "sgd" and members["optimizer"].lr_mult == pytest.approx(10.0)
    assert members["lr"].lr_mult == pytest.approx(1.1) and members["batch"].batch_mult == pytest.approx(1.5)
    # the nudge must hit a live weight: the first MLP weight multiplies an always-zero digits pixel
    assert nudge_target(config) == "out.weight"


def test_the_statistic_is_the_ratio_of_the_named_change_and_runs_are_deterministic():
    result = check_deterministic({"concept": "B", "task": "digits", "preset": "tiny", "seeds": 3,
                                  "params": {"change": "init_seed", "steps": 40}})
    assert result["details"]["change"] == "init_seed"
    assert result["statistic"] == result["details"]["ratios"]["init_seed"]["ratio"]
    # a new init seed changes the function about as much as changing every seed
    assert result["statistic"] > 0.5


def test_the_yardstick_cannot_be_the_statistic():
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "B", "task": "digits", "preset": "tiny", "params": {"change": "all_seeds"}})
    assert err.value.field == "params.change"


def test_ratio_is_zero_when_no_run_differs_and_a_ratio_of_means_otherwise():
    protocol, config, _ = build({"concept": "B", "task": "digits", "preset": "tiny"})

    def outputs(dis_all, dis_ulp):
        rows = []
        for seed, (a, u) in enumerate(zip(dis_all, dis_ulp)):
            row = {"seed": seed, "behaviour": 0.5}
            for name in CHANGES:
                row.update({f"dis_ood_{name}": u if name != "all_seeds" else a, f"dis_id_{name}": 0.0,
                            f"behaviour_{name}": 0.5})
            rows.append(row)
        return rows

    _, result = protocol.summarize(config, outputs([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]))
    assert result.statistic == 0.0 and result.ci_low == result.ci_high == 0.0
    _, result = protocol.summarize(config, outputs([0.2, 0.4, 0.3], [0.1, 0.1, 0.1]))
    assert result.statistic == pytest.approx(0.1 / 0.3)
    assert result.ci_low <= result.statistic <= result.ci_high
