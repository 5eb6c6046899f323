"""Experiment specs: validation against bounds, hashing, the catalog, building and running them.

A spec is a JSON object ``{"concept", "task", "arch", "preset", "seeds", "seed_budget",
"seed_offset", "params"}`` containing only registry names and bounded numbers or enums — never
code, paths or URLs. :func:`validate_spec` fills every default from the protocol's preset, coerces
types and checks every bound, including an estimated compute budget; :func:`spec_sha256` hashes the
normalized spec; :func:`run_spec` runs it and returns the ``--json`` object of docs/experiments.md.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.concepts import STATISTIC_NAMES as CONCEPT_STATISTICS
from experiments.jsonsafe import jsonable
from experiments.mltasks import get_task
from experiments.params import ParamDef, SpecError
from experiments.protocols.base import (
    PROTOCOLS,
    Protocol,
    ProtocolConfig,
    Result,
    get_protocol,
    per_seed_records,
    register_protocol,
)

__all__ = [
    "MAX_FLOPS", "MAX_SEEDS", "PRESETS", "SpecError", "build", "catalog", "estimate_cost", "get_protocol",
    "register_protocol", "run_spec", "seed_chunks", "spec_sha256", "statistic_name", "statistic_names", "summarize_outputs",
    "validate_spec",
]

SPEC_KEYS = ("concept", "task", "arch", "preset", "seeds", "seed_budget", "seed_offset", "params")
PRESETS = ("tiny", "default", "survey")
MAX_SEEDS = 256
MAX_SEED_OFFSET = 1_000_000
MAX_FLOPS = 2e16
"""Cap on the estimated training FLOPs of ``seed_budget`` seeds (≈ 1–3 GPU-hours on one H100)."""
STATISTIC_NAMES = CONCEPT_STATISTICS
"""Concept letter → statistic name, owned by ``experiments.concepts``."""
# Effective throughput on the 2-core CPU (fitted to the measured default presets), FLOP/s, and
# a per-member-step overhead in seconds; used only for ``cpu_seconds_estimate``.
CPU_FLOPS = {"mlp": 15e9, "cnn": 8e9, "transformer": 40e9, "linear": 12e9}
CPU_STEP_OVERHEAD = {"mlp": 2e-5, "cnn": 5e-5, "transformer": 1e-4, "linear": 1e-5}


def statistic_name(concept: str) -> str:
    """Fixed statistic name of a concept (A → "dis_ood", …, H → "hit_rate_gap")."""
    if concept not in STATISTIC_NAMES:
        raise SpecError("concept", f"unknown concept {concept!r}; allowed: {', '.join(STATISTIC_NAMES)}")
    return STATISTIC_NAMES[concept]


def statistic_names(concept: str) -> tuple[str, ...]:
    """Every statistic a market on ``concept`` may resolve on: the headline one (:func:`statistic_name`)
    first, then the protocol's ``alternate_statistics`` (e.g. A → dis_ood, behaviour_sd, cka_distance)."""
    return (statistic_name(concept), *get_protocol(concept).alternate_statistics)


def _int_field(value: Any, field: str, low: int, high: int) -> int:
    return ParamDef(field, "int", low, low, high).coerce(value, field=field)


def _allowed_params(protocol: Protocol, task_name: str) -> dict[str, ParamDef]:
    return {**get_task(task_name).params, **protocol.params_for(task_name)}


def validate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Normalize and check a spec; raise :class:`SpecError` naming the first bad field.

    Returns
    -------
    dict with every key of ``SPEC_KEYS``; ``params`` holds every parameter of the task and protocol
    (preset values, then the spec's overrides), sorted by name. Validating a normalized spec returns
    it unchanged.
    """
    if not isinstance(spec, Mapping):
        raise SpecError("spec", "must be a JSON object")
    for key in spec:
        if key not in SPEC_KEYS:
            raise SpecError(str(key), f"unknown spec key {key!r}; allowed keys: {', '.join(SPEC_KEYS)}")
    concept = spec.get("concept")
    if not isinstance(concept, str):
        raise SpecError("concept", f"required; one of {', '.join(sorted(PROTOCOLS) or STATISTIC_NAMES)}")
    protocol = get_protocol(concept)
    task_name = spec.get("task")
    if not isinstance(task_name, str) or task_name not in protocol.tasks:
        raise SpecError("task", f"{task_name!r} is not a task of concept {concept}; "
                                f"allowed: {', '.join(protocol.tasks)}")
    task = get_task(task_name)
    arch = spec.get("arch") or task.archs[0]
    archs = protocol.archs.get(task_name, task.archs)
    if arch not in archs:
        raise SpecError("arch", f"{arch!r} is not an architecture of {concept}/{task_name}; "
                                f"allowed: {', '.join(archs)}")
    preset = spec.get("preset") or "default"
    if preset not in PRESETS:
        raise SpecError("preset", f"{preset!r} is not a preset; allowed: {', '.join(PRESETS)}")
    base = protocol.presets[task_name][preset]
    overrides = spec.get("params") or {}
    if not isinstance(overrides, Mapping):
        raise SpecError("params", "must be an object of parameter names to values")
    allowed = _allowed_params(protocol, task_name)
    params = dict(base["params"])
    for key, value in overrides.items():
        if key not in allowed:
            raise SpecError(f"params.{key}", f"unknown parameter {key!r} for {concept}/{task_name}; "
                                             f"allowed: {', '.join(sorted(allowed))}")
        params[key] = allowed[key].coerce(value)
    task.validate(params)
    protocol.validate(task_name, params)
    seeds = _int_field(spec.get("seeds", base["seeds"]), "seeds", protocol.min_seeds, MAX_SEEDS)
    budget_value = spec.get("seed_budget", max(base["seed_budget"], seeds))
    seed_budget = _int_field(budget_value, "seed_budget", seeds, MAX_SEEDS)
    seed_offset = _int_field(spec.get("seed_offset", 0), "seed_offset", 0, MAX_SEED_OFFSET)
    normalized = {"concept": concept, "task": task_name, "arch": arch, "preset": preset, "seeds": seeds,
                  "seed_budget": seed_budget, "seed_offset": seed_offset,
                  "params": dict(sorted(params.items()))}
    cost = estimate_cost(normalized)
    if cost["flops_budget"] > MAX_FLOPS:
        raise SpecError("cost", f"estimated {cost['flops_budget']:.3g} FLOPs for seed_budget={seed_budget} "
                                f"seeds exceeds the cap of {MAX_FLOPS:.3g}; reduce seeds, seed_budget, "
                                f"steps, width or batch_size")
    return normalized


def spec_sha256(spec: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of the normalized spec."""
    canonical = json.dumps(validate_spec(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@lru_cache(maxsize=256)
def _forward_flops(task_name: str, arch: str, params_json: str) -> tuple[float, int, int]:
    """(forward FLOPs per example, training-set size, evaluation-set size), counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    task = get_task(task_name)
    params = json.loads(params_json)
    data = task.make_data(params, arch)
    model = task.make_model(arch, params, data)()
    example = data.x_train[:1]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(example)
    return float(max(counter.get_total_flops(), 1)), int(data.x_train.shape[0]), int(data.x_id.shape[0])


def estimate_cost(spec: Mapping[str, Any]) -> dict[str, float]:
    """Estimated training cost of a (normalized) spec.

    FLOPs = runs per seed × seeds × [3 × forward FLOPs per example × batch × steps (forward +
    backward) + forward FLOPs × ID-set size × evaluations]. ``cpu_seconds_estimate`` divides by the
    measured effective CPU throughput of the architecture and adds a per-step overhead.

    Returns
    -------
    dict: flops (for ``seeds``), flops_budget (for ``seed_budget``), cpu_seconds_estimate (for ``seeds``).
    """
    protocol = get_protocol(spec["concept"])
    params = spec["params"]
    task = get_task(spec["task"])
    relevant = {k: v for k, v in params.items() if k in task.params}
    fwd, n_train, n_eval = _forward_flops(spec["task"], spec["arch"], json.dumps(relevant, sort_keys=True))
    batch = min(params["batch_size"], n_train)
    per_seed = protocol.cost_multiplier * (3 * fwd * batch * params["steps"]
                                           + fwd * n_eval * (task.eval_points + 1))
    seconds = per_seed * spec["seeds"] / CPU_FLOPS[spec["arch"]]
    seconds += protocol.cost_multiplier * spec["seeds"] * params["steps"] * CPU_STEP_OVERHEAD[spec["arch"]]
    return {"flops": per_seed * spec["seeds"], "flops_budget": per_seed * spec["seed_budget"],
            "cpu_seconds_estimate": seconds}


def build(spec: Mapping[str, Any]) -> tuple[Protocol, ProtocolConfig, list[int]]:
    """(protocol, frozen config, seeds) of a spec; seeds = seed_offset … seed_offset + seeds − 1."""
    spec = validate_spec(spec)
    protocol = get_protocol(spec["concept"])
    config = protocol.make_config(spec["task"], spec["arch"], spec["params"])
    return protocol, config, list(range(spec["seed_offset"], spec["seed_offset"] + spec["seeds"]))


def seed_chunks(spec: Mapping[str, Any], *, device: str = "cpu") -> list[list[int]]:
    """The spec's seeds split into chunks sized for one worker on ``device`` (see trainer table)."""
    import torch

    from experiments.trainer import default_chunk_size

    _, config, seeds = build(spec)
    task = get_task(config.task)
    params = config.task_params
    size = default_chunk_size(task.make_model(config.arch, params, task.make_data(params, config.arch))(),
                              torch.device(device))
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def summarize_outputs(spec: Mapping[str, Any], outputs: list[dict[str, Any]], *,
                      provenance: Mapping[str, Any], out_dir: str | Path | None = None,
                      bootstrap_seed: int = 0) -> dict[str, Any]:
    """The ``--json`` object from per-seed outputs (the pipeline's finalizer calls this directly).

    ``provenance`` supplies code_version, torch_version, device, wall_seconds and started_at; seeds
    are taken from the outputs. With ``out_dir``, writes result.json, per_seed.csv and the plots.
    """
    spec = validate_spec(spec)
    protocol, config, _ = build(spec)
    frame, result = protocol.summarize(config, outputs, bootstrap_seed=bootstrap_seed)
    payload = result_payload(spec, result, frame, {**provenance, "seeds": sorted(o["seed"] for o in outputs)})
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "per_seed.csv", index=False)
        protocol.plots(config, frame, result, outputs, out)
        text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False)
        (out / "result.json").write_text(text + "\n")
    return payload


def result_payload(spec: Mapping[str, Any], result: Result, frame: pd.DataFrame,
                   provenance: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("code_version", "torch_version", "device", "seeds", "wall_seconds", "started_at")
    return jsonable({
        "concept": spec["concept"], "task": spec["task"], "arch": spec["arch"], "spec": dict(spec),
        "spec_sha256": spec_sha256(spec), "statistic": result.statistic, "ci_low": result.ci_low,
        "ci_high": result.ci_high, "details": result.details,
        "per_seed": per_seed_records(frame.to_dict("records")),
        "provenance": {k: provenance.get(k) for k in keys},
    })


def run_spec(spec: Mapping[str, Any], *, device: str = "auto",
             progress: Callable[[float, str], None] | None = None,
             out_dir: str | Path | None = None) -> dict[str, Any]:
    """Validate, train every seed in this process, summarize; returns the ``--json`` object."""
    from experiments.provenance import provenance_base
    from experiments.trainer import resolve_device

    spec = validate_spec(spec)
    protocol, config, seeds = build(spec)
    resolved = resolve_device(device)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = time.perf_counter()
    outputs = protocol.train_seeds(config, seeds, device=str(resolved), progress=progress)
    provenance = {**provenance_base(resolved), "started_at": started_at,
                  "wall_seconds": round(time.perf_counter() - start, 3)}
    return summarize_outputs(spec, outputs, provenance=provenance, out_dir=out_dir)


def catalog() -> dict[str, Any]:
    """Per concept: statistic, orientation, tasks and, per task, archs, presets and parameter bounds."""
    out: dict[str, Any] = {}
    for concept in sorted(STATISTIC_NAMES):
        try:
            protocol = get_protocol(concept)
        except SpecError:
            continue
        tasks = {}
        for name in protocol.tasks:
            task = get_task(name)
            presets = protocol.presets[name]
            params = {k: {**d.describe(), "default": presets["default"]["params"][k]}
                      for k, d in sorted(_allowed_params(protocol, name).items())}
            default_spec = {"concept": concept, "task": name, "preset": "default"}
            tasks[name] = {
                "archs": list(protocol.archs.get(name, task.archs)), "behaviour": task.behaviour_name, "params": params,
                "presets": presets, "estimated_cost_default": estimate_cost(validate_spec(default_spec)),
                "measured_cpu_seconds_default": protocol.cpu_seconds.get(name),
            }
        out[concept] = {"statistic": protocol.statistic_name,
                        "alternate_statistics": dict(protocol.alternate_statistics), "title": protocol.title,
                        "orientation": protocol.orientation, "min_seeds": protocol.min_seeds,
                        "max_seeds": MAX_SEEDS, "presets": list(PRESETS), "tasks": tasks}
    return out

