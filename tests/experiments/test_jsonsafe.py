"""The one ``jsonable``: numpy, torch and non-finite floats become plain JSON values."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments import registry, run_artifacts
from experiments.jsonsafe import finite_or_none, jsonable


def test_jsonable_converts_numpy_torch_and_non_finite_values():
    value = {
        1: np.float32(0.5), "nan": float("nan"), "inf": np.float64(-np.inf),
        "arr": np.array([[1, 2], [3, 4]]),
        "tensor": torch.tensor([0.25, float("nan")]), "tuple": (np.int64(3), True, None, "x"),
        "path": Path("runs/1"), "nested": {"flag": np.bool_(False)},
    }
    out = jsonable(value)
    assert out == {"1": 0.5, "nan": None, "inf": None, "arr": [[1, 2], [3, 4]], "tensor": [0.25, None],
                   "tuple": [3, True, None, "x"], "path": "runs/1", "nested": {"flag": False}}
    assert type(out["tuple"][0]) is int and out["nested"]["flag"] is False
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize("raw, expected",
                         [(None, None), (np.float32(2.5), 2.5), (math.nan, None), ("1e-3", 1e-3)])
def test_finite_or_none(raw, expected):
    assert finite_or_none(raw) == expected


def test_there_is_one_jsonable():
    assert run_artifacts.jsonable is jsonable and registry.jsonable is jsonable
    assert run_artifacts.finite_or_none is finite_or_none
