"""``two_pathway``: competition between two pathways of a deep linear network, Kleinman, Achille &
Soatto (2024), "Critical Learning Periods Emerge Even in Deep Linear Networks" (ICLR), Sec. 4.

One latent feature s ~ N(0, 1) is seen through two input views, ``x_A = u_A s + σ ε_A`` and
``x_B = u_B s + σ ε_B`` (unit vectors u, dimension 8 each), and the target is ``y = s``. Each view
feeds its own ``depth``-layer linear pathway; the pathways are summed into a shared hidden layer and
read out linearly. With depth ≥ 2 and small initialisation the pathways compete: whichever grows
first captures the feature and the other's gradient vanishes (winner-take-most), so the split is
set early in training; with depth 1 the split stays near its initial balance. With σ = 0 (the
default) the views are redundant, so every split fits the data and only the dynamics choose one;
σ > 0 makes the least-squares split unique (≈ ½), which training approaches slowly.

Behaviour scalar: pathway A's share ``K_A / (K_A + K_B)`` with ``K_X = |W_out Π W_X u_X|``, the
end-to-end gain of pathway X along the feature direction. The OOD probe removes view B (x_B = 0).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import TwoPathwayLinear
from experiments.params import ParamDef, training_params
from experiments.trainer import TrainResult

D_VIEW, N_TRAIN, N_TEST, PROBE = 8, 512, 512, 256


def views(count: int, noise: float, u_a: np.ndarray, u_b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.normal(size=count)
    x_a = s[:, None] * u_a + noise * rng.normal(size=(count, D_VIEW))
    x_b = s[:, None] * u_b + noise * rng.normal(size=(count, D_VIEW))
    return np.concatenate([x_a, x_b], axis=1).astype(np.float32), s[:, None].astype(np.float32)


@register_task
class TwoPathway(Task):
    name = "two_pathway"
    archs = ("linear",)
    behaviour_name = "pathway A's share of the feature"
    loss = "mse"
    params = {
        **training_params(steps=1500, lr=0.05, width=16, optimizer="sgd", batch_size=512, init_scale=0.03,
                          max_width=256),
        "depth": ParamDef("depth", "int", 3, 1, 4, doc="linear layers per pathway"),
        "noise": ParamDef("noise", "float", 0.0, 0.0, 2.0, doc="view noise std σ (σ > 0 makes the split unique)"),
    }
    presets = {"tiny": {"steps": 300, "width": 8}, "default": {}}
    control = {"depth": 1}

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        rng = np.random.default_rng(0)
        u_a, u_b = (v / np.linalg.norm(v) for v in rng.normal(size=(2, D_VIEW)))
        x_train, y_train = views(N_TRAIN, params["noise"], u_a, u_b, rng)
        x_test, y_test = views(N_TEST, params["noise"], u_a, u_b, rng)
        x_ood = x_test.copy()
        x_ood[:, D_VIEW:] = 0.0
        t = torch.from_numpy
        return TaskData(x_train=t(x_train), y_train=t(y_train), x_id=t(x_test), y_id=t(y_test), x_ood=t(x_ood),
                        y_ood=t(y_test), loss="mse", n_out=1, probe=t(x_test[:PROBE]),
                        extra={"u_a": t(u_a.astype(np.float32)), "u_b": t(u_b.astype(np.float32))})

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        width, depth = params["width"], params["depth"]
        return lambda: TwoPathwayLinear(D_VIEW, D_VIEW, width, 1, depth=depth)

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        p = {k: v.double() for k, v in result.params.items()}

        def gain(prefix: str, u: torch.Tensor) -> torch.Tensor:
            h = u.double().expand(p["out.weight"].shape[0], -1).unsqueeze(-1)  # [S, d, 1]
            for i in range(params["depth"]):
                h = p[f"{prefix}.{i}.weight"] @ h
            return (p["out.weight"] @ h).abs().reshape(h.shape[0])

        k_a, k_b = gain("path_a", data.extra["u_a"]), gain("path_b", data.extra["u_b"])
        share = (k_a / (k_a + k_b).clamp_min(1e-30)).numpy()
        return {"behaviour": share, "gain_a": k_a.numpy(), "gain_b": k_b.numpy()}
