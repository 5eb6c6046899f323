"""Survey designs: space-filling draws of trained settings within the registry's bounds.

A *setting* is one trained configuration — a task, an architecture and the task's parameters (width,
depth, lr, optimizer, weight decay, init scale, steps, batch and data size…). A survey *row* measures
all eight concepts on one setting (docs/architecture.md, "The survey"). :func:`plan` draws rows with
a scrambled Sobol sequence (Owen 1998; ``scipy.stats.qmc.Sobol``), one stream per task, so that every
task's rows cover its axes evenly; the same seed always gives the same design, and the design's
canonical JSON is hashed (SHA-256) so that a campaign, a dataset and a market can name it exactly.

Axes are continuous (optionally on a log scale), integer or categorical. Their default ranges
(:data:`SURVEY_AXES`) are sub-boxes of the registry's bounds sized so that one full row stays within
about a minute of one CPU thread at the ``survey`` preset; ``--axis name=low:high`` narrows or moves
them, and is refused when it leaves the registry's bounds.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from experiments.concepts import LETTERS
from experiments.mltasks import get_task
from experiments.params import SpecError

DESIGN_VERSION = 1
SURVEY_TASKS: tuple[str, ...] = ("digits", "lms", "sparse_parity")
"""Tasks on which every concept A–H runs (the MLP classification task, lms and sparse parity)."""
SURVEY_ARCH = "mlp"
MAX_ROWS = 2048


@dataclass(frozen=True)
class Axis:
    """One design axis of a task."""

    name: str
    """Task parameter the axis sets (a registry parameter name)."""
    kind: str
    """"float", "int" or "choice"."""
    low: float = 0.0
    """Lowest value (float and int axes)."""
    high: float = 0.0
    """Highest value (float and int axes)."""
    log: bool = False
    """Draw uniformly on a log scale."""
    choices: tuple[Any, ...] = ()
    """Values of a categorical axis, drawn with equal probability."""
    step: int = 1
    """Integer axes: values are multiples of ``step`` (widths: multiples of 4 attention heads)."""

    def value(self, u: float) -> Any:
        """The axis value at the unit-interval coordinate ``u``."""
        if self.kind == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        if self.kind == "int":
            lo, hi = math.ceil(self.low / self.step) * self.step, math.floor(self.high / self.step) * self.step
            return int(min(max(round(x / self.step) * self.step, lo), hi))
        return float(f"{x:.4g}")  # short, exactly reproducible values in the design file

    def describe(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"kind": "choice", "choices": list(self.choices)}
        return {"kind": self.kind, "low": self.low, "high": self.high, "log": self.log}


def _common(steps: tuple[int, int], width: tuple[int, int]) -> list[Axis]:
    return [
        Axis("steps", "int", *steps, log=True),
        Axis("width", "int", *width, log=True, step=4),
        Axis("lr", "float", 3e-4, 3e-3, log=True),
        Axis("optimizer", "choice", choices=("adam", "adamw")),
        Axis("batch_size", "choice", choices=(32, 64, 128)),
        Axis("weight_decay", "float", 0.0, 0.05),
        Axis("init_scale", "float", 0.5, 2.0, log=True),
    ]


SURVEY_AXES: dict[str, list[Axis]] = {
    "digits": [*_common((150, 500), (16, 64)), Axis("depth", "int", 1, 3), Axis("noise", "float", 0.1, 0.6)],
    "lms": [*_common((150, 500), (16, 64)), Axis("depth", "int", 1, 3), Axis("n_slab", "int", 4, 16),
            Axis("margin", "float", 0.05, 0.2)],
    # sparse parity learns in a sudden drop after a plateau that grows with n and k (Barak et al. 2022):
    # below ~800 steps most k = 3 settings never drop, which censors every concept that reads the drop
    "sparse_parity": [*_common((800, 2400), (32, 96)), Axis("n", "int", 8, 12), Axis("k", "int", 2, 3),
                      Axis("n_train", "int", 1000, 4000, log=True)],
}


def _registry_check(task: str, axis: Axis) -> None:
    """Raise SpecError when ``axis`` reaches outside the task's registry bounds."""
    params = get_task(task).params
    if axis.name not in params:
        raise SpecError(f"axis.{axis.name}", f"unknown axis {axis.name!r} for {task}; allowed: "
                                             f"{', '.join(sorted(params))}")
    spec = params[axis.name]
    if axis.kind == "choice":
        for c in axis.choices:
            spec.coerce(c, field=f"axis.{axis.name}")
        return
    if spec.kind == "enum":
        raise SpecError(f"axis.{axis.name}", f"{axis.name} is categorical; give choices a|b|c")
    if not (spec.low <= axis.low <= axis.high <= spec.high):
        raise SpecError(f"axis.{axis.name}", f"{axis.low:g}:{axis.high:g} leaves the registry range "
                                             f"{spec.low:g}–{spec.high:g} of {task}.{axis.name}")


def parse_axis(text: str) -> tuple[str, str | None, str]:
    """``[task.]name=low:high`` or ``[task.]name=a|b|c`` → (name, task or None, range text)."""
    if "=" not in text:
        raise SpecError("axis", f"{text!r}: expected name=low:high or name=a|b|c")
    key, value = text.split("=", 1)
    task, _, name = key.strip().rpartition(".")
    return name, task or None, value.strip()


def override_axis(task: str, base: Axis, value: str) -> Axis:
    """``base`` narrowed or moved to ``value`` (``low:high`` or ``a|b|c``), checked against the registry."""
    field = f"axis.{base.name}"
    if "|" in value or base.kind == "choice":
        spec = get_task(task).params[base.name]
        choices = tuple(spec.coerce(v.strip(), field=field) for v in value.split("|") if v.strip())
        if not choices:
            raise SpecError(field, "give at least one choice")
        axis = Axis(base.name, "choice", choices=choices)
    else:
        try:
            low, high = (float(v) for v in value.split(":"))
        except ValueError:
            raise SpecError(field, f"{value!r}: expected low:high") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SpecError(field, f"{value!r}: need finite low ≤ high")
        if base.log and low <= 0:
            raise SpecError(field, f"{base.name} is drawn on a log scale; low must be > 0")
        axis = Axis(base.name, base.kind, low, high, log=base.log, step=base.step)
        if axis.kind == "int" and math.floor(high / axis.step) * axis.step < low:
            raise SpecError(field, f"{value!r} holds no multiple of {axis.step}")
    _registry_check(task, axis)
    return axis


def canonical(design: Mapping[str, Any]) -> str:
    """Canonical JSON of the hashed part of a design (all but ``sha256``, ``created_at``, ``unsupported``)."""
    body = {k: v for k, v in design.items() if k not in ("sha256", "created_at", "unsupported")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def design_sha256(design: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(design).encode("ascii")).hexdigest()


def plan(*, rows: int, seed: int, tasks: Sequence[str] = SURVEY_TASKS, preset: str = "survey",
         axes: Sequence[str] = (), name: str | None = None) -> dict[str, Any]:
    """Draw a design of ``rows`` settings, split evenly over ``tasks`` (earlier tasks take the remainder).

    Parameters
    ----------
    rows : int
        Number of settings, 1 … ``MAX_ROWS``.
    seed : int
        Seed of the scrambled Sobol streams (one per task, derived from ``seed`` and the task's name).
    tasks : sequence of str
        Survey tasks; each must run every concept (``SURVEY_TASKS``).
    preset : str
        Registry preset the rows run at (its protocol parameters and seed counts).
    axes : sequence of str
        Overrides ``[task.]name=low:high`` or ``[task.]name=a|b|c``; without a task prefix an override
        applies to every task that has the axis.

    Returns
    -------
    dict — the design: ``version, name, seed, preset, arch, tasks, axes, rows`` (each row ``{row, task,
    arch, params}`` with only the drawn parameters; the preset fills the rest), ``sha256`` and
    ``created_at``. Raises :class:`SpecError` naming the bad input.
    """
    from scipy.stats import qmc

    from experiments.registry import PRESETS

    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_ROWS:
        raise SpecError("rows", f"must be an integer from 1 to {MAX_ROWS}; got {rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise SpecError("seed", f"must be an integer from 0 to 2**32 − 1; got {seed!r}")
    if preset not in PRESETS:
        raise SpecError("preset", f"{preset!r} is not a preset; allowed: {', '.join(PRESETS)}")
    tasks = list(dict.fromkeys(tasks))
    if not tasks:
        raise SpecError("tasks", "give at least one task")
    for task in tasks:
        if task not in SURVEY_AXES:
            raise SpecError("tasks", f"{task!r} is not a survey task (all eight concepts must run on it); "
                                     f"allowed: {', '.join(SURVEY_AXES)}")
    chosen = {task: {a.name: a for a in SURVEY_AXES[task]} for task in tasks}
    for text in axes:
        name_, task_only, value = parse_axis(text)
        targets = [task_only] if task_only else [t for t in tasks if name_ in chosen[t]]
        if task_only and task_only not in chosen:
            raise SpecError("axis", f"{text!r}: task {task_only!r} is not in this design")
        if not targets:
            known = sorted({a for t in tasks for a in chosen[t]})
            raise SpecError(f"axis.{name_}", f"unknown axis {name_!r}; axes of this design: {', '.join(known)}")
        for task in targets:
            if name_ not in chosen[task]:
                raise SpecError(f"axis.{name_}", f"{task} has no axis {name_!r}; its axes: "
                                                 f"{', '.join(chosen[task])}")
            chosen[task][name_] = override_axis(task, chosen[task][name_], value)
    out_rows: list[dict[str, Any]] = []
    per_task = [rows // len(tasks) + (1 if i < rows % len(tasks) else 0) for i in range(len(tasks))]
    for task, n in zip(tasks, per_task, strict=True):
        if n == 0:
            continue
        task_axes = list(chosen[task].values())
        task_seed = int.from_bytes(hashlib.sha256(f"{seed}:{task}".encode()).digest()[:4], "big")
        sampler = qmc.Sobol(d=len(task_axes), scramble=True, seed=np.random.default_rng(task_seed))
        # draw the next power of two (Sobol's balance property) and keep the first n points
        units = sampler.random(2 ** max(0, math.ceil(math.log2(n))))[:n]
        for u in units:
            params = {a.name: a.value(float(x)) for a, x in zip(task_axes, u, strict=True)}
            out_rows.append({"task": task, "arch": SURVEY_ARCH, "params": dict(sorted(params.items()))})
    # interleave tasks (round robin) so that a partial campaign already spans every task
    queues = {t: [r for r in out_rows if r["task"] == t] for t in tasks}
    interleaved = [queues[t][k] for k in range(max(per_task)) for t in tasks if k < len(queues[t])]
    final_rows = [{"row": j, **r} for j, r in enumerate(interleaved)]
    unsupported: dict[str, list[str]] = {}
    for row in final_rows:
        for letter in validate_setting(row["task"], row["arch"], row["params"], preset=preset):
            unsupported.setdefault(row["task"], [])
            if letter not in unsupported[row["task"]]:
                unsupported[row["task"]].append(letter)
    design = {
        "version": DESIGN_VERSION, "name": name or f"survey-{preset}-{rows}r-s{seed}", "seed": seed,
        "preset": preset, "arch": SURVEY_ARCH, "tasks": tasks, "concepts": list(LETTERS),
        "axes": {t: {a.name: a.describe() for a in chosen[t].values()} for t in tasks},
        "rows": final_rows,
    }
    design["sha256"] = design_sha256(design)
    design["unsupported"] = unsupported  # not hashed: concepts that cannot run on a task with today's code
    design["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return design


def validate_setting(task: str, arch: str, params: Mapping[str, Any], *, preset: str) -> list[str]:
    """Check every concept's spec on this setting (bounds, protocol checks, cost cap); raise SpecError.

    Returns the concepts whose protocol does not run on ``task`` (their cells would fail as "not
    runnable"; a design stays valid, since it holds only task parameters).
    """
    from experiments.protocols.base import get_protocol
    from experiments.survey.row import concept_spec

    missing = []
    for letter in LETTERS:
        if task not in get_protocol(letter).tasks:
            missing.append(letter)
            continue
        concept_spec(letter, task, arch, params, preset=preset)
    return missing


def write_design(design: Mapping[str, Any], path: str | Path) -> Path:
    """Write a design file (pretty JSON); refuses a design whose hash does not match its content."""
    if design.get("sha256") != design_sha256(design):
        raise SpecError("design", "sha256 does not match the design's content")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(design, indent=1, sort_keys=True) + "\n")
    return path


def read_design(path: str | Path) -> dict[str, Any]:
    """Read and verify a design file (version and SHA-256)."""
    try:
        design = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SpecError("design", f"cannot read design file {path}: {exc}") from None
    if not isinstance(design, dict) or design.get("version") != DESIGN_VERSION:
        raise SpecError("design", f"{path}: not a version-{DESIGN_VERSION} survey design")
    if design.get("sha256") != design_sha256(design):
        raise SpecError("design", f"{path}: sha256 does not match the content (the file was edited)")
    return design
