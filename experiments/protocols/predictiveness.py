"""Concept E, predictive power of the mid-training model.

Can we pause training and predict which final cluster a run will end in? Every seed is trained
once with checkpoints at 5, 10, 25 and 50% of training. At each checkpoint the predictors are the
task's behaviour scalar and its task-specific extras at that moment (modadd: distance irrelevance;
lms: ID and S^c-randomized AUC; sparse_parity: weight mass on the relevant bits and the loss-drop
time so far), the parameter norm, and the held-out accuracy. The outcome is the final behaviour
scalar, split into two clusters by Otsu's 1-D two-means criterion (the "final cluster"; e.g. Clock
vs Pizza on modadd, early vs late grokkers on sparse_parity). An L2 logistic regression on the
standardised predictors is scored by leave-pair-out AUROC (every positive/negative pair of seeds is
held out in turn; Airola et al. 2011 — plain leave-one-out is biased against small clusters); the
continuous final behaviour is also predicted (leave-one-out ridge R²). This follows the early-prediction
design of Zhong et al. (2023, "The Clock and the Pizza", NeurIPS) and Barak et al. (2022, "Hidden
Progress in Deep Learning", NeurIPS), where mid-training progress measures foreshadow the final
mechanism or the timing of the loss drop.

Statistic ``auroc_25`` (name owned by ``experiments.concepts``): the leave-pair-out AUROC of the 25%
checkpoint. Orientation: **higher = the final cluster is already determined by the 25% model**. The
essay lists "mid-training assessments are highly predictive of the final model" under *maximum* path
dependence (§E, §I): when the path commits early, the outcome is readable early, so a predictive
mid-training model counts as more path dependence. (Before this orientation was fixed the statistic
was ``one_minus_auroc_25 = 1 − auroc_25``; ``experiments.concepts.migrate_criterion`` rewrites old
criteria.) ``details`` also reports the full ``auroc_by_checkpoint``. The CI is a percentile
bootstrap over seeds of the leave-pair-out outcomes (the fits are not repeated inside the bootstrap).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import plots
from experiments.evaluation import TaskRun, member_outputs, train_task
from experiments.metrics_extra import loo_r2, lpo_auroc_pairs, two_cluster_split
from experiments.mltasks import get_task
from experiments.params import ParamDef
from experiments.protocols._shared import (
    behaviour_at,
    ci,
    finite,
    held_out,
    predict,
    save_figure,
    sorted_outputs,
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

PREDICT_FRACTIONS = (0.05, 0.1, 0.25, 0.5)


@dataclass(frozen=True)
class PredictivenessConfig(ProtocolConfig):
    """Protocol E settings (task parameters live in ``params``)."""

    logistic_c: float = 1.0
    """Inverse L2 strength of the leave-one-out logistic regression."""


@register_protocol
class Predictiveness(Protocol):
    concept = "E"
    title = "Predictive power of the mid-training model"
    tasks = ("modadd", "sparse_parity", "digits", "lms")
    base_checkpoints = (0.0, *PREDICT_FRACTIONS, 1.0)
    Config = PredictivenessConfig
    protocol_params = {
        **COMMON_PROTOCOL_PARAMS,
        "logistic_c": ParamDef("logistic_c", "float", 1.0, 1e-3, 1e3, doc="inverse L2 strength of the logistic fit"),
    }
    min_seeds = 6
    seeds = {"tiny": (8, 16), "default": (32, 64)}
    task_presets = {
        "modadd": {"tiny": {"steps": 100, "width": 16, "p": 11}},
        "sparse_parity": {"tiny": {"steps": 150, "width": 32, "n_train": 512}},
        "digits": {"tiny": {"steps": 100, "width": 16}},
        "lms": {"tiny": {"steps": 100, "width": 16}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"sparse_parity": 24.9, "digits": 30.3, "lms": 43.4}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train every seed once; record the predictors at each checkpoint and the final behaviour."""
        run = train_task(config.task, config.arch, config.task_params, seeds, device=device, progress=progress,
                         keep_checkpoints=True, checkpoint_fractions=self.base_checkpoints)
        return self.outputs_from_base(config, run, device=device)

    def outputs_from_base(self, config: ProtocolConfig, run: TaskRun, *, device: str = "auto",
                          progress: Progress | None = None) -> list[dict[str, Any]]:
        """Predictors at each checkpoint and the final behaviour, read off a trained base ensemble that
        kept checkpoints at (at least) ``base_checkpoints``."""
        rows = member_outputs(run)
        x_test, y_test = held_out(run)
        y_np = y_test.numpy()
        outputs = [{k: v for k, v in row.items() if k not in ("pred_id", "pred_ood", "rep")} for row in rows]
        for frac in PREDICT_FRACTIONS:
            ckpt = run.result.checkpoints[frac]
            beh = behaviour_at(run, frac)
            norm = np.sqrt(sum(v.double().pow(2).flatten(1).sum(1).numpy() for v in ckpt.values()))
            pred = predict(run, x_test, ckpt)
            acc = (pred == y_np.reshape(1, -1) if run.data.loss == "ce" else
                   pred == (y_np.reshape(1, -1) > 0)).mean(axis=1)
            names = sorted(beh)
            feats = np.stack([np.asarray(beh[k], dtype=float) for k in names] + [norm, acc], axis=1)
            for i, out in enumerate(outputs):
                out[f"predictors_{frac:g}"] = np.nan_to_num(feats[i], nan=0.0, posinf=0.0, neginf=0.0)
                out[f"behaviour_{frac:g}"] = float(beh["behaviour"][i])
            for out in outputs:
                out["predictor_names"] = ",".join(names + ["weight_norm", "heldout_acc"])
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Leave-pair-out AUROC (and R²) of the final cluster from each checkpoint; AUROC at 25% with CI."""
        assert isinstance(config, PredictivenessConfig)
        outputs = sorted_outputs(outputs)
        if len(outputs) < 4:
            raise ValueError("concept E needs at least 4 seeds for leave-one-out prediction")
        final = np.array([o["behaviour"] for o in outputs], dtype=float)
        labels, threshold = two_cluster_split(final)
        pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        aurocs, r2s, pairs_by = {}, {}, {}
        for frac in PREDICT_FRACTIONS:
            x = np.stack([np.asarray(o[f"predictors_{frac:g}"], dtype=float) for o in outputs])
            pairs_by[frac] = lpo_auroc_pairs(x, labels, c=config.logistic_c) if pos.size and neg.size else None
            aurocs[f"{frac:g}"] = finite(pairs_by[frac].mean()) if pairs_by[frac] is not None else None
            r2s[f"{frac:g}"] = finite(loo_r2(x, final))
        w25 = pairs_by[0.25]

        def auc(idx: np.ndarray) -> float:
            counts = np.bincount(idx, minlength=len(outputs)).astype(float)
            cp, cn = counts[pos], counts[neg]
            if w25 is None or cp.sum() == 0 or cn.sum() == 0:
                return float("nan")
            return float(cp @ w25 @ cn / (cp.sum() * cn.sum()))

        index = np.arange(len(outputs))
        statistic = auc(index)
        low, high = ci(index, auc, config=config, seed=bootstrap_seed)
        frame = frame_from_outputs(outputs).drop(columns=["predictor_names"])
        frame["final_cluster"] = labels
        details = {
            "auroc_by_checkpoint": aurocs,
            "auroc_25": finite(statistic),
            "r2_by_checkpoint": r2s,
            "cluster_threshold": threshold,
            "cluster_sizes": [int((labels == 0).sum()), int((labels == 1).sum())],
            "predictors": outputs[0]["predictor_names"].split(","),
            "behaviour_name": get_task(config.task).behaviour_name,
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        return frame, Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Final behaviour, curves, and the key plot: LOO AUROC (and R²) against training fraction."""
        import matplotlib.pyplot as plt

        out_dir = Path(out_dir)
        outputs = sorted_outputs(outputs)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        fr = [float(k) for k in result.details["auroc_by_checkpoint"]]
        auc = [np.nan if v is None else v for v in result.details["auroc_by_checkpoint"].values()]
        r2 = [np.nan if v is None else v for v in result.details["r2_by_checkpoint"].values()]
        ax.plot(fr, auc, marker="o", label="AUROC (final cluster)")
        ax.plot(fr, r2, marker="s", linestyle="--", label="R² (final behaviour)")
        ax.axhline(0.5, color="grey", linewidth=1, linestyle=":")
        ax.set_xscale("log")
        ax.set_xticks(fr, [f"{f:.0%}" for f in fr])
        ax.set_ylim(min(-0.05, np.nanmin(r2 + [0.0]) - 0.05), 1.05)
        ax.set_xlabel("checkpoint (fraction of training)")
        ax.set_ylabel("leave-one-out score")
        ax.set_title(f"E: predicting the final cluster ({len(outputs)} seeds)")
        ax.legend(fontsize=8)
        label = get_task(config.task).behaviour_name
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            save_figure(fig, out_dir / "key_auroc_vs_fraction.png"),
        ]


PROTOCOL = PROTOCOLS["E"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept E in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
