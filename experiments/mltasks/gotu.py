"""``gotu``: generalization on the unseen, Abbe, Bengio, Lotfi & Rizk (2023), "Generalization on
the Unseen, Logic Reasoning and Degree Curriculum" (ICML).

Target ``f(x) = x0·x1·x2`` on the Boolean cube {±1}^n, trained on the seen half ``x0 = +1``
(where f = x1·x2) and tested on the unseen half ``x0 = −1``. Abbe et al. prove and observe that
networks learn the *min-degree interpolator* x1·x2, whose coefficient on x1·x2 in the unseen half is
``c = E_unseen[f̂(x)·x1·x2] = +1``; the true function gives −1.

Behaviour scalar: ``c``. The OOD probe is the unseen half (predicted class = sign of the output);
the ID set is the seen half. ``train_on="all"`` trains on the whole cube (protocol C's control).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import MLP, Transformer
from experiments.params import ParamDef, training_params
from experiments.trainer import TrainResult, ensemble_apply

PROBE = 256


def cube(n: int) -> np.ndarray:
    """All 2^n points of {±1}^n, ``[2^n, n]``."""
    return np.array(list(itertools.product([1.0, -1.0], repeat=n)), dtype=np.float32)


def as_input(x: np.ndarray, arch: str) -> torch.Tensor:
    """±1 floats for the MLP; tokens {0, 1} (1 for −1) for the transformer."""
    return torch.from_numpy((x < 0).astype(np.int64)) if arch == "transformer" else torch.from_numpy(x)


@register_task
class Gotu(Task):
    name = "gotu"
    archs = ("mlp", "transformer")
    behaviour_name = "coefficient c on the unseen half"
    loss = "mse"
    params = {
        **training_params(steps=2000, lr=1e-3, width=128, batch_size=64, max_width=1024),
        "n": ParamDef("n", "int", 10, 4, 14, doc="number of Boolean variables"),
        "train_on": ParamDef("train_on", "enum", "half", choices=("half", "all"), doc="seen half, or all"),
    }
    presets = {"tiny": {"n": 6, "steps": 200, "width": 32}, "default": {}}
    control = {"train_on": "all"}

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        x = cube(params["n"])
        y = (x[:, 0] * x[:, 1] * x[:, 2])[:, None].astype(np.float32)
        seen, unseen = x[:, 0] > 0, x[:, 0] < 0
        train = np.ones(len(x), bool) if params["train_on"] == "all" else seen
        probe = np.random.default_rng(0).permutation(np.flatnonzero(seen))[:PROBE]
        return TaskData(x_train=as_input(x[train], arch), y_train=torch.from_numpy(y[train]),
                        x_id=as_input(x[seen], arch), y_id=torch.from_numpy(y[seen]),
                        x_ood=as_input(x[unseen], arch), y_ood=torch.from_numpy(y[unseen]), loss="mse", n_out=1,
                        probe=as_input(x[probe], arch), extra={"x12_unseen": torch.from_numpy(x[unseen, 1] * x[unseen, 2])})

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        n, width = params["n"], params["width"]
        if arch == "transformer":
            return lambda: Transformer(2, n, width, 1, heads=4, readout="mean", causal=False)
        return lambda: MLP(n, width, 1, depth=2)

    def validate(self, params: Mapping[str, Any]) -> None:
        from experiments.params import SpecError

        if params["width"] % 4:
            raise SpecError("params.width", f"{params['width']} must be a multiple of 4 (4 attention heads)")

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        stacked = {k: v.to(device) for k, v in result.params.items()}
        x = data.x_ood.to(device)
        x = x.to(next(iter(stacked.values())).dtype) if x.is_floating_point() else x
        out = ensemble_apply(model, stacked, x)[..., 0].double().cpu()
        c = (out * data.extra["x12_unseen"].double()).mean(dim=1).numpy()
        return {"behaviour": c}
