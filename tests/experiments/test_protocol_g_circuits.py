"""Protocol G (survival of circuits): tiny presets, key frequencies, retention and Jaccard by hand."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.metrics_extra import jaccard, key_frequencies, retention
from experiments.params import SpecError
from experiments.registry import validate_spec
from tests.experiments.protocol_support import check_deterministic, check_tiny


@pytest.mark.parametrize("task", ["digits", "modadd", "sparse_parity", "lms"])
def test_tiny_preset_reports_cka_and_retention(task, tmp_path):
    result = check_tiny("G", task, tmp_path, {"retention", "cka_early_final", "cka_by_checkpoint"})
    details = result["details"]
    assert result["statistic"] == pytest.approx(details["cka_early_final"])
    assert details["cka_by_checkpoint"]["1"] == pytest.approx(1.0)
    assert ("jaccard" in details) == (task == "modadd")


def test_runs_are_deterministic():
    check_deterministic({"concept": "G", "task": "modadd", "preset": "tiny", "seeds": 2, "params": {"steps": 40}})


def test_key_frequencies_of_a_two_frequency_embedding():
    p = 31
    tokens = np.arange(p)[:, None]
    emb = np.hstack([np.cos(2 * np.pi * 3 * tokens / p), np.sin(2 * np.pi * 3 * tokens / p),
                     0.5 * np.cos(2 * np.pi * 7 * tokens / p)])
    assert key_frequencies(emb, mass=0.99) == [3, 7]
    assert key_frequencies(emb, mass=0.5) == [3]
    flat = np.random.default_rng(0).normal(size=(p, 64))
    assert len(key_frequencies(flat, mass=0.8)) > 5


def test_retention_and_jaccard_by_hand():
    early = np.array([True, True, False, True])
    final = np.array([True, False, True, True])
    assert retention(early, final) == pytest.approx(2 / 3)
    assert np.isnan(retention(np.zeros(3, bool), np.ones(3, bool)))
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert jaccard([], []) == 1.0


def test_early_fraction_must_be_a_checkpoint():
    with pytest.raises(SpecError) as err:
        validate_spec({"concept": "G", "task": "digits", "preset": "tiny", "params": {"early_frac": 0.25}})
    assert err.value.field == "params.early_frac"
