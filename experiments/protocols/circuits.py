"""Concept G, survival of circuits: do early representations and solved cases persist to the end?

Every seed is trained once with a fine checkpoint grid. Three measures, each per seed:

- **CKA(checkpoint, final)**: linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural
  Network Representations Revisited", ICML) between the last hidden layer on the probe set at each
  checkpoint and at the end of training; the headline uses the checkpoint at ``early_frac``.
- **retention** ``P(final correct | early correct)`` on the held-out test set: of the cases the
  early model solves, how many the final model still solves (the "forgetting events" view of
  Toneva et al. 2019, "An Empirical Study of Example Forgetting during Deep Neural Network
  Learning", ICLR).
- **modadd only, key-frequency Jaccard**: the key frequencies of the token embedding (the smallest set
  of Fourier frequencies carrying ``freq_mass`` of its non-constant power; Nanda et al. 2023,
  "Progress Measures for Grokking via Mechanistic Interpretability", ICLR; Zhong et al. 2023) at the
  first checkpoint whose held-out accuracy reaches 99%, against the final set. Seeds that never
  reach 99% are left out of it.

Statistic ``cka_early_final`` (name owned by ``experiments.concepts``): ``mean_s CKA(early, final)``.
Orientation: **higher = the early representation survives to the end of training**. The essay (§G)
says "more survival of circuits means higher path dependence": what was built early on this path is
still what the final model computes with. (Before this orientation was fixed the statistic was
``one_minus_cka = 1 − cka_early_final``; ``experiments.concepts.migrate_criterion`` rewrites old
criteria.) ``details`` also reports ``retention`` and, on modadd, ``jaccard`` (both higher = more
survival). The CI is a percentile bootstrap over seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import plots
from experiments.evaluation import TaskRun, member_outputs, train_task
from experiments.metrics import linear_cka
from experiments.metrics_extra import jaccard, key_frequencies, retention
from experiments.mltasks import get_task
from experiments.params import ParamDef, SpecError
from experiments.protocols._shared import ci, finite, held_out, predict, save_figure, sorted_outputs
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

G_FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
EARLY_CHOICES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
SOLVED_ACCURACY = 0.99


@dataclass(frozen=True)
class CircuitsConfig(ProtocolConfig):
    """Protocol G settings (task parameters live in ``params``)."""

    early_frac: float = 0.2
    """The "early" checkpoint, a fraction of training (one of EARLY_CHOICES)."""
    freq_mass: float = 0.8
    """modadd: share of the embedding's Fourier power the key-frequency set must carry."""


@register_protocol
class Circuits(Protocol):
    concept = "G"
    title = "Survival of circuits"
    tasks = ("digits", "modadd", "sparse_parity", "lms")
    base_checkpoints = G_FRACTIONS
    Config = CircuitsConfig
    protocol_params = {
        **COMMON_PROTOCOL_PARAMS,
        "early_frac": ParamDef("early_frac", "float", 0.2, 0.05, 0.5,
                               doc="early checkpoint: 0.05, 0.1, 0.2, 0.3, 0.4 or 0.5"),
        "freq_mass": ParamDef("freq_mass", "float", 0.8, 0.1, 1.0, doc="modadd: power share of the key frequencies"),
    }
    seeds = {"tiny": (4, 8), "default": (32, 64)}
    task_presets = {
        "digits": {"tiny": {"steps": 100, "width": 16}},
        "modadd": {"tiny": {"steps": 100, "width": 16, "p": 11}},
        "sparse_parity": {"tiny": {"steps": 100, "width": 32, "n_train": 512}},
        "lms": {"tiny": {"steps": 100, "width": 16}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"sparse_parity": 21.6, "digits": 82.7, "lms": 57.2}

    def validate(self, task: str, params: Any) -> None:
        super().validate(task, params)
        if not any(abs(params["early_frac"] - c) < 1e-9 for c in EARLY_CHOICES):
            raise SpecError("params.early_frac", f"{params['early_frac']} is not a checkpoint; allowed: "
                                                 f"{', '.join(f'{c:g}' for c in EARLY_CHOICES)}")

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train once; per seed CKA to the final model at every checkpoint, retention and key frequencies."""
        run = train_task(config.task, config.arch, config.task_params, seeds, device=device, progress=progress,
                         keep_checkpoints=True, checkpoint_fractions=self.base_checkpoints)
        return self.outputs_from_base(config, run, device=device)

    def outputs_from_base(self, config: ProtocolConfig, run: TaskRun, *, device: str = "auto",
                          progress: Progress | None = None) -> list[dict[str, Any]]:
        """CKA to the final model at every checkpoint, retention and key frequencies, read off a trained
        base ensemble that kept checkpoints at (at least) ``G_FRACTIONS``."""
        assert isinstance(config, CircuitsConfig)
        seeds = [m.seed for m in run.result.members]
        rows = member_outputs(run)
        x_test, y_test = held_out(run)
        y_np = y_test.numpy().reshape(-1)
        n = len(seeds)
        probe = run.data.probe

        def reps(params: Any) -> np.ndarray:
            return run.outputs(probe, params, features=True).reshape(n, probe.shape[0], -1).double().cpu().numpy()

        def correct(params: Any) -> np.ndarray:
            pred = predict(run, x_test, params)
            return pred == (y_np if run.data.loss == "ce" else (y_np > 0))

        final_reps, final_correct = reps(None), correct(None)
        cka = np.zeros((n, len(G_FRACTIONS)))
        acc = np.zeros((n, len(G_FRACTIONS)))
        early = min(G_FRACTIONS, key=lambda f: abs(f - config.early_frac))
        keys_final = None
        if config.task == "modadd":
            keys_final = [key_frequencies(run.result.params["W_E"][i].double().numpy(), mass=config.freq_mass)
                          for i in range(n)]
        first_solved: list[list[int] | None] = [None] * n
        early_correct = None
        for j, frac in enumerate(G_FRACTIONS):
            ckpt = run.result.checkpoints[frac]
            rep = reps(ckpt)
            cor = correct(ckpt)
            acc[:, j] = cor.mean(axis=1)
            for i in range(n):
                cka[i, j] = linear_cka(rep[i], final_reps[i])
                if keys_final is not None and first_solved[i] is None and acc[i, j] >= SOLVED_ACCURACY:
                    first_solved[i] = key_frequencies(ckpt["W_E"][i].double().numpy(), mass=config.freq_mass)
            if frac == early:
                early_correct = cor
        assert early_correct is not None
        outputs = []
        for i, seed in enumerate(seeds):
            out = {k: v for k, v in rows[i].items() if k not in ("pred_id", "pred_ood", "rep")}
            out["seed"] = seed
            out["cka_early_final"] = float(cka[i, G_FRACTIONS.index(early)])
            out["cka_by_checkpoint"] = cka[i]
            out["heldout_acc_by_checkpoint"] = acc[i]
            out["retention"] = retention(early_correct[i], final_correct[i])
            if keys_final is not None:
                out["n_key_frequencies"] = len(keys_final[i])
                out["jaccard"] = jaccard(first_solved[i], keys_final[i]) if first_solved[i] is not None else float("nan")
            outputs.append(out)
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Mean CKA(early, final) with a bootstrap CI; retention, Jaccard and the CKA curve."""
        outputs = sorted_outputs(outputs)
        if len(outputs) < 2:
            raise ValueError("concept G needs at least 2 seeds")
        cka = np.array([o["cka_early_final"] for o in outputs], dtype=float)
        statistic = float(cka.mean())
        low, high = ci(cka, lambda v: float(np.mean(v)), config=config, seed=bootstrap_seed)
        curve = np.stack([np.asarray(o["cka_by_checkpoint"], dtype=float) for o in outputs])
        ret = np.array([o["retention"] for o in outputs], dtype=float)
        details: dict[str, Any] = {
            "cka_early_final": statistic,
            "retention": finite(np.nanmean(ret)) if np.isfinite(ret).any() else None,
            "early_frac": float(config.early_frac),
            "cka_by_checkpoint": {f"{f:g}": float(v) for f, v in zip(G_FRACTIONS, curve.mean(axis=0))},
            "heldout_acc_by_checkpoint": {
                f"{f:g}": float(v) for f, v in
                zip(G_FRACTIONS, np.mean([o["heldout_acc_by_checkpoint"] for o in outputs], axis=0))},
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        if "jaccard" in outputs[0]:
            jac = np.array([o["jaccard"] for o in outputs], dtype=float)
            details["jaccard"] = finite(np.nanmean(jac)) if np.isfinite(jac).any() else None
            details["n_reached_99"] = int(np.isfinite(jac).sum())
        return frame_from_outputs(outputs), Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour, curves, and the key plot: CKA(checkpoint, final) over training."""
        import matplotlib.pyplot as plt

        outputs = sorted_outputs(outputs)
        out_dir = Path(out_dir)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for o in outputs[:64]:
            ax.plot(G_FRACTIONS, o["cka_by_checkpoint"], color="#3465a4", alpha=0.3, linewidth=0.8)
        mean = np.mean([o["cka_by_checkpoint"] for o in outputs], axis=0)
        ax.plot(G_FRACTIONS, mean, color="black", linewidth=2, label="mean")
        ax.axvline(float(result.details["early_frac"]), color="#cc7a00", linestyle="--", label="early checkpoint")
        ax.set_xlabel("fraction of training")
        ax.set_ylabel("linear CKA with the final model")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"G: survival of the representation ({len(outputs)} seeds)")
        ax.legend(fontsize=8)
        label = get_task(config.task).behaviour_name
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            save_figure(fig, out_dir / "key_cka_over_training.png"),
        ]


PROTOCOL = PROTOCOLS["G"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept G in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
