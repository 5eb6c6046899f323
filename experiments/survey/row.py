"""One survey row: all eight concepts measured on one setting, the base ensemble trained once.

A, C, E and G read the same *base ensemble* — the task's own members for the row's seeds, trained
once with the union of the checkpoints those protocols need (``Protocol.base_checkpoints``) — and
derive their statistics from it (``Protocol.outputs_from_base``). B, D, F and H train their own runs
on the same setting. A row is split into *units* that a worker runs independently and idempotently:
``base`` (A, C, E, G) and one unit each for B, D, F and H.

Every cell is reproducible: its spec is the registry's normalized spec at the survey preset (hashed
as any market's spec), seeds run ``seed_offset … seed_offset + seeds − 1``, and the same spec and
seeds give the same numbers on the same device. The base unit also records the row's training-
progress covariates (final train loss, test accuracy, steps to reach 95% of the final accuracy), so
that the factor analysis can partial convergence out (evaluator/factor_robust.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from experiments.concepts import LETTERS

Progress = Callable[[float, str], None]
UNITS: dict[str, tuple[str, ...]] = {"base": ("A", "C", "E", "G"), "B": ("B",), "D": ("D",), "F": ("F",),
                                     "H": ("H",)}
"""Work units of a row → the concepts each one settles."""
UNIT_OF: dict[str, str] = {c: unit for unit, concepts in UNITS.items() for c in concepts}
assert sorted(UNIT_OF) == sorted(LETTERS), "every concept belongs to exactly one survey unit"
COVARIATES = ("final_train_loss", "test_accuracy", "steps_to_target")


def setting_key(spec: Mapping[str, Any]) -> str:
    """Row key of a setting: ``task/arch/k=v,…`` over the task's own parameters of a normalized spec.

    Protocol parameters (bootstrap size, confidence, B's change…) are left out, so every concept
    measured on the same trained setting — in a survey row or by a resolved market — lands in the same
    row of the factor matrix. Keys longer than 200 characters end in a hash of the setting instead.
    """
    import hashlib

    from experiments.mltasks import get_task

    task_params = get_task(spec["task"]).params
    setting = ",".join(f"{k}={v}" for k, v in sorted(spec.get("params", {}).items()) if k in task_params)
    key = f"{spec['task']}/{spec['arch']}/{setting}"
    if len(key) > 200:
        key = f"{spec['task']}/{spec['arch']}/{hashlib.sha256(setting.encode()).hexdigest()[:16]}"
    return key


def concept_spec(letter: str, task: str, arch: str, params: Mapping[str, Any], *, preset: str = "survey",
                 seed_offset: int = 0) -> dict[str, Any]:
    """The normalized registry spec of concept ``letter`` on a setting (raises SpecError when invalid)."""
    from experiments.registry import validate_spec

    spec = {"concept": letter, "task": task, "arch": arch, "preset": preset, "seed_offset": seed_offset,
            "params": dict(params)}
    if letter in UNITS["base"]:
        spec["seeds"] = spec["seed_budget"] = base_seed_count(task, preset)
    return validate_spec(spec)


def base_seed_count(task: str, preset: str) -> int:
    """Seeds of the shared base ensemble: the most any of A, C, E, G asks for at ``preset`` (the survey
    preset gives all four the same count; smaller presets such as ``tiny`` differ)."""
    from experiments.protocols.base import get_protocol

    counts = [get_protocol(c).presets[task][preset]["seeds"] for c in UNITS["base"] if task in get_protocol(c).tasks]
    return max(counts)


def _cell(spec: Mapping[str, Any], result: Any, seeds: list[int], seconds: float) -> dict[str, Any]:
    from experiments.jsonsafe import jsonable
    from experiments.registry import spec_sha256

    return jsonable({"statistic": result.statistic, "ci_low": result.ci_low, "ci_high": result.ci_high,
                     "statistic_name": result.statistic_name, "details": result.details, "spec": dict(spec),
                     "spec_sha256": spec_sha256(spec), "seeds": seeds, "wall_seconds": round(seconds, 3)})


def covariates(run: Any) -> dict[str, float]:
    """Training-progress covariates of a base ensemble (means over its seeds).

    ``final_train_loss``: last running train loss; ``test_accuracy``: final held-out accuracy;
    ``steps_to_target``: fraction of training until the held-out accuracy first reaches 95% of its
    final value (1 = only at the end).
    """
    curves = run.result.curves
    acc = np.asarray(curves["eval_acc"], dtype=float).reshape(len(run.result.members), -1)
    steps = np.asarray(curves["step"], dtype=float)
    final = acc[:, -1:]
    reached = acc >= 0.95 * final
    first = np.where(reached.any(axis=1), steps[reached.argmax(axis=1)], steps[-1])
    loss = np.asarray(curves["train_loss"], dtype=float).reshape(len(run.result.members), -1)[:, -1]
    return {"final_train_loss": float(loss.mean()), "test_accuracy": float(acc[:, -1].mean()),
            "steps_to_target": float(first.mean() / max(steps[-1], 1.0))}


def run_base(task: str, arch: str, params: Mapping[str, Any], *, preset: str = "survey", seed_offset: int = 0,
             device: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """Train the base ensemble once and settle A, C, E and G on it.

    Returns ``{"cells": {letter: cell}, "covariates": {...}}``; a cell holds statistic, CI, details,
    spec, spec_sha256, seeds and wall_seconds (the shared training counted in A's).
    """
    from experiments.evaluation import train_task
    from experiments.registry import build

    letters = UNITS["base"]
    built = {c: build(concept_spec(c, task, arch, params, preset=preset, seed_offset=seed_offset)) for c in letters}
    specs = {c: concept_spec(c, task, arch, params, preset=preset, seed_offset=seed_offset) for c in letters}
    seeds = built["A"][2]
    task_params = built["A"][1].task_params
    for c in letters:
        if built[c][2] != seeds or built[c][1].task_params != task_params:
            raise ValueError(f"concept {c} does not share A's seeds and task parameters at preset {preset!r}; "
                             "the base ensemble cannot serve it (see experiments/survey/preset.py SEEDS)")
    fractions = sorted({0.0, 1.0, *(f for c in letters for f in (built[c][0].base_checkpoints or ()))})
    start = time.perf_counter()
    report = progress or (lambda f, m: None)
    run = train_task(task, arch, task_params, seeds, device=device, keep_checkpoints=True,
                     checkpoint_fractions=tuple(fractions),
                     progress=lambda f, m: report(0.6 * f, f"base ensemble: {m}"))
    trained = time.perf_counter() - start
    cells = {}
    for j, c in enumerate(letters):
        protocol, config, _ = built[c]
        t0 = time.perf_counter()
        outputs = protocol.outputs_from_base(config, run, device=device)
        _, result = protocol.summarize(config, outputs)
        cells[c] = _cell(specs[c], result, seeds, time.perf_counter() - t0 + (trained if c == "A" else 0.0))
        report(0.6 + 0.4 * (j + 1) / len(letters), f"{c} settled")
    return {"cells": cells, "covariates": covariates(run)}


def run_unit(unit: str, task: str, arch: str, params: Mapping[str, Any], *, preset: str = "survey",
             seed_offset: int = 0, device: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """Run one unit of a row (``base``, ``B``, ``D``, ``F`` or ``H``); see :func:`run_base` for the shape."""
    from experiments.registry import build

    if unit not in UNITS:
        raise ValueError(f"unknown survey unit {unit!r}; units: {', '.join(UNITS)}")
    if unit == "base":
        return run_base(task, arch, params, preset=preset, seed_offset=seed_offset, device=device,
                        progress=progress)
    (letter,) = UNITS[unit]
    spec = concept_spec(letter, task, arch, params, preset=preset, seed_offset=seed_offset)
    protocol, config, seeds = build(spec)
    start = time.perf_counter()
    _, result = protocol.run(config, seeds=seeds, device=device, progress=progress)
    return {"cells": {letter: _cell(spec, result, seeds, time.perf_counter() - start)}, "covariates": None}


def run_row(task: str, arch: str, params: Mapping[str, Any], *, preset: str = "survey", seed_offset: int = 0,
            device: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """All units of one row in this process: ``{"cells": {A…H: cell}, "covariates", "unit_seconds"}``."""
    cells: dict[str, Any] = {}
    cov: dict[str, float] | None = None
    seconds: dict[str, float] = {}
    report = progress or (lambda f, m: None)
    for i, unit in enumerate(UNITS):
        start = time.perf_counter()
        out = run_unit(unit, task, arch, params, preset=preset, seed_offset=seed_offset, device=device,
                       progress=lambda f, m, i=i: report((i + f) / len(UNITS), m))
        seconds[unit] = round(time.perf_counter() - start, 3)
        cells.update(out["cells"])
        cov = out["covariates"] or cov
    return {"cells": {c: cells[c] for c in LETTERS}, "covariates": cov, "unit_seconds": seconds}
