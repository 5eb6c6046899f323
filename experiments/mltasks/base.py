"""What every task provides: data, models, a training recipe and a per-model behaviour scalar."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from experiments.params import ParamDef, SpecError
from experiments.trainer import Member, TrainResult, TrainSpec

TASKS: dict[str, Task] = {}


@dataclass
class TaskData:
    """Tensors of one task instance (CPU; the trainer moves them)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_id: torch.Tensor
    """In-distribution test inputs."""
    y_id: torch.Tensor
    x_ood: torch.Tensor
    """Out-of-distribution probe inputs (the task's documented shift)."""
    y_ood: torch.Tensor | None
    loss: str
    """"ce" or "mse"."""
    n_out: int
    probe: torch.Tensor
    """Inputs whose last-hidden-layer representations are compared with CKA."""
    extra: dict[str, Any] = field(default_factory=dict)


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register one instance of the task under ``cls.name``."""
    TASKS[cls.name] = cls()
    return cls


def get_task(name: str) -> Task:
    """The registered task ``name``; unknown names raise :class:`SpecError` listing the known ones."""
    if name not in TASKS:
        raise SpecError("task", f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def predictions(out: torch.Tensor, loss: str) -> torch.Tensor:
    """Predicted class per example ``[S, N]``: argmax, or ``out > 0`` for a single regression output."""
    if out.shape[-1] == 1:
        return (out[..., 0] > 0).to(torch.int64)
    return out.argmax(-1)


class Task:
    """Base class; subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    archs: ClassVar[tuple[str, ...]]
    behaviour_name: ClassVar[str]
    """What ``behaviour`` measures (shown in reports)."""
    params: ClassVar[dict[str, ParamDef]]
    presets: ClassVar[dict[str, dict[str, Any]]]
    """{"tiny": {param: value}, "default": {...}}: values that differ from the ParamDef defaults."""
    control: ClassVar[dict[str, Any]]
    """Parameter overrides of protocol C's control regime (a regime not expected to be bimodal)."""
    eval_points: ClassVar[int] = 20

    def validate(self, params: Mapping[str, Any]) -> None:
        """Cross-parameter checks; raise SpecError naming the parameter."""

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        raise NotImplementedError

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        raise NotImplementedError

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        """Per-member behaviour scalar (key "behaviour") and extras, each an array of shape [S]."""
        raise NotImplementedError

    def train_spec(self, params: Mapping[str, Any]) -> TrainSpec:
        return TrainSpec(steps=params["steps"], lr=params["lr"], batch_size=params["batch_size"],
                         optimizer=params["optimizer"], weight_decay=params["weight_decay"],
                         loss=self.loss, eval_points=self.eval_points)

    loss: ClassVar[str] = "ce"

    def members(self, seeds: list[int], params: Mapping[str, Any]) -> list[Member]:
        return [Member(seed=s, init_scale=params["init_scale"]) for s in seeds]

    def defaults(self, preset: str) -> dict[str, Any]:
        values = {name: d.default for name, d in self.params.items()}
        values.update(self.presets[preset])
        return values
