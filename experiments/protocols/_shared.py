"""Helpers shared by protocols B and D–H: derived members, checkpoints, held-out sets, LMC paths, plots.

Not a protocol (no registration); the package imports it like every module in this folder.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from experiments import plots  # noqa: F401  (selects matplotlib's Agg backend before pyplot loads)
from experiments.evaluation import TaskRun
from experiments.metrics import bootstrap_ci
from experiments.mltasks import get_task
from experiments.mltasks.base import predictions
from experiments.protocols.base import Progress
from experiments.trainer import Member, TrainResult, derive_seed, evaluate_params, interpolate

# Tasks whose "ID" set is the training set itself; their held-out test set is the OOD probe.
HELD_OUT_IS_OOD = ("modadd",)


def base_member(task_name: str, seed: int, params: Mapping[str, Any]) -> Member:
    """The task's own member for ``seed`` (what protocol A trains), to derive changed members from."""
    return get_task(task_name).members([seed], dict(params))[0]


def fresh_member(task_name: str, seed: int, params: Mapping[str, Any], stream: str) -> Member:
    """A member with new init and data-order seeds derived from ``(seed, stream)``; same ``seed`` label."""
    return replace(base_member(task_name, seed, params), init_seed=derive_seed(seed, f"{stream}-init"),
                   data_seed=derive_seed(seed, f"{stream}-data"))


def sub_progress(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress callback that maps [0, 1] onto [start, end] of ``progress``."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


def at_checkpoint(run: TaskRun, fraction: float) -> TrainResult:
    """A TrainResult view of the run as it stood at checkpoint ``fraction``: its parameters, and its
    curves cut at that step, so a curve-based behaviour (sparse_parity's loss-drop time) cannot see
    the future."""
    curves = run.result.curves
    keep = np.asarray(curves["step"]) <= round(fraction * run.params["steps"])
    cut = {k: (v[keep] if k == "step" else v[:, keep]) for k, v in curves.items()}
    return TrainResult(members=run.result.members, params=run.result.checkpoints[fraction], curves=cut,
                       checkpoints={})


def behaviour_at(run: TaskRun, fraction: float) -> dict[str, np.ndarray]:
    """The task's behaviour dict at checkpoint ``fraction`` (see :func:`at_checkpoint`)."""
    return run.task.behaviour(run.model, at_checkpoint(run, fraction), run.data, run.params, device=run.device)


def behaviour_of(run: TaskRun, params: Mapping[str, torch.Tensor] | None = None) -> dict[str, np.ndarray]:
    """The task's behaviour dict (key "behaviour" plus extras, each ``[S]``) of given stacked params."""
    result = run.result if params is None else TrainResult(members=run.result.members, params=dict(params),
                                                           curves=run.result.curves, checkpoints={})
    return run.task.behaviour(run.model, result, run.data, run.params, device=run.device)


def held_out(run: TaskRun) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out test set (x, y): the ID test set, or the OOD probe where ID is the training set."""
    if run.task.name in HELD_OUT_IS_OOD:
        return run.data.x_ood, run.data.y_ood
    return run.data.x_id, run.data.y_id


def predict(run: TaskRun, x: torch.Tensor, params: Mapping[str, torch.Tensor] | None = None, **kw: Any) -> np.ndarray:
    """Predicted labels ``[S, N]`` (argmax, or sign for one regression output) of stacked params."""
    return predictions(run.outputs(x, params, **kw), run.data.loss).cpu().numpy()


def path_errors(run: TaskRun, theta_a: Mapping[str, torch.Tensor], theta_b: Mapping[str, torch.Tensor],
                x: torch.Tensor, y: torch.Tensor, *, points: int) -> np.ndarray:
    """Test error ``[S, points]`` along the straight lines ``(1−t)·θ_a + t·θ_b`` of each member pair.

    The error is ``1 − score`` with the trainer's per-member score (accuracy for classification,
    sign agreement for one regression output). Frankle et al. (2020) evaluate 30 evenly spaced t.
    """
    a, b = run.stacked(theta_a), run.stacked(theta_b)
    x = x.to(run.device)
    x = x.to(run.dtype) if x.is_floating_point() else x
    y = y.to(run.device)
    y = y.to(run.dtype) if y.is_floating_point() else y
    cols = []
    for t in np.linspace(0.0, 1.0, points):
        _, score = evaluate_params(run.model, interpolate(a, b, float(t)), x, y, loss=run.data.loss)
        cols.append(1.0 - score.double().cpu().numpy())
    return np.stack(cols, axis=1)


def ci(values: np.ndarray, statistic: Any, *, config: Any, seed: int) -> tuple[float, float]:
    """Percentile bootstrap CI over the first axis with the config's resamples and confidence."""
    return bootstrap_ci(values, statistic, n_resamples=config.n_boot, confidence=config.confidence, seed=seed)


def finite(value: float) -> float | None:
    """JSON-friendly float: None for NaN/inf."""
    value = float(value)
    return value if np.isfinite(value) else None


def save_figure(fig: Any, path: Path) -> Path:
    """Save a matplotlib figure as PNG and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sorted_outputs(outputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per-seed outputs in seed order (chunks may arrive in any order)."""
    return [dict(o) for o in sorted(outputs, key=lambda o: o["seed"])]
