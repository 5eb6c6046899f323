"""Where settings lie: a task's numeric parameters as unit coordinates, for "nearby" (docs/evidence.md).

Each numeric parameter the survey varies for the task is one axis. 0 and 1 are the ends of the
survey's range of it (experiments/survey/design.py ``SURVEY_AXES``), so a distance of 0.25 means a
quarter of the surveyed range; a parameter the survey does not vary (or a task it does not cover)
uses the registry's bounds instead. Log-ish parameters (lr, width, steps, batch and data sizes, init
scale) are measured on a log scale, the others linearly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

LOG_PARAMS = frozenset({"lr", "width", "steps", "n_train", "init_scale", "batch_size"})
IGNORED_PROTOCOL_PARAMS = frozenset({"n_boot", "confidence"})
"""Protocol parameters that change how precisely a statistic is measured, not what it measures."""


@dataclass(frozen=True)
class Axis:
    """One coordinate of the setting space."""

    name: str
    low: float
    high: float
    log: bool
    source: str
    """"survey" (the survey's range of the parameter) or "registry" (the registry's bounds)."""

    def unit(self, value: Any) -> float:
        """``value`` mapped so that ``low`` → 0 and ``high`` → 1 (NaN when it is not a usable number)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return math.nan
        if self.log:
            if value <= 0:
                return math.nan
            a, b, x = math.log(self.low), math.log(self.high), math.log(value)
        else:
            a, b, x = self.low, self.high, float(value)
        return (x - a) / (b - a) if b > a else 0.0

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def task_axes(task: str) -> list[Axis]:
    """The axes of ``task``: the numeric parameters its survey rows vary, else all numeric registry ones."""
    from experiments.mltasks import get_task
    from experiments.survey.design import SURVEY_AXES

    params = get_task(task).params
    axes: list[Axis] = []
    surveyed = {a.name: a for a in SURVEY_AXES.get(task, [])}
    for name, spec in sorted(params.items()):
        if spec.kind == "enum":
            continue
        if surveyed:
            axis = surveyed.get(name)
            if axis is None:
                continue
            if axis.kind == "choice":
                numbers = [
                    float(c) for c in axis.choices if isinstance(c, int | float) and not isinstance(c, bool)
                ]
                if len(numbers) < 2:
                    continue
                low, high = min(numbers), max(numbers)
            else:
                low, high = float(axis.low), float(axis.high)
            log = name in LOG_PARAMS and low > 0
            axes.append(Axis(name, low, high, log, "survey"))
        elif spec.low is not None and spec.high is not None:
            low, high = float(spec.low), float(spec.high)
            axes.append(Axis(name, low, high, name in LOG_PARAMS and low > 0, "registry"))
    return axes


def coordinates(axes: Sequence[Axis], params: Mapping[str, Any]) -> np.ndarray:
    """``params`` as a vector of unit coordinates (NaN where a parameter is missing)."""
    return np.array([axis.unit(params.get(axis.name)) for axis in axes], dtype=float)


def outside(axes: Sequence[Axis], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The surveyed axes on which ``params`` lies outside the survey's range, with both."""
    out = []
    for axis in axes:
        value = params.get(axis.name)
        u = axis.unit(value)
        if axis.source == "survey" and math.isfinite(u) and not (-1e-9 <= u <= 1 + 1e-9):
            out.append({"name": axis.name, "value": value, "low": axis.low, "high": axis.high})
    return out


def protocol_variants(task: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The categorical protocol parameters of a normalized spec's params (B's change, F's intervention…)."""
    from experiments.mltasks import get_task

    task_params = get_task(task).params
    return {
        k: v
        for k, v in params.items()
        if k not in task_params and k not in IGNORED_PROTOCOL_PARAMS and isinstance(v, str)
    }
