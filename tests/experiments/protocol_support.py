"""Shared checks for the tests of protocols B and D–H (tiny presets, determinism, chunking)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from experiments.protocols.base import get_protocol, load_outputs, save_outputs
from experiments.registry import build, run_spec, summarize_outputs

NUMERIC_KEYS = ("statistic", "ci_low", "ci_high", "details", "per_seed", "spec_sha256")


def check_tiny(concept: str, task: str, tmp_path: Path, details: set[str], **spec: Any) -> dict[str, Any]:
    """Run the tiny preset through the registry and check the command-line contract of docs/experiments.md; return the payload."""
    result = run_spec({"concept": concept, "task": task, "preset": "tiny", **spec}, device="cpu", out_dir=tmp_path)
    assert math.isfinite(result["statistic"]), result["details"]
    assert result["ci_low"] <= result["statistic"] <= result["ci_high"]
    assert details <= set(result["details"]), sorted(result["details"])
    name = get_protocol(concept).statistic_name
    assert result["details"][name] == result["statistic"]
    assert [row["seed"] for row in result["per_seed"]] == result["provenance"]["seeds"]
    assert all(math.isfinite(row["behaviour"]) for row in result["per_seed"])
    files = {p.name for p in tmp_path.iterdir()}
    assert {"result.json", "per_seed.csv", "behaviour.png", "curves.png"} <= files
    assert any(name.startswith("key_") and name.endswith(".png") for name in files)
    return result


def check_deterministic(spec: dict[str, Any]) -> dict[str, Any]:
    """The same spec twice gives identical numbers."""
    first, second = run_spec(spec, device="cpu"), run_spec(spec, device="cpu")
    for key in NUMERIC_KEYS:
        assert first[key] == second[key], key
    return first


def check_chunking(spec: dict[str, Any], tmp_path: Path, keys: tuple[str, ...]) -> None:
    """Seeds trained in one chunk or in two (persisted, joined in another order) agree per seed."""
    protocol, config, seeds = build(spec)
    whole = {o["seed"]: o for o in protocol.train_seeds(config, seeds, device="cpu")}
    paths = []
    for chunk in (seeds[:1], seeds[1:]):
        for out in protocol.train_seeds(config, chunk, device="cpu"):
            paths.append(save_outputs(tmp_path / f"seed{out['seed']}.npz", out))
    parts = [load_outputs(p) for p in reversed(paths)]
    for out in parts:
        for key in keys:
            assert np.allclose(np.asarray(out[key], dtype=float), np.asarray(whole[out["seed"]][key], dtype=float),
                               atol=1e-5, equal_nan=True), key
    joined = summarize_outputs(spec, parts, provenance={"device": "cpu"})
    reference = summarize_outputs(spec, list(whole.values()), provenance={"device": "cpu"})
    assert np.isclose(joined["statistic"], reference["statistic"], atol=1e-6)
