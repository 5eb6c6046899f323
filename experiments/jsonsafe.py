"""Plain JSON values from what the experiments produce (numpy, torch, non-finite floats).

The one ``jsonable`` of the project: run payloads (``run_experiment --json``, result.json), stored
per-seed values and provenance all pass through it, so ``json.dumps(..., allow_nan=False)`` never fails
on a NaN or a numpy scalar. Pure Python, no Django: any app may import it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["finite_or_none", "jsonable"]


def finite_or_none(value: Any) -> float | None:
    """A JSON-safe float: NaN and ±inf become ``None`` (so does ``None``)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def jsonable(value: Any) -> Any:
    """Recursively convert ``value`` into plain JSON values.

    Mappings become dicts with string keys, lists and tuples lists; numpy scalars and arrays and torch
    tensors (anything with ``tolist``) their Python values; non-finite floats ``None``. ``bool``,
    ``int``, ``str`` and ``None`` stay; anything else becomes its ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array, torch tensor
        return jsonable(value.tolist())
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)
