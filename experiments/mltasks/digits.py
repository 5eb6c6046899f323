"""``digits``: scikit-learn's 8×8 handwritten digits with a noisy / shifted out-of-distribution probe.

Behaviour scalar: accuracy on the OOD probe (test images plus Gaussian pixel noise of standard
deviation ``noise`` in units of the pixel range, optionally shifted right by ``shift`` pixels).
Seeds that agree in-distribution disagree on such probes, the underspecification measured by
D'Amour et al. (2020), "Underspecification presents challenges for credibility in modern machine
learning", and by Summers & Dinneen (2021), "Nondeterminism and instability in neural network
optimization" (ICML). The data are those shipped inside scikit-learn (``load_digits``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import MLP, SmallCNN
from experiments.params import ParamDef, training_params
from experiments.trainer import TrainResult, ensemble_apply

N_TRAIN = 1200  # of 1797 images; the remaining 597 are the ID test set
PROBE = 256


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return (x[order] / 16.0).astype(np.float32), y[order].astype(np.int64)


def ood_images(x: np.ndarray, *, noise: float, shift: int, seed: int = 1) -> np.ndarray:
    """Test images plus N(0, noise²) pixel noise, then shifted right by ``shift`` pixels (zero fill)."""
    noisy = x + np.random.default_rng(seed).normal(0.0, noise, size=x.shape).astype(np.float32)
    if shift:
        img = noisy.reshape(-1, 8, 8)
        img = np.concatenate([np.zeros_like(img[:, :, :shift]), img[:, :, :-shift]], axis=2)
        noisy = img.reshape(-1, 64)
    return noisy.astype(np.float32)


@register_task
class Digits(Task):
    name = "digits"
    archs = ("mlp", "cnn")
    behaviour_name = "OOD accuracy"
    params = {
        **training_params(steps=1500, lr=1e-3, width=128, batch_size=64),
        "noise": ParamDef("noise", "float", 0.3, 0.0, 1.0, doc="OOD pixel noise std (pixel range = 1)"),
        "shift": ParamDef("shift", "int", 0, 0, 3, doc="OOD shift to the right, pixels"),
        "depth": ParamDef("depth", "int", 2, 1, 4, doc="MLP hidden layers"),
    }
    presets = {"tiny": {"steps": 150, "width": 32}, "default": {}}
    control = {"noise": 0.0, "shift": 0}

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        x, y = _digits()
        x_test = x[N_TRAIN:]
        ood = ood_images(x_test, noise=params["noise"], shift=params["shift"])
        t = torch.from_numpy
        return TaskData(x_train=t(x[:N_TRAIN]), y_train=t(y[:N_TRAIN]), x_id=t(x_test), y_id=t(y[N_TRAIN:]),
                        x_ood=t(ood), y_ood=t(y[N_TRAIN:]), loss="ce", n_out=10, probe=t(x_test[:PROBE]))

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        width, depth = params["width"], params["depth"]
        if arch == "cnn":
            return lambda: SmallCNN(max(2, width // 8), 10)
        return lambda: MLP(64, width, 10, depth=depth)

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        params_dev = {k: v.to(device) for k, v in result.params.items()}
        out = ensemble_apply(model, params_dev, data.x_ood.to(device).to(next(iter(params_dev.values())).dtype))
        acc = (out.argmax(-1) == data.y_ood.to(device)).double().mean(1).cpu().numpy()
        return {"behaviour": acc}
