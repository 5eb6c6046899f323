"""Train a task's ensemble and turn it into per-seed outputs (shared by every protocol)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.mltasks import get_task
from experiments.mltasks.base import Task, TaskData, predictions
from experiments.trainer import (
    Hooks,
    Member,
    Progress,
    TrainResult,
    ensemble_apply,
    resolve_device,
    train_ensemble,
)


@dataclass
class TaskRun:
    """A trained ensemble of one task: the data, a base module on the device, and the result."""

    task: Task
    arch: str
    params: dict[str, Any]
    data: TaskData
    model: nn.Module
    result: TrainResult
    device: torch.device
    dtype: torch.dtype

    def stacked(self, params: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Parameters (final by default) on the run's device."""
        source = self.result.params if params is None else params
        return {k: v.to(device=self.device, dtype=self.dtype) for k, v in source.items()}

    def outputs(self, x: torch.Tensor, params: Mapping[str, torch.Tensor] | None = None,
                **kw: Any) -> torch.Tensor:
        x = x.to(self.device)
        x = x.to(self.dtype) if x.is_floating_point() else x
        return ensemble_apply(self.model, self.stacked(params), x, **kw)


def train_task(task_name: str, arch: str, params: Mapping[str, Any], members: list[Member] | list[int], *,
               device: str | torch.device = "auto", progress: Progress | None = None,
               hooks: Hooks | None = None,
               init_params: Mapping[str, torch.Tensor] | None = None, keep_checkpoints: bool = False,
               dtype: torch.dtype = torch.float32, vectorized: bool = True,
               checkpoint_fractions: tuple[float, ...] | None = None) -> TaskRun:
    """Build the task's data and model and train ``members`` (or plain seeds) as one ensemble.

    ``checkpoint_fractions`` replaces the trainer's default checkpoint grid (protocols E and G need
    25% / 50% and a finer early grid).
    """
    task = get_task(task_name)
    params = dict(params)
    device = resolve_device(device)
    if members and isinstance(members[0], int):
        members = task.members(list(members), params)
    data = task.make_data(params, arch)
    make_model = task.make_model(arch, params, data)
    spec = task.train_spec(params)
    if checkpoint_fractions is not None:
        spec = replace(spec, checkpoint_fractions=tuple(checkpoint_fractions))
    result = train_ensemble(make_model, data.x_train, data.y_train, spec, members,
                            eval_set=(data.x_id, data.y_id), device=device, dtype=dtype, hooks=hooks,
                            init_params=dict(init_params) if init_params is not None else None,
                            keep_checkpoints=keep_checkpoints, vectorized=vectorized, progress=progress)
    model = make_model().to(device=device, dtype=dtype)
    return TaskRun(task, arch, params, data, model, result, device, dtype)


def member_outputs(run: TaskRun) -> list[dict[str, Any]]:
    """One dict per member: seed, behaviour (+ task extras), accuracies, predictions, representations
    of the probe set and training curves. Arrays are numpy; everything is ``save_outputs``-able."""
    behaviour = run.task.behaviour(run.model, run.result, run.data, run.params, device=run.device)
    out_id = run.outputs(run.data.x_id)
    out_ood = run.outputs(run.data.x_ood)
    n_members, n_probe = len(run.result.members), run.data.probe.shape[0]
    reps = run.outputs(run.data.probe, features=True).reshape(n_members, n_probe, -1)
    pred_id = predictions(out_id, run.data.loss)
    pred_ood = predictions(out_ood, run.data.loss)

    def accuracy(out: torch.Tensor, pred: torch.Tensor, y: torch.Tensor | None) -> np.ndarray:
        if y is None:
            return np.full(out.shape[0], np.nan)
        y = y.to(run.device)
        if run.data.loss == "ce":
            return (pred == y).double().mean(1).cpu().numpy()
        if out.shape[-1] == 1:
            return (torch.sign(out[..., 0]) == torch.sign(y.reshape(-1))).double().mean(1).cpu().numpy()
        resid = (out - y.reshape(out.shape[1:])).pow(2).mean(dim=(1, 2))
        return (1 - resid / y.var(unbiased=False).clamp_min(1e-12)).double().cpu().numpy()

    acc_id = accuracy(out_id, pred_id, run.data.y_id)
    acc_ood = accuracy(out_ood, pred_ood, run.data.y_ood)
    curves = run.result.curves
    rows = []
    for i, member in enumerate(run.result.members):
        row: dict[str, Any] = {"seed": member.seed}
        row.update({k: float(v[i]) for k, v in behaviour.items()})
        row.update({
            "id_acc": float(acc_id[i]), "ood_acc": float(acc_ood[i]),
            "final_train_loss": float(curves["train_loss"][i, -1]),
            "final_eval_loss": float(curves["eval_loss"][i, -1]),
            "pred_id": pred_id[i].to(torch.int32).cpu().numpy(),
            "pred_ood": pred_ood[i].to(torch.int32).cpu().numpy(),
            "rep": reps[i].float().cpu().numpy(),
            "curve_step": np.asarray(curves["step"], dtype=np.int64),
            "curve_train_loss": curves["train_loss"][i].astype(np.float64),
            "curve_eval_loss": curves["eval_loss"][i].astype(np.float64),
            "curve_eval_acc": curves["eval_acc"][i].astype(np.float64),
        })
        rows.append(row)
    return rows
