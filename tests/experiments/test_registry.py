"""Spec validation, hashing, the catalog and output persistence."""
import json

import numpy as np
import pytest

from experiments import registry
from experiments.protocols.base import load_outputs, save_outputs
from experiments.registry import SpecError


def test_validate_fills_the_preset_and_coerces_strings():
    spec = registry.validate_spec({"concept": "A", "task": "digits", "preset": "tiny",
                                   "params": {"steps": "120", "lr": "3e-3", "optimizer": "sgd"}})
    assert spec["arch"] == "mlp" and spec["seeds"] == 6 and spec["seed_offset"] == 0
    params = spec["params"]
    assert params["steps"] == 120 and params["lr"] == 0.003 and params["optimizer"] == "sgd"
    assert spec["params"]["noise"] == 0.3 and spec["params"]["n_boot"] == 200
    assert registry.validate_spec(spec) == spec


def test_spec_hash_is_canonical():
    a = registry.spec_sha256({"concept": "A", "task": "digits", "preset": "tiny"})
    b = registry.spec_sha256({"task": "digits", "preset": "tiny", "concept": "A", "arch": "mlp",
                              "params": {"steps": 150}})
    c = registry.spec_sha256({"concept": "A", "task": "digits", "preset": "tiny", "params": {"steps": 151}})
    assert a == b != c and len(a) == 64


@pytest.mark.parametrize("spec, field, words", [
    ({"concept": "A", "task": "digits", "params": {"steps": 0}}, "params.steps", ["steps", "[1, 100000]"]),
    ({"concept": "A", "task": "digits", "params": {"lr": "fast"}}, "params.lr", ["lr"]),
    ({"concept": "A", "task": "digits", "params": {"code": "import os"}}, "params.code",
     ["allowed", "steps"]),
    ({"concept": "A", "task": "digits", "seeds": 300}, "seeds", ["[2, 256]"]),
    ({"concept": "A", "task": "digits", "seeds": 4, "seed_budget": 2}, "seed_budget", ["[4, 256]"]),
    ({"concept": "A", "task": "mnist"}, "task", ["digits", "modadd"]),
    ({"concept": "A", "task": "digits", "arch": "resnet"}, "arch", ["mlp", "cnn"]),
    ({"concept": "Z", "task": "digits"}, "concept", ["A"]),
    ({"concept": "A", "task": "digits", "url": "http://x"}, "url", ["allowed keys"]),
    ({"concept": "A", "task": "digits", "preset": "huge"}, "preset", ["tiny", "default"]),
    ({"concept": "A", "task": "sparse_parity", "params": {"n": 4, "k": 5}}, "params.k", ["at most n"]),
    ({"concept": "A", "task": "digits", "seeds": 256,
      "params": {"steps": 100000, "width": 2048, "batch_size": 2048}}, "cost", ["FLOPs", "cap"]),
    ({"concept": "C", "task": "digits", "seeds": 3}, "seeds", ["[4, 256]"]),
    ({"concept": "A", "task": "digits", "params": {"optimizer": True}}, "params.optimizer", ["adam"]),
])
def test_bad_specs_name_the_parameter_and_its_range(spec, field, words):
    with pytest.raises(SpecError) as info:
        registry.validate_spec(spec)
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)


def test_build_uses_the_seed_offset_and_splits_protocol_parameters():
    protocol, config, seeds = registry.build({"concept": "C", "task": "lms", "preset": "tiny", "seeds": 5,
                                              "seed_offset": 100, "params": {"bic_threshold": 6}})
    assert seeds == [100, 101, 102, 103, 104]
    assert protocol.concept == "C" and config.bic_threshold == 6.0 and config.n_boot == 200
    assert "bic_threshold" not in config.task_params and config.task_params["n_slab"] == 8


def test_statistic_names_are_fixed():
    names = {c: registry.statistic_name(c) for c in "ABCDEFGH"}
    assert names == {"A": "dis_ood", "B": "dis_ratio", "C": "minority_fraction", "D": "snap_fraction",
                     "E": "auroc_25", "F": "early_late_effect", "G": "cka_early_final", "H": "hit_rate_gap"}
    with pytest.raises(SpecError):
        registry.statistic_name("X")


def test_catalog_describes_every_task_parameter_and_preset():
    catalog = registry.catalog()
    assert set(catalog) >= {"A", "C"}
    assert set(catalog["A"]["tasks"]) == {"digits", "modadd", "lms", "gotu", "sparse_parity", "two_pathway"}
    modadd = catalog["C"]["tasks"]["modadd"]
    assert modadd["params"]["alpha"] == {"type": "float", "default": 1.0, "min": 0.0, "max": 1.0,
                                         "doc": modadd["params"]["alpha"]["doc"]}
    assert modadd["params"]["optimizer"]["choices"] == ["adam", "adamw", "sgd"]
    assert modadd["presets"]["tiny"]["seeds"] == 12
    assert modadd["estimated_cost_default"]["flops"] > 0
    json.dumps(catalog, allow_nan=False)


def test_cost_grows_with_seeds_and_steps():
    small = registry.estimate_cost(registry.validate_spec({"concept": "A", "task": "digits", "seeds": 4}))
    large = registry.estimate_cost(registry.validate_spec({"concept": "A", "task": "digits", "seeds": 8,
                                                           "params": {"steps": 3000}}))
    assert large["flops"] == pytest.approx(4 * small["flops"], rel=0.05)
    assert large["cpu_seconds_estimate"] > small["cpu_seconds_estimate"] > 0


def test_outputs_round_trip_without_pickle(tmp_path):
    outputs = [{"seed": 3, "behaviour": 0.5, "missing": float("nan"), "pred": np.arange(4, dtype=np.int32),
                "nested": {"curve": np.linspace(0, 1, 3), "name": "x"}, "flags": [1, 2]}]
    path = save_outputs(tmp_path / "seed.npz", outputs)
    back = load_outputs(path)
    assert back[0]["seed"] == 3 and np.isnan(back[0]["missing"]) and back[0]["flags"] == [1, 2]
    assert back[0]["pred"].dtype == np.int32 and np.array_equal(back[0]["pred"], np.arange(4))
    assert np.allclose(back[0]["nested"]["curve"], [0, 0.5, 1]) and back[0]["nested"]["name"] == "x"
    with pytest.raises(TypeError):
        save_outputs(tmp_path / "bad.npz", [{"seed": 1, "obj": object()}])
