"""The protocol interface: one module per concept (A–H), registered by its letter.

A protocol turns a frozen config and a list of seeds into per-seed outputs (``train_seeds``, which
the Celery pipeline calls once per chunk of seeds), and a list of per-seed outputs into a tidy frame
and a :class:`Result` (``summarize``, called once by the finalizer). A seed's output never depends on
which other seeds were trained with it, so chunks can run anywhere and be joined in any order.

To add a concept: subclass :class:`Protocol` in ``experiments/protocols/<name>.py``, decorate it
with ``@register_protocol``, and expose a module-level ``run``; the package imports every module.
"""
from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from experiments.params import ParamDef, SpecError

Progress = Callable[[float, str], None]
PROTOCOLS: dict[str, Protocol] = {}


@dataclass(frozen=True)
class Result:
    """The settled number of a run: statistic with its bootstrap CI, and named details."""

    statistic: float
    """Value of the concept's statistic (higher = more path-dependent)."""
    ci_low: float
    """Lower end of the percentile-bootstrap CI over seeds."""
    ci_high: float
    """Upper end of the CI."""
    details: dict[str, Any]
    """JSON-serializable extras; keys per docs/protocols.md."""
    statistic_name: str = ""
    """Stable name of the statistic (``registry.statistic_name``)."""
    alternates: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Alternate resolving statistics (``Protocol.alternate_statistics``): name → (value, CI low, CI high),
    each CI a percentile bootstrap over the same seeds at the same confidence as the headline's."""

    def resolving(self, name: str | None) -> tuple[float, float, float]:
        """(value, ci_low, ci_high) of the statistic ``name`` resolves on: an alternate by its name, the
        headline statistic for its own name or for an empty name. ``KeyError`` for any other name."""
        if name in self.alternates:
            return self.alternates[name]
        if not name or name == self.statistic_name:
            return self.statistic, self.ci_low, self.ci_high
        raise KeyError(f"this result has no statistic {name!r}; it has "
                       f"{', '.join([self.statistic_name, *self.alternates])}")


@dataclass(frozen=True)
class ProtocolConfig:
    """Fields every protocol config has; subclasses add their own (one docstring line each)."""

    task: str
    """Registry name of the task (``experiments.mltasks``)."""
    arch: str
    """Architecture, one of the task's ``archs``."""
    params: tuple[tuple[str, Any], ...] = ()
    """Task and training parameters as sorted (name, value) pairs, validated by the registry."""
    n_boot: int = 1000
    """Bootstrap resamples over seeds."""
    confidence: float = 0.95
    """Coverage of the bootstrap CI."""

    @property
    def task_params(self) -> dict[str, Any]:
        return dict(self.params)


COMMON_PROTOCOL_PARAMS = {
    "n_boot": ParamDef("n_boot", "int", 1000, 100, 10_000, doc="bootstrap resamples over seeds"),
    "confidence": ParamDef("confidence", "float", 0.95, 0.5, 0.999, doc="coverage of the bootstrap CI"),
}


class Protocol:
    """Base class of a concept's protocol. Subclasses set the class attributes and the three methods."""

    concept: ClassVar[str]
    statistic_name: ClassVar[str]
    """Set by :func:`register_protocol` from ``experiments.concepts``."""
    title: ClassVar[str]
    orientation: ClassVar[str]
    """One sentence: why a higher statistic means more path dependence (from ``experiments.concepts``)."""
    alternate_statistics: ClassVar[dict[str, str]] = {}
    """Statistics a market may resolve on instead of the headline one: name → one sentence saying what it
    measures and why higher means more path dependence. ``summarize`` reports each in ``Result.alternates``
    (value and bootstrap CI over seeds) and in ``details["alternates"]``; docs/protocols.md lists them."""
    tasks: ClassVar[tuple[str, ...]]
    archs: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Per task, the architectures the protocol supports where fewer than the task's own."""
    Config: ClassVar[type[ProtocolConfig]] = ProtocolConfig
    protocol_params: ClassVar[dict[str, ParamDef]] = COMMON_PROTOCOL_PARAMS
    renamed: ClassVar[dict[str, str]] = {}
    """Protocol parameter → its spelling on tasks that have a parameter of the same name (e.g. D's snap
    ``margin`` is ``snap_margin`` on lms, whose ``margin`` is the class gap); elsewhere the name is kept."""
    min_seeds: ClassVar[int] = 2
    seeds: ClassVar[dict[str, tuple[int, int]]] = {"tiny": (6, 12), "default": (32, 64)}
    """Per preset: (seeds, seed_budget)."""
    preset_params: ClassVar[dict[str, dict[str, Any]]] = {"tiny": {"n_boot": 200}}
    """Per preset: protocol-parameter overrides applied on every task (tiny presets bootstrap less)."""
    task_presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {}
    """Per task, per preset: parameter overrides on top of the task's own presets."""
    cost_multiplier: ClassVar[float] = 1.0
    """Training runs per seed (e.g. 2 when a control regime is trained too)."""
    cpu_seconds: ClassVar[dict[str, float]] = {}
    """Measured wall time of the default preset per task on the 2-core CPU (documentation)."""

    @property
    def presets(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{task: {"tiny"|"default": {"seeds", "seed_budget", "params"}}} with every parameter filled."""
        from experiments.mltasks import get_task
        from experiments.survey import preset as survey

        out: dict[str, dict[str, dict[str, Any]]] = {}
        for name in self.tasks:
            task = get_task(name)
            out[name] = {}
            for preset, (seeds, budget) in self.seeds.items():
                params = task.defaults(preset)
                params.update({k: d.default for k, d in self.params_for(name).items()})
                params.update(self.preset_params.get(preset, {}))
                params.update(self.task_presets.get(name, {}).get(preset, {}))
                out[name][preset] = {"seeds": seeds, "seed_budget": budget, "params": dict(sorted(params.items()))}
            # the survey preset: the protocol's tiny protocol parameters, the survey's task sizes and seeds
            params = {**out[name]["tiny"]["params"], **survey.task_params(name, task.defaults("tiny")),
                      **survey.PROTOCOL_PARAMS.get(self.concept, {})}
            seeds, budget = survey.SEEDS.get(self.concept, self.seeds["tiny"])
            out[name][survey.SURVEY] = {"seeds": seeds, "seed_budget": budget, "params": dict(sorted(params.items()))}
        return out

    @property
    def statistic_names(self) -> tuple[str, ...]:
        """Every statistic a market on this concept may resolve on: the headline one, then the alternates."""
        return (self.statistic_name, *self.alternate_statistics)

    def spelling(self, task: str) -> dict[str, str]:
        """{name on ``task``: config field} of every protocol parameter (see ``renamed``)."""
        from experiments.mltasks import get_task

        taken = get_task(task).params
        spelled = {}
        for name in self.protocol_params:
            if name in taken:
                if name not in self.renamed:
                    raise ValueError(f"protocol {self.concept} parameter {name!r} collides with a {task} parameter")
                spelled[self.renamed[name]] = name
            else:
                spelled[name] = name
        return spelled

    def params_for(self, task: str) -> dict[str, ParamDef]:
        """The protocol's parameter definitions as a spec on ``task`` names them."""
        return {name: replace(self.protocol_params[field], name=name) for name, field in self.spelling(task).items()}

    def make_config(self, task: str, arch: str, params: Mapping[str, Any]) -> ProtocolConfig:
        """Split validated parameters into the config's own fields and the task parameters."""
        spelled = self.spelling(task)
        own = {field: params[name] for name, field in spelled.items() if name in params}
        rest = tuple(sorted((k, v) for k, v in params.items() if k not in spelled))
        return self.Config(task=task, arch=arch, params=rest, **own)

    def validate(self, task: str, params: Mapping[str, Any]) -> None:
        """Protocol-specific checks (raise SpecError)."""
        if task not in self.tasks:
            raise SpecError("task", f"concept {self.concept} does not run on {task!r}; allowed: {', '.join(self.tasks)}")

    base_checkpoints: ClassVar[tuple[float, ...] | None] = None
    """Checkpoint fractions the shared base ensemble must keep for :meth:`outputs_from_base`."""

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    @property
    def reads_base(self) -> bool:
        """True when the protocol can read its outputs off the task's plain seed ensemble (A, C, E, G):
        the survey then trains that ensemble once per setting and hands it to each of them."""
        return type(self).outputs_from_base is not Protocol.outputs_from_base

    def outputs_from_base(self, config: ProtocolConfig, run: Any, *, device: str = "auto",
                          progress: Progress | None = None) -> list[dict[str, Any]]:
        """Per-seed outputs from an already trained base ensemble (``experiments.evaluation.TaskRun``
        of the task's own members for these seeds and task parameters). Only base-reading protocols
        implement it; :meth:`train_seeds` of those is ``train_task`` followed by this."""
        raise NotImplementedError(f"concept {self.concept} trains its own runs")

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        raise NotImplementedError

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        raise NotImplementedError

    def run(self, config: ProtocolConfig, *, seeds: Sequence[int], device: str = "auto",
            progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
        """``summarize(train_seeds(...))`` in one process."""
        return self.summarize(config, self.train_seeds(config, list(seeds), device=device, progress=progress))


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: register one instance of ``cls`` under ``cls.concept``.

    The statistic's name and orientation come from ``experiments.concepts`` (their one owner)."""
    from experiments.concepts import CONCEPTS

    if cls.concept not in CONCEPTS:
        raise ValueError(f"protocol for unknown concept {cls.concept!r}; add it to experiments/concepts.py first")
    cls.statistic_name = CONCEPTS[cls.concept].statistic
    cls.orientation = CONCEPTS[cls.concept].orientation
    if cls.statistic_name in cls.alternate_statistics:
        raise ValueError(f"protocol {cls.concept}: {cls.statistic_name!r} is its headline statistic, not an alternate")
    PROTOCOLS[cls.concept] = cls()
    return cls


def get_protocol(concept: str) -> Protocol:
    """The protocol of ``concept``; unknown names raise SpecError listing the registered ones."""
    import experiments.protocols  # noqa: F401  (imports every protocol module)

    if concept not in PROTOCOLS:
        raise SpecError("concept", f"unknown concept {concept!r}; available: {', '.join(sorted(PROTOCOLS))}")
    return PROTOCOLS[concept]


def per_seed_records(outputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The scalar (non-array) fields of each output, sorted by seed; NaN becomes None."""
    rows = []
    for out in sorted(outputs, key=lambda o: o["seed"]):
        row = {}
        for key, value in out.items():
            if isinstance(value, np.ndarray) or isinstance(value, list | dict):
                continue
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            row[key] = value
        rows.append(row)
    return rows


def frame_from_outputs(outputs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Tidy per-seed frame: one row per seed, scalar columns only."""
    return pd.DataFrame(per_seed_records(outputs))


# --- persistence: npz with a JSON tree; arrays are stored natively, never pickled -------------------

def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("object arrays cannot be saved")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, Mapping):
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def save_outputs(path: str | Path, outputs: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Path:
    """Write per-seed outputs (a list of dicts, or one dict) to a ``.npz`` file without pickle."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(list(outputs) if not isinstance(outputs, Mapping) else outputs, arrays)
    header = json.dumps({"version": 1, "tree": tree}, sort_keys=True, allow_nan=False).encode()
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __json__=np.frombuffer(header, dtype=np.uint8), **arrays)
    path.write_bytes(buffer.getvalue())
    return path


def load_outputs(path: str | Path) -> Any:
    """Read what :func:`save_outputs` wrote (``allow_pickle=False``)."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__json__"}
        header = json.loads(bytes(data["__json__"]).decode())
    return _decode(header["tree"], arrays)
