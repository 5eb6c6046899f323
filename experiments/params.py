"""Bounded, typed experiment parameters and the error raised for a bad spec."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class SpecError(ValueError):
    """An experiment spec is invalid; ``field`` names the offending key (e.g. ``"params.steps"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ParamDef:
    """One parameter a spec may set with ``--set NAME=VALUE``."""

    name: str
    """Stable parameter name (part of the command-line contract)."""
    kind: str
    """"int", "float" or "enum"."""
    default: Any
    """Value used when neither the preset nor the spec sets it."""
    low: float | None = None
    """Inclusive lower bound (numbers)."""
    high: float | None = None
    """Inclusive upper bound (numbers)."""
    choices: tuple[str, ...] = ()
    """Allowed values (enums)."""
    doc: str = ""
    """One-line description shown in the catalog and the proposal form."""

    def allowed(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return f"a{'n integer' if self.kind == 'int' else ' number'} in [{self.low:g}, {self.high:g}]"

    def coerce(self, value: Any, *, field: str | None = None) -> Any:
        """Return ``value`` converted to this parameter's type, or raise :class:`SpecError`."""
        field = field or f"params.{self.name}"
        bad = SpecError(field, f"{value!r} is not valid for {self.name}; expected {self.allowed()}")
        if isinstance(value, bool):
            raise bad
        if self.kind == "enum":
            if not isinstance(value, str) or value not in self.choices:
                raise bad
            return value
        try:
            number = float(value) if isinstance(value, str) else value
            if not isinstance(number, int | float) or not math.isfinite(number):
                raise bad
            if self.kind == "int":
                if float(number) != int(number):
                    raise bad
                number = int(number)
            else:
                number = float(number)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
        if not (self.low <= number <= self.high):
            raise bad
        return number

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"type": self.kind, "default": self.default, "doc": self.doc}
        if self.kind == "enum":
            info["choices"] = list(self.choices)
        else:
            info["min"], info["max"] = self.low, self.high
        return info


def training_params(*, steps: int, lr: float, width: int, optimizer: str = "adam", batch_size: int = 64,
                    weight_decay: float = 0.0, init_scale: float = 1.0,
                    max_width: int = 2048) -> dict[str, ParamDef]:
    """The parameters every task accepts, with the task's defaults."""
    defs = [
        ParamDef("steps", "int", steps, 1, 100_000, doc="optimizer steps"),
        ParamDef("lr", "float", lr, 1e-5, 10.0, doc="base learning rate"),
        ParamDef("width", "int", width, 2, max_width, doc="hidden width (d_model for transformers)"),
        ParamDef("optimizer", "enum", optimizer, choices=("adam", "adamw", "sgd"), doc="optimizer"),
        ParamDef("batch_size", "int", batch_size, 1, 65_536,
                 doc="examples per step (≥ train size: full batch)"),
        ParamDef("weight_decay", "float", weight_decay, 0.0, 10.0, doc="weight decay"),
        ParamDef("init_scale", "float", init_scale, 0.001, 10.0, doc="multiplier on the init std"),
    ]
    return {d.name: d for d in defs}
