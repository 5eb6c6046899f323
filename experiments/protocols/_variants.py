"""Variant families of protocol H: task variants with two candidate solutions, and the measures that
predict and read which one training finds. Not a protocol (no registration).

A :class:`Variant` holds the full training data (both candidates fit it), one data set per candidate
on which only that candidate fits (the other candidate's inputs permuted across examples, Shah et
al. 2020's randomization) and, per candidate, test inputs on which only that candidate still tells
the label. Families:

- ``gotu`` and ``lms``: see ``experiments/protocols/inductive_bias.py``.
- **Shortcut cue** (``digits``, ``sparse_parity``): the task's inputs with a synthetic cue appended
  that equals the label (digits: the one-hot class, 10 inputs; sparse_parity: one input ``±1``), at
  scales γ ∈ ``CUE_SCALES``. Both the task's own feature and the cue fit the training set; which
  one the network relies on is the simplicity-bias question of Shah, Tamuly, Raghunathan, Jain &
  Netrapalli (2020), "The Pitfalls of Simplicity Bias in Neural Networks" (NeurIPS), and of Hermann
  & Lampinen (2020), "What Shapes Feature Representations? Exploring Datasets, Architectures, and
  Training" (NeurIPS), whose finding is that of two equally predictive features the *easier* one
  (here: the cue, linear in one or ten inputs, made harder by shrinking γ) is the one a network
  represents and uses; the decoy-feature construction follows Geirhos et al. (2020), "Shortcut
  Learning in Deep Neural Networks" (Nature Machine Intelligence). Reliance is read on test inputs
  where the two disagree: with the cue permuted (only the task feature informative) against the
  task's inputs permuted (only the cue informative).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.metrics import auroc
from experiments.mltasks import get_task
from experiments.mltasks.base import TaskData
from experiments.nets import MLP
from experiments.trainer import TrainResult, ensemble_apply

GOTU_DEGREES = (2, 3, 4)
LMS_SCALES = (1.0, 0.3, 0.1)
CUE_SCALES = {"digits": (3.0, 1.0, 0.3), "sparse_parity": (1.0, 0.3, 0.1)}
LEARNED_ACCURACY = 0.95
KEEP_ACCURACY = 0.95
REACH = 0.9
"""Cue families: a candidate counts as learned (and kept) at chance + REACH·(best − chance), where
best is the higher final accuracy of the member's two alone-trained networks."""
SOLUTIONS = {"gotu": ("min_degree", "true"), "lms": ("linear", "slab"), "digits": ("pixels", "cue"),
             "sparse_parity": ("parity", "cue")}
CUE_TASKS = ("digits", "sparse_parity")


@dataclass
class Variant:
    label: str
    full: TaskData
    alone: dict[str, TaskData]
    """Candidate solution → data on which only that candidate fits."""
    probes: dict[str, torch.Tensor]
    """Candidate solution → ID test inputs on which only that candidate still tells the label."""
    make_model: Callable[[], nn.Module] | None = None
    """Model builder where the inputs differ from the task's (None: the task's own model)."""


def shuffled(x: np.ndarray, cols: slice, rng: np.random.Generator) -> np.ndarray:
    """``x`` with the columns ``cols`` permuted across rows (they stop carrying label information)."""
    x = x.copy()
    x[:, cols] = x[rng.permutation(len(x)), cols]
    return x


def gotu_variants(params: dict[str, Any], arch: str) -> list[Variant]:
    from experiments.mltasks.gotu import as_input, cube

    x = cube(params["n"])
    seen, unseen = x[:, 0] > 0, x[:, 0] < 0
    out = []
    for d in GOTU_DEGREES:
        rest = np.prod(x[:, 1:d], axis=1)
        true = x[:, 0] * rest

        def col(v: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(v[:, None].astype(np.float32))

        full = TaskData(x_train=as_input(x[seen], arch), y_train=col(true[seen]), x_id=as_input(x[seen], arch),
                        y_id=col(true[seen]), x_ood=as_input(x[unseen], arch), y_ood=col(true[unseen]), loss="mse",
                        n_out=1, probe=as_input(x[seen], arch), extra={"basis_unseen": torch.from_numpy(rest[unseen])})
        alone = {name: TaskData(x_train=as_input(x, arch), y_train=col(target), x_id=as_input(x, arch),
                                y_id=col(target), x_ood=as_input(x, arch), y_ood=col(target), loss="mse", n_out=1,
                                probe=as_input(x, arch))
                 for name, target in (("min_degree", rest), ("true", true))}
        out.append(Variant(f"degree {d}", full, alone, probes={}))
    return out


def lms_variants(params: dict[str, Any]) -> list[Variant]:
    from experiments.mltasks.lms import N_TEST, N_TRAIN, lms_data

    out = []
    for gamma in LMS_SCALES:
        rng = np.random.default_rng(0)
        x_tr, y_tr = lms_data(N_TRAIN, params["n_slab"], params["margin"], rng)
        x_te, y_te = lms_data(N_TEST, params["n_slab"], params["margin"], rng)
        x_tr[:, 0] *= gamma
        x_te[:, 0] *= gamma

        s_rand, sc_rand = shuffled(x_te, slice(0, 1), rng), shuffled(x_te, slice(1, None), rng)
        t = torch.from_numpy
        full = TaskData(x_train=t(x_tr), y_train=t(y_tr), x_id=t(x_te), y_id=t(y_te), x_ood=t(s_rand), y_ood=t(y_te),
                        loss="ce", n_out=2, probe=t(x_te[:256]), extra={"sc_rand": t(sc_rand)})
        alone = {}
        for name, cols in (("linear", slice(1, None)), ("slab", slice(0, 1))):
            tr, te = shuffled(x_tr, cols, rng), shuffled(x_te, cols, rng)
            alone[name] = TaskData(x_train=t(tr), y_train=t(y_tr), x_id=t(te), y_id=t(y_te), x_ood=t(te),
                                   y_ood=t(y_te), loss="ce", n_out=2, probe=t(te[:256]))
        out.append(Variant(f"linear scale {gamma:g}", full, alone, probes={"linear": t(sc_rand), "slab": t(s_rand)}))
    return out


def cue_code(task: str, y: np.ndarray, n_out: int) -> np.ndarray:
    """The shortcut cue of labels ``y`` at scale 1: one-hot classes (digits) or ``±1`` (sparse_parity)."""
    if task == "digits":
        return np.eye(n_out, dtype=np.float32)[y]
    return (2.0 * y - 1.0).astype(np.float32)[:, None]


def cue_variants(task_name: str, params: dict[str, Any], arch: str, scales: tuple[float, ...] | None = None,
                 ) -> list[Variant]:
    """The task's own data with a label cue of scale γ appended, one variant per γ (γ = 0: no cue)."""
    task = get_task(task_name)
    scales = CUE_SCALES[task_name] if scales is None else scales
    base = task.make_data(params, arch)
    x_tr, y_tr = base.x_train.numpy(), base.y_train.numpy()
    x_te, y_te = base.x_id.numpy(), base.y_id.numpy()
    d = x_tr.shape[1]
    depth = params.get("depth", 1)
    out = []
    for gamma in scales:
        rng = np.random.default_rng(0)
        tr = np.concatenate([x_tr, gamma * cue_code(task_name, y_tr, base.n_out)], axis=1)
        te = np.concatenate([x_te, gamma * cue_code(task_name, y_te, base.n_out)], axis=1)
        task_cols, cue_cols = slice(0, d), slice(d, None)
        only_task, only_cue = shuffled(te, cue_cols, rng), shuffled(te, task_cols, rng)
        t = torch.from_numpy
        full = TaskData(x_train=t(tr), y_train=t(y_tr), x_id=t(te), y_id=t(y_te), x_ood=t(only_task),
                        y_ood=t(y_te), loss="ce", n_out=base.n_out, probe=t(te[:256]))
        first, second = SOLUTIONS[task_name]
        alone = {}
        for name, cols, probe in ((first, cue_cols, only_task), (second, task_cols, only_cue)):
            alone[name] = TaskData(x_train=t(shuffled(tr, cols, rng)), y_train=t(y_tr), x_id=t(probe), y_id=t(y_te),
                                   x_ood=t(probe), y_ood=t(y_te), loss="ce", n_out=base.n_out, probe=t(probe[:256]))
        out.append(Variant(f"cue scale {gamma:g}", full, alone, probes={first: t(only_task), second: t(only_cue)},
                           make_model=lambda d_in=tr.shape[1], n_out=base.n_out: MLP(d_in, params["width"], n_out,
                                                                                     depth=depth)))
    return out


def variants_of(task: str, params: dict[str, Any], arch: str) -> list[Variant]:
    """The fixed variant family of ``task``."""
    if task == "gotu":
        return gotu_variants(params, arch)
    if task == "lms":
        return lms_variants(params)
    return cue_variants(task, params, arch)


def relative_threshold(final_acc: dict[str, np.ndarray], n_out: int) -> np.ndarray:
    """Per member: chance + REACH·(best final alone accuracy − chance) (see ``REACH``)."""
    chance = 1.0 / n_out
    best = np.maximum(*final_acc.values())
    return chance + REACH * (best - chance)


def reliance(model: nn.Module, stacked: dict[str, torch.Tensor], x: torch.Tensor, labels: np.ndarray,
             device: torch.device) -> np.ndarray:
    """Per-member score on ``x``: AUC of the logit margin (two classes), else accuracy."""
    out = ensemble_apply(model, stacked, x.to(device))
    if out.shape[-1] == 2:
        return np.array([auroc(s, labels) for s in (out[..., 1] - out[..., 0]).double().cpu().numpy()])
    return (out.argmax(-1).cpu().numpy() == labels[None]).mean(axis=1)


def first_learned(result: TrainResult, steps: int, threshold: float | np.ndarray = LEARNED_ACCURACY) -> np.ndarray:
    """First evaluation step with accuracy ≥ ``threshold`` (a number or one per member), per member;
    ``steps + 1`` when never."""
    step = np.asarray(result.curves["step"])
    # one-output regression curves come back as [S, T, 1]
    acc = np.asarray(result.curves["eval_acc"]).reshape(-1, step.size)
    hit = acc >= np.reshape(threshold, (-1, 1))
    return np.where(hit.any(axis=1), step[hit.argmax(axis=1)], steps + 1).astype(float)


def minimal_units(model: nn.Module, params: dict[str, torch.Tensor], data: TaskData, device: torch.device,
                  keep: float | np.ndarray = KEEP_ACCURACY) -> np.ndarray:
    """Fewest last-hidden-layer units (by ``‖w_out,j‖·SD(h_j)``) keeping ≥ ``keep`` test accuracy (a number
    or one per member), per member.

    The circuit-prior size of a solution; ``width + 1`` when even the whole layer stays below ``keep``.
    """
    x = data.x_id.to(device)
    h = ensemble_apply(model, params, x, features=True).double()  # [S, N, width]
    w, b = params["out.weight"].double(), params["out.bias"].double()  # [S, C, width], [S, C]
    y = data.y_id.to(device)
    importance = w.norm(dim=1) * h.std(dim=1)  # [S, width]
    order = importance.argsort(dim=1, descending=True)
    width = h.shape[-1]
    result = np.full(h.shape[0], width + 1.0)
    keep = np.broadcast_to(np.asarray(keep, dtype=float), (h.shape[0],))
    for s in range(h.shape[0]):
        for m in range(1, width + 1):
            top = order[s, :m]
            logits = h[s][:, top] @ w[s][:, top].T + b[s]
            if float((logits.argmax(-1) == y).double().mean()) >= keep[s]:
                result[s] = m
                break
    return result
