"""Protocols A and C on every task (tiny presets): finite statistics inside their CIs, determinism."""
import math

import numpy as np
import pytest

from experiments.mltasks import TASKS
from experiments.protocols.base import get_protocol, load_outputs, save_outputs
from experiments.registry import build, run_spec, summarize_outputs

EXPECTED_DETAILS = {"A": {"dis_id", "dis_ood", "R", "cka_mean"},
                    "C": {"dip_p", "delta_bic", "minority_fraction"}}


@pytest.mark.parametrize("concept", ["A", "C"])
@pytest.mark.parametrize("task", sorted(TASKS))
def test_tiny_preset_gives_a_finite_statistic_inside_its_ci(concept, task, tmp_path):
    result = run_spec({"concept": concept, "task": task, "preset": "tiny"}, device="cpu", out_dir=tmp_path)
    assert math.isfinite(result["statistic"])
    assert result["ci_low"] <= result["statistic"] <= result["ci_high"]
    assert EXPECTED_DETAILS[concept] <= set(result["details"])
    assert result["details"][get_protocol(concept).statistic_name] == result["statistic"]
    seeds = [row["seed"] for row in result["per_seed"]]
    assert seeds == list(range(result["spec"]["seeds"])) == result["provenance"]["seeds"]
    assert all(math.isfinite(row["behaviour"]) for row in result["per_seed"])
    written = {p.name for p in tmp_path.iterdir()}
    assert {"result.json", "per_seed.csv", "behaviour.png", "curves.png"} <= written
    assert any(p.name.startswith("key_") for p in tmp_path.iterdir())


def test_same_seeds_give_identical_numbers_and_chunks_can_be_summarized_later(tmp_path):
    spec = {"concept": "A", "task": "digits", "preset": "tiny", "seeds": 4, "params": {"steps": 60}}
    first, second = run_spec(spec, device="cpu"), run_spec(spec, device="cpu")
    for key in ("statistic", "ci_low", "ci_high", "details", "per_seed", "spec_sha256"):
        assert first[key] == second[key]
    # the pipeline shape: train two chunks separately, persist per seed, summarize once
    protocol, config, seeds = build(spec)
    paths = []
    for chunk in (seeds[:1], seeds[1:]):
        for out in protocol.train_seeds(config, chunk, device="cpu"):
            paths.append(save_outputs(tmp_path / f"seed{out['seed']}.npz", out))
    outputs = [load_outputs(p) for p in reversed(paths)]
    joined = summarize_outputs(spec, outputs, provenance={"device": "cpu"})
    assert joined["statistic"] == pytest.approx(first["statistic"])
    assert np.allclose([r["behaviour"] for r in joined["per_seed"]],
                       [r["behaviour"] for r in first["per_seed"]], atol=1e-6)
