"""``lms``: linear + 5-slab data of Shah et al. (2020), "The Pitfalls of Simplicity Bias in Neural
Networks" (NeurIPS), Sec. 3 ("LMS-5").

Coordinate 0 is *linear*: ``x_0 = s · U[margin/2, 1]`` with ``s = ±1`` the class. Each of the
``n_slab`` other coordinates is a *5-slab* coordinate: class +1 lies in the slabs centred at −1, 0,
1 and class −1 in those at ±0.5, each slab of half-width ``0.25 − margin/2``. Every coordinate
alone predicts the label perfectly; Shah et al. find that SGD-trained MLPs rely on the linear one
only (simplicity bias).

Behaviour scalar: the **S-randomized AUC** — the test AUC after permuting the linear coordinate
across examples (Shah et al., Sec. 2.2). ≈ 0.5: the model uses the linear coordinate only; ≈ 1: it
also learned the slabs. The OOD probe is that S-randomized test set.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.metrics import auroc
from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import MLP
from experiments.params import ParamDef, training_params
from experiments.trainer import TrainResult, ensemble_apply

N_TRAIN, N_TEST, PROBE = 2000, 1000, 256
SLAB_CENTRES = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])


def lms_data(n: int, n_slab: int, margin: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples ``[n, 1 + n_slab]`` and labels in {0, 1} (balanced in expectation)."""
    y = rng.integers(0, 2, size=n)
    sign = 2.0 * y - 1.0
    linear = sign * rng.uniform(margin / 2, 1.0, size=n)
    half = 0.25 - margin / 2
    slab_choice = np.where(y[:, None] == 1, rng.choice([0, 2, 4], size=(n, n_slab)),
                           rng.choice([1, 3], size=(n, n_slab)))
    slabs = SLAB_CENTRES[slab_choice] + rng.uniform(-half, half, size=(n, n_slab))
    return np.concatenate([linear[:, None], slabs], axis=1).astype(np.float32), y.astype(np.int64)


@register_task
class LinearSlabs(Task):
    name = "lms"
    archs = ("mlp",)
    behaviour_name = "S-randomized AUC"
    params = {
        **training_params(steps=2000, lr=1e-3, width=128, batch_size=64),
        "n_slab": ParamDef("n_slab", "int", 20, 0, 200, doc="number of 5-slab coordinates"),
        "margin": ParamDef("margin", "float", 0.1, 0.0, 0.4, doc="gap between classes in every coordinate"),
        "depth": ParamDef("depth", "int", 2, 1, 4, doc="MLP hidden layers"),
    }
    presets = {"tiny": {"steps": 200, "width": 32, "n_slab": 8}, "default": {}}
    control = {"n_slab": 0}

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        rng = np.random.default_rng(0)
        x_train, y_train = lms_data(N_TRAIN, params["n_slab"], params["margin"], rng)
        x_test, y_test = lms_data(N_TEST, params["n_slab"], params["margin"], rng)
        s_rand = x_test.copy()
        s_rand[:, 0] = x_test[rng.permutation(N_TEST), 0]
        sc_rand = x_test.copy()
        sc_rand[:, 1:] = x_test[rng.permutation(N_TEST), 1:]
        t = torch.from_numpy
        return TaskData(x_train=t(x_train), y_train=t(y_train), x_id=t(x_test), y_id=t(y_test), x_ood=t(s_rand),
                        y_ood=t(y_test), loss="ce", n_out=2, probe=t(x_test[:PROBE]), extra={"sc_rand": t(sc_rand)})

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        d_in, width, depth = data.x_train.shape[1], params["width"], params["depth"]
        return lambda: MLP(d_in, width, 2, depth=depth)

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        stacked = {k: v.to(device) for k, v in result.params.items()}
        dtype = next(iter(stacked.values())).dtype
        labels = data.y_id.numpy()

        def aucs(x: torch.Tensor) -> np.ndarray:
            out = ensemble_apply(model, stacked, x.to(device=device, dtype=dtype))
            score = (out[..., 1] - out[..., 0]).double().cpu().numpy()
            return np.array([auroc(s, labels) for s in score])

        return {"behaviour": aucs(data.x_ood), "auc_id": aucs(data.x_id),
                "auc_sc_randomized": aucs(data.extra["sc_rand"])}
