"""Concept D, stability of clusters across training: spawning and nudge-and-return.

Two experiments per seed, after the essay's picture of stable attractors ("if we nudge the parameters
slightly toward the other solution, further training brings us back … a strong enough intervention
pushes us over the ridge, and it stays there"):

1. **Spawning** (Frankle, Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity and the Lottery
   Ticket Hypothesis", ICML, Sec. 3, "instability analysis"). A parent is trained to k% of training
   (k on ``SPAWN_FRACTIONS``); two children continue from it with new data orders for the rest of
   training. The error barrier on the held-out test set along the straight line between the children
   (``lmc_points`` evenly spaced points) measures whether the outcome was already fixed at k; children
   with a barrier ≤ ``basin_eps`` (Frankle's 2%) lie in one linearly connected basin, the notion of
   cluster of Juneja, Bansal, Cho, Sedoc & Saphra 2023, "Linear Connectivity Reveals Generalization
   Strategies" (ICLR). ``barrier_same_init`` is the k = 0 barrier (same init, new data orders);
   ``barrier_diff_init`` the barrier between the parent and an independently initialised run.
   Optimizer state is not copied into the children (the trainer starts fresh moments), and on
   ``modadd`` D trains with minibatches (``batch_size`` 512) so that data order exists at all.
2. **Nudge-and-return.** From the parent's checkpoint at ``nudge_frac`` the parameters are moved by
   α (grid of ``n_alpha`` values in [0, 1]) toward a final model of the *other* cluster and training
   continues in the original regime. On ``modadd`` the other cluster is the same seed trained with
   attention rate ``other_alpha`` (Zhong et al. 2023: α = 0 gives Pizza, α = 1 mostly Clock), and an
   outcome's position is read from the behaviour scalar (gradient symmetricity); elsewhere it is an
   independently initialised run (another basin). On ``digits`` and ``lms`` the distance is the
   disagreement on the OOD probe, where seeds differ (noisy digits; lms's S-randomized set, on which
   a model that also uses the slabs parts from one that reads the linear coordinate only — Shah et
   al. 2020's two solutions). On ``sparse_parity`` every trained run computes the same parity, so
   OOD predictions cannot tell the clusters apart; there the distance is the LMC error barrier on the
   test set (Frankle et al. 2020), so a cluster is a linearly connected basin (Juneja et al. 2023)
   and ``min_gap`` is in barrier units. Position ``u = d_A / (d_A + d_B)``: 0 = where the un-nudged
   (α = 0) continuation ends, 1 = at the other model B. On ``lms`` the snap margin is spelled
   ``snap_margin`` (the task's own ``margin`` is the class gap).

Statistic ``snap_fraction``: the fraction of interventions (α > 0, seeds whose two clusters differ by
more than ``min_gap``) whose outcome lies within ``margin`` of either cluster (u ≤ margin or
u ≥ 1 − margin). **Higher = outcomes snap to one of two attractors (stable clusters) = more
path-dependent**; outcomes spread evenly between the clusters give about 2·margin. ``details`` adds
the α → u step's sharpness (largest jump between neighbouring α over the total change; 1 = a step),
the barrier and basin agreement per k. The CI is a percentile bootstrap over seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from experiments import plots
from experiments.evaluation import TaskRun, member_outputs, train_task
from experiments.metrics import disagreement, lmc_barrier
from experiments.metrics_extra import snap_fraction, snap_position, step_sharpness
from experiments.mltasks import get_task
from experiments.params import ParamDef
from experiments.protocols._shared import (
    base_member,
    behaviour_of,
    ci,
    finite,
    fresh_member,
    held_out,
    path_errors,
    predict,
    save_figure,
    sorted_outputs,
    sub_progress,
)
from experiments.protocols.base import (
    COMMON_PROTOCOL_PARAMS,
    PROTOCOLS,
    Progress,
    Protocol,
    ProtocolConfig,
    Result,
    frame_from_outputs,
    register_protocol,
)
from experiments.trainer import derive_seed

SPAWN_FRACTIONS = (0.0, 0.05, 0.2, 0.4)
# How an outcome's distance to each cluster is measured, per task (default: OOD disagreement).
POSITION_BY_BEHAVIOUR = ("modadd",)
POSITION_BY_BASIN = ("sparse_parity",)


@dataclass(frozen=True)
class StabilityConfig(ProtocolConfig):
    """Protocol D settings (task parameters live in ``params``)."""

    lmc_points: int = 11
    """Points on each linear path, endpoints included."""
    basin_eps: float = 0.02
    """Barrier (error, 0–1) at or below which two children share a basin (Frankle et al.: 2%)."""
    n_alpha: int = 6
    """Nudge strengths α, evenly spaced on [0, 1]."""
    nudge_frac: float = 0.4
    """Fraction of training at which the nudge is applied."""
    margin: float = 0.25
    """Snap margin on the relative position u ∈ [0, 1]."""
    min_gap: float = 0.01
    """Seeds whose two clusters are closer than this (behaviour, Dis_OOD or barrier units) are left out."""
    other_alpha: float = 0.0
    """modadd: attention rate of the other cluster's regime."""


def position_from(task: str) -> str:
    """How D reads an outcome's distance to each cluster on ``task``."""
    if task in POSITION_BY_BEHAVIOUR:
        return "behaviour"
    return "lmc_barrier" if task in POSITION_BY_BASIN else "ood_disagreement"


def _frac_steps(steps: int, frac: float) -> int:
    return int(round(frac * steps))


def _continue(config: StabilityConfig, params: dict[str, Any], members: list, start: dict[str, torch.Tensor],
              frac: float, *, device: str, progress: Progress | None) -> TaskRun:
    """Train ``members`` from stacked ``start`` params for the part of training after ``frac``."""
    remaining = max(1, params["steps"] - _frac_steps(params["steps"], frac))
    return train_task(config.task, config.arch, {**params, "steps": remaining}, members, device=device,
                      progress=progress, init_params=start)


def _basin_distances(config: StabilityConfig, nudged: TaskRun, other: dict[str, torch.Tensor], n: int, n_alpha: int,
                     x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """LMC error barriers ``[n, n_alpha]`` from each nudged outcome to its seed's α = 0 outcome (A) and to B."""
    ends = nudged.result.params
    a = _repeat(ends, [i * n_alpha for i in range(n) for _ in range(n_alpha)])
    b = _repeat(other, [i for i in range(n) for _ in range(n_alpha)])
    err_a = path_errors(nudged, ends, a, x, y, points=config.lmc_points)
    err_b = path_errors(nudged, ends, b, x, y, points=config.lmc_points)
    d_a = np.array([lmc_barrier(row) for row in err_a]).reshape(n, n_alpha)
    d_b = np.array([lmc_barrier(row) for row in err_b]).reshape(n, n_alpha)
    return d_a, d_b


def _repeat(stacked: dict[str, torch.Tensor], index: list[int]) -> dict[str, torch.Tensor]:
    return {k: v[index].clone() for k, v in stacked.items()}


@register_protocol
class Stability(Protocol):
    concept = "D"
    title = "Stability of clusters across training"
    tasks = ("digits", "lms", "modadd", "sparse_parity")
    Config = StabilityConfig
    protocol_params = {
        **COMMON_PROTOCOL_PARAMS,
        "lmc_points": ParamDef("lmc_points", "int", 11, 3, 31, doc="points on each LMC path"),
        "basin_eps": ParamDef("basin_eps", "float", 0.02, 0.0, 0.5, doc="barrier at or below which runs share a basin"),
        "n_alpha": ParamDef("n_alpha", "int", 6, 3, 21, doc="nudge strengths on [0, 1]"),
        "nudge_frac": ParamDef("nudge_frac", "float", 0.4, 0.05, 0.8, doc="fraction of training at the nudge"),
        "margin": ParamDef("margin", "float", 0.25, 0.01, 0.49, doc="snap margin on the position u"),
        "min_gap": ParamDef("min_gap", "float", 0.01, 0.0, 1.0, doc="minimum distance between the two clusters"),
        "other_alpha": ParamDef("other_alpha", "float", 0.0, 0.0, 1.0, doc="modadd: attention rate of the other cluster"),
    }
    renamed = {"margin": "snap_margin"}  # lms's own ``margin`` is its class gap
    seeds = {"tiny": (3, 6), "default": (12, 24)}
    cost_multiplier = 13.0
    task_presets = {
        "digits": {"tiny": {"steps": 80, "width": 16, "n_alpha": 3, "lmc_points": 5}},
        "lms": {"tiny": {"steps": 150, "width": 16, "n_alpha": 5, "lmc_points": 5}},
        "modadd": {"tiny": {"steps": 60, "width": 16, "p": 11, "batch_size": 32, "n_alpha": 3, "lmc_points": 5},
                   "default": {"batch_size": 512}},
        "sparse_parity": {"tiny": {"n_alpha": 5, "lmc_points": 5}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"digits": 82.9}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Parent, independent run (and other regime), spawned children per k, nudged continuations."""
        assert isinstance(config, StabilityConfig)
        params = config.task_params
        n = len(seeds)
        fractions = tuple(sorted(set(SPAWN_FRACTIONS) | {config.nudge_frac, 1.0}))
        parents = [base_member(config.task, s, params) for s in seeds]
        indep = [fresh_member(config.task, s, params, "D-indep") for s in seeds]
        n_jobs = 3 + len(SPAWN_FRACTIONS)
        main = train_task(config.task, config.arch, params, parents + indep, device=device, keep_checkpoints=True,
                          checkpoint_fractions=fractions, progress=sub_progress(progress, 0, 1 / n_jobs))
        rows = member_outputs(main)
        x_test, y_test = held_out(main)
        final = main.result.params
        diff_err = path_errors(main, _repeat(final, list(range(n))), _repeat(final, list(range(n, 2 * n))),
                               x_test, y_test, points=config.lmc_points)
        by_behaviour = config.task in POSITION_BY_BEHAVIOUR
        if by_behaviour:
            other_run = train_task(config.task, config.arch, {**params, "alpha": config.other_alpha}, parents,
                                   device=device, progress=sub_progress(progress, 1 / n_jobs, 2 / n_jobs))
            other_params = other_run.result.params
            b_other = behaviour_of(other_run)["behaviour"]
        else:
            other_params = _repeat(final, list(range(n, 2 * n)))
            b_other = np.array([rows[n + i]["behaviour"] for i in range(n)])
        outputs = []
        for i, seed in enumerate(seeds):
            out = {k: v for k, v in rows[i].items() if k not in ("pred_id", "rep")}
            out["seed"] = seed
            out["barrier_diff_init"] = lmc_barrier(diff_err[i])
            out["behaviour_other"] = float(b_other[i])
            outputs.append(out)
        # (1) spawning
        for j, k in enumerate(SPAWN_FRACTIONS):
            children = [replace(parents[i], data_seed=derive_seed(seeds[i], f"D-child-{tag}-{k}"))
                        for i in range(n) for tag in ("a", "b")]
            start = _repeat(main.result.checkpoints[k], [i for i in range(n) for _ in range(2)])
            run = _continue(config, params, children, start, k, device=device,
                            progress=sub_progress(progress, (2 + j) / n_jobs, (3 + j) / n_jobs))
            a, b = _repeat(run.result.params, list(range(0, 2 * n, 2))), _repeat(run.result.params, list(range(1, 2 * n, 2)))
            err = path_errors(run, a, b, x_test, y_test, points=config.lmc_points)
            beh = behaviour_of(run)["behaviour"]
            for i in range(n):
                outputs[i][f"barrier_k{k:g}"] = lmc_barrier(err[i])
                outputs[i][f"child_gap_k{k:g}"] = float(abs(beh[2 * i] - beh[2 * i + 1]))
        # (2) nudge-and-return
        alphas = np.linspace(0.0, 1.0, config.n_alpha)
        mid = main.result.checkpoints[config.nudge_frac]
        start = {key: torch.stack([torch.lerp(mid[key][i], other_params[key][i].to(mid[key].dtype), float(a))
                                   for i in range(n) for a in alphas]) for key in mid}
        nudged = _continue(config, params, [parents[i] for i in range(n) for _ in alphas], start, config.nudge_frac,
                           device=device, progress=sub_progress(progress, (n_jobs - 1) / n_jobs, 1.0))
        # Cluster A is the α = 0 continuation (the same restart without a nudge), so the restart itself
        # (fresh optimizer moments, new epoch order) is not mistaken for a nudge effect.
        if by_behaviour:
            b_end = behaviour_of(nudged)["behaviour"].reshape(n, len(alphas))
            b_ref = b_end[:, 0]
            d_a, d_b = np.abs(b_end - b_ref[:, None]), np.abs(b_end - b_other[:, None])
            gaps = np.abs(b_ref - b_other)
        elif config.task in POSITION_BY_BASIN:
            d_a, d_b = _basin_distances(config, nudged, other_params, n, len(alphas), x_test, y_test)
            gaps = d_b[:, 0]
        else:
            pred_end = predict(nudged, nudged.data.x_ood).reshape(n, len(alphas), -1)
            pred_b = [rows[n + i]["pred_ood"] for i in range(n)]
            d_a = np.array([[disagreement(pred_end[i, j], pred_end[i, 0]) for j in range(len(alphas))]
                            for i in range(n)])
            d_b = np.array([[disagreement(pred_end[i, j], pred_b[i]) for j in range(len(alphas))]
                            for i in range(n)])
            gaps = np.array([disagreement(pred_end[i, 0], pred_b[i]) for i in range(n)])
        positions = snap_position(d_a, d_b)
        for i in range(n):
            valid = bool(gaps[i] > config.min_gap)
            outputs[i].update({
                "cluster_gap": float(gaps[i]), "valid": valid, "positions": positions[i].astype(float),
                "alphas": alphas.astype(float),
                "snap": snap_fraction(positions[i, 1:], margin=config.margin) if valid else float("nan"),
                "sharpness": step_sharpness(alphas, positions[i]) if valid else float("nan"),
            })
            outputs[i].pop("pred_ood", None)
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Snap fraction over valid seeds (bootstrap CI), sharpness, barriers and basin agreement per k."""
        assert isinstance(config, StabilityConfig)
        outputs = sorted_outputs(outputs)
        if len(outputs) < 2:
            raise ValueError("concept D needs at least 2 seeds")
        snaps = np.array([o["snap"] for o in outputs], dtype=float)
        valid = snaps[np.isfinite(snaps)]
        statistic = float(valid.mean()) if valid.size else float("nan")
        low, high = ci(valid, lambda v: float(np.mean(v)), config=config, seed=bootstrap_seed) if valid.size else (
            float("nan"), float("nan"))
        barrier = {f"{k:g}": np.array([o[f"barrier_k{k:g}"] for o in outputs], dtype=float) for k in SPAWN_FRACTIONS}
        sharp = np.array([o["sharpness"] for o in outputs], dtype=float)
        positions = np.stack([np.asarray(o["positions"], dtype=float) for o in outputs])
        alphas = np.asarray(outputs[0]["alphas"], dtype=float)
        frame = frame_from_outputs(outputs)
        details = {
            "snap_fraction": finite(statistic),
            "barrier_same_init": float(barrier["0"].mean()),
            "barrier_diff_init": float(np.mean([o["barrier_diff_init"] for o in outputs])),
            "barrier_by_k": {k: float(v.mean()) for k, v in barrier.items()},
            "agreement_by_k": {k: float((v <= config.basin_eps).mean()) for k, v in barrier.items()},
            "child_behaviour_gap_by_k": {f"{k:g}": float(np.mean([o[f"child_gap_k{k:g}"] for o in outputs]))
                                         for k in SPAWN_FRACTIONS},
            "sharpness": finite(np.nanmean(sharp)) if np.isfinite(sharp).any() else None,
            "position_by_alpha": {f"{a:.3g}": float(positions[:, j].mean()) for j, a in enumerate(alphas)},
            "n_valid_seeds": int(valid.size),
            "n_interventions": int(valid.size * (alphas.size - 1)),
            "position_from": position_from(config.task),
            "margin": config.margin,
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        return frame, Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour, curves, the key plot (final position u against α) and the barrier against k."""
        import matplotlib.pyplot as plt

        assert isinstance(config, StabilityConfig)
        outputs = sorted_outputs(outputs)
        out_dir = Path(out_dir)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        alphas = np.asarray(outputs[0]["alphas"], dtype=float)
        pos = np.stack([np.asarray(o["positions"], dtype=float) for o in outputs])
        for row in pos:
            ax.plot(alphas, row, color="#3465a4", alpha=0.35, marker="o", markersize=3, linewidth=0.8)
        ax.plot(alphas, pos.mean(axis=0), color="black", linewidth=2, label="mean")
        ax.axhspan(0, config.margin, color="#73d216", alpha=0.15, label="snap zones")
        ax.axhspan(1 - config.margin, 1, color="#73d216", alpha=0.15)
        ax.set_xlabel("nudge α toward the other cluster")
        ax.set_ylabel("final position u (0 = own, 1 = other)")
        ax.set_title(f"D: nudge-and-return, snap fraction {result.statistic:.2f}")
        ax.legend(fontsize=8)
        key = save_figure(fig, out_dir / "key_position_vs_alpha.png")
        fig, ax = plt.subplots(figsize=(6, 3.4))
        ks = list(result.details["barrier_by_k"])
        ax.plot([float(k) for k in ks], [result.details["barrier_by_k"][k] for k in ks], marker="o",
                label="children barrier")
        ax.axhline(result.details["barrier_diff_init"], color="grey", linestyle="--", label="different init")
        ax.set_xlabel("spawn point k (fraction of training)")
        ax.set_ylabel("LMC error barrier")
        ax.set_title("D: spawning (instability analysis)")
        ax.legend(fontsize=8)
        spawn = save_figure(fig, out_dir / "spawn_barrier_vs_k.png")
        label = get_task(config.task).behaviour_name
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            key,
            spawn,
        ]


PROTOCOL = PROTOCOLS["D"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept D in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
