"""``sparse_parity``: (n, k)-sparse parity, Barak, Edelman, Goel, Kakade, Malach & Zhang (2022),
"Hidden Progress in Deep Learning: SGD Learns Parities Near the Computational Limit" (NeurIPS).

Inputs are uniform on {±1}^n, the label is the parity of the first k bits (the relevant set is
fixed; its position is irrelevant to an MLP). Barak et al. find a long plateau followed by a sudden
loss drop whose timing varies between runs, while the weight mass on the relevant coordinates grows
steadily ("hidden progress").

Behaviour scalar: the **fraction of training at which the loss drops** — the first evaluation step
with ID accuracy ≥ 0.9, divided by the number of steps (1.0 if it never happens). Extra: the share
of first-layer weight mass (squared norm) on the k relevant coordinates (MLP only). The OOD probe
biases the irrelevant bits (P(+1) = 0.85); a model that ignores them is unaffected.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import MLP, Transformer
from experiments.params import ParamDef, SpecError, training_params
from experiments.trainer import TrainResult

N_TEST, PROBE, DROP_ACCURACY = 2000, 256, 0.9


def parity_data(n: int, k: int, count: int, rng: np.random.Generator, *, bias: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points of {±1}^n (irrelevant bits +1 with probability ``bias``) and parity labels {0, 1}."""
    x = np.where(rng.random((count, n)) < 0.5, 1.0, -1.0)
    if bias != 0.5:
        x[:, k:] = np.where(rng.random((count, n - k)) < bias, 1.0, -1.0)
    y = (np.prod(x[:, :k], axis=1) < 0).astype(np.int64)
    return x.astype(np.float32), y


def drop_fraction(curve_acc: np.ndarray, steps: np.ndarray, total: int) -> np.ndarray:
    """First step with accuracy ≥ 0.9 as a fraction of training (1.0 if never), per member ``[S]``."""
    reached = curve_acc >= DROP_ACCURACY
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    return np.where(first >= 0, steps[np.maximum(first, 0)] / total, 1.0)


@register_task
class SparseParity(Task):
    name = "sparse_parity"
    archs = ("mlp", "transformer")
    behaviour_name = "loss-drop fraction of training"
    eval_points = 50
    params = {
        **training_params(steps=3000, lr=1e-3, width=256, batch_size=64, max_width=2048),
        "n": ParamDef("n", "int", 20, 2, 64, doc="number of bits"),
        "k": ParamDef("k", "int", 3, 1, 6, doc="number of relevant bits (k ≤ n)"),
        "n_train": ParamDef("n_train", "int", 20_000, 128, 200_000, doc="training-set size"),
    }
    presets = {"tiny": {"n": 8, "k": 2, "steps": 200, "width": 32, "n_train": 1000}, "default": {}}
    control = {"k": 1}

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["k"] > params["n"]:
            raise SpecError("params.k", f"k={params['k']} must be at most n={params['n']}")
        if params["width"] % 4:
            raise SpecError("params.width", f"{params['width']} must be a multiple of 4 (4 attention heads)")

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        n, k = params["n"], params["k"]
        rng = np.random.default_rng(0)
        x_train, y_train = parity_data(n, k, params["n_train"], rng)
        x_test, y_test = parity_data(n, k, N_TEST, rng)
        x_ood, y_ood = parity_data(n, k, N_TEST, rng, bias=0.85)

        def inp(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy((x < 0).astype(np.int64)) if arch == "transformer" else torch.from_numpy(x)

        return TaskData(x_train=inp(x_train), y_train=torch.from_numpy(y_train), x_id=inp(x_test),
                        y_id=torch.from_numpy(y_test), x_ood=inp(x_ood), y_ood=torch.from_numpy(y_ood), loss="ce",
                        n_out=2, probe=inp(x_test[:PROBE]))

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        n, width = params["n"], params["width"]
        if arch == "transformer":
            return lambda: Transformer(2, n, width, 2, heads=4, readout="mean", causal=False)
        return lambda: MLP(n, width, 2, depth=1)

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        curves = result.curves
        out = {"behaviour": drop_fraction(curves["eval_acc"], curves["step"], params["steps"]).astype(float)}
        if "hidden.0.weight" in result.params:
            w = result.params["hidden.0.weight"].double().pow(2)  # [S, width, n]
            out["relevant_weight_mass"] = (w[..., : params["k"]].sum(dim=(1, 2)) / w.sum(dim=(1, 2))).numpy()
        return out
