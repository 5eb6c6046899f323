"""The ``survey`` preset: what one survey row trains, in one place.

The survey measures all eight concepts on each setting, so its preset is sized for a full row (A–H
together) of about a minute of one CPU thread on the small tasks, between ``tiny`` (seconds, for
tests; its statistics are often degenerate) and ``default`` (what markets use, sized for a GPU).
The design (experiments/survey/design.py) draws the task parameters; these values are the centre of
that design and fill every parameter a design leaves undrawn. How well the survey preset tracks the
default one is measured by ``benchmarks/survey.py --validate`` (docs/survey.md).
"""
from __future__ import annotations

from typing import Any

SURVEY = "survey"

TASK_PARAMS: dict[str, dict[str, Any]] = {
    "digits": {"steps": 300, "width": 32},
    "lms": {"steps": 300, "width": 32, "n_slab": 8},
    "sparse_parity": {"n": 10, "k": 3, "steps": 1400, "width": 64, "n_train": 2000},
}
"""Task parameters of the survey preset (non-survey tasks fall back to their tiny preset)."""

SEEDS: dict[str, tuple[int, int]] = {
    "A": (16, 16), "C": (16, 16), "E": (16, 16), "G": (16, 16),  # one shared base ensemble of 16 seeds
    "B": (6, 6), "D": (4, 4), "F": (6, 6), "H": (4, 4),
}
"""Per concept: (seeds, seed_budget). A, C, E and G must agree: they read the same base ensemble."""

PROTOCOL_PARAMS: dict[str, dict[str, Any]] = {
    "A": {"n_boot": 300}, "B": {"n_boot": 300, "change": "data_order"}, "C": {"n_boot": 300}, "E": {"n_boot": 300},
    "F": {"n_boot": 300}, "G": {"n_boot": 300}, "H": {"n_boot": 300},
    "D": {"n_boot": 300, "n_alpha": 4, "lmc_points": 7},
}
"""Per concept: protocol-parameter overrides of the survey preset."""


def task_params(task: str, tiny: dict[str, Any]) -> dict[str, Any]:
    """The survey preset's task parameters for ``task`` (its tiny values where the survey sets none)."""
    return {**tiny, **TASK_PARAMS.get(task, {})}
