"""Concept A, variance across runs: mean pairwise OOD disagreement between seeds.

Train S seeds of one setup and compare every pair on an in-distribution test set and on the task's
out-of-distribution probe, following the underspecification protocol of D'Amour et al. (2020),
"Underspecification Presents Challenges for Credibility in Modern Machine Learning" (JMLR 2022):
models that are equivalent in distribution (low ``Dis_ID``) but disagree off distribution (high
``Dis_OOD``, ratio ``R = Dis_OOD / Dis_ID``) are underspecified by the training process. Internal
variance is measured with linear CKA (Kornblith et al. 2019) between the seeds' last hidden layers.

Statistic ``dis_ood``: mean over unordered pairs of seeds of ``mean 1[argmax f ≠ argmax g]`` on the
OOD probe; **higher = runs differ more = more path-dependent**. The CI is a percentile bootstrap
over seeds (pairs of the same seed drawn twice are excluded).

Alternate resolving statistics (``Variance.alternate_statistics``; a market names one instead of
``dis_ood`` where every seed predicts alike off distribution, e.g. grokked modular addition), both
oriented the same way and both with a percentile bootstrap CI over the same seed resamples:

- ``behaviour_sd``: SD (ddof=1) across seeds of the task's behaviour scalar (``details.behaviour_spread.std``);
  seeds that end in different places (clock vs pizza) spread it out.
- ``cka_distance``: 1 − mean pairwise linear CKA of the seeds' last hidden layers (internal variance).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import plots
from experiments.evaluation import TaskRun, member_outputs, train_task
from experiments.metrics import bootstrap_ci, pairwise_disagreement, pairwise_linear_cka, pairwise_mean
from experiments.mltasks import get_task
from experiments.protocols.base import (
    PROTOCOLS,
    Progress,
    Protocol,
    ProtocolConfig,
    Result,
    frame_from_outputs,
    register_protocol,
)


def _stack(outputs: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.stack([np.asarray(o[key]) for o in outputs])


def sd_ddof1(values: np.ndarray) -> np.ndarray:
    """SD (ddof=1) over the last axis; 0 for a single value, NaN where a value is not finite."""
    values = np.asarray(values, dtype=float)
    if values.shape[-1] < 2:
        return np.zeros(values.shape[:-1])
    return values.std(axis=-1, ddof=1)


def spread(values: np.ndarray) -> dict[str, float]:
    """Mean, SD (ddof=1), IQR, min and max of a per-seed scalar."""
    values = np.asarray(values, dtype=float)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "iqr": float(q3 - q1), "min": float(values.min()), "max": float(values.max())}


@register_protocol
class Variance(Protocol):
    concept = "A"
    title = "Variance across runs"
    alternate_statistics = {
        "behaviour_sd": "SD (ddof=1) across seeds of the task's behaviour scalar; higher = seeds end in more "
                        "different places = more path-dependent.",
        "cka_distance": "1 − mean pairwise linear CKA of the seeds' last hidden layers; higher = the seeds' "
                        "internal representations differ more = more path-dependent.",
    }
    tasks = ("digits", "modadd", "lms", "gotu", "sparse_parity", "two_pathway")
    seeds = {"tiny": (6, 12), "default": (32, 64)}
    # Default presets on the shared 2-core CPU, one thread, measured under load (run_spec wall time);
    # modadd is an estimate from benchmarks/ensemble_training.py (it takes 39 s on one H200).
    cpu_seconds = {"digits": 34.0, "lms": 37.0, "gotu": 32.0, "sparse_parity": 25.0, "two_pathway": 16.0,
                   "modadd": 16_000.0}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train ``seeds`` as one ensemble; per seed: behaviour, predictions, representations, curves."""
        run = train_task(config.task, config.arch, config.task_params, seeds, device=device, progress=progress)
        return self.outputs_from_base(config, run, device=device)

    def outputs_from_base(self, config: ProtocolConfig, run: TaskRun, *, device: str = "auto",
                          progress: Progress | None = None) -> list[dict[str, Any]]:
        """Per-seed outputs read off a trained base ensemble (shared with C, E and G by the survey)."""
        return member_outputs(run)

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Pairwise disagreement (ID, OOD), their ratio, mean CKA and the behaviour spread."""
        outputs = sorted(outputs, key=lambda o: o["seed"])
        if len(outputs) < 2:
            raise ValueError("concept A needs at least 2 seeds")
        d_ood = pairwise_disagreement(_stack(outputs, "pred_ood"))
        d_id = pairwise_disagreement(_stack(outputs, "pred_id"))
        cka = pairwise_linear_cka(_stack(outputs, "rep"))
        dis_ood, dis_id = pairwise_mean(d_ood), pairwise_mean(d_id)
        low, high = bootstrap_ci(np.arange(len(outputs)), lambda idx: pairwise_mean(d_ood, idx),
                                 n_resamples=config.n_boot, confidence=config.confidence, seed=bootstrap_seed)
        behaviour = np.array([o["behaviour"] for o in outputs], dtype=float)
        alternates = self.alternate_values(config, behaviour, cka, bootstrap_seed=bootstrap_seed)
        frame = frame_from_outputs(outputs)
        off = ~np.eye(len(outputs), dtype=bool)
        frame["mean_dis_ood"] = [float(d_ood[i][off[i]].mean()) for i in range(len(outputs))]
        frame["mean_dis_id"] = [float(d_id[i][off[i]].mean()) for i in range(len(outputs))]
        frame["mean_cka"] = [float(cka[i][off[i]].mean()) for i in range(len(outputs))]
        details = {
            "dis_id": dis_id,
            "dis_ood": dis_ood,
            "R": dis_ood / dis_id if dis_id > 0 else None,
            "cka_mean": pairwise_mean(cka),
            "behaviour_name": get_task(config.task).behaviour_name,
            "behaviour_spread": spread(behaviour),
            "id_acc_mean": float(frame["id_acc"].mean()),
            "ood_acc_mean": float(frame["ood_acc"].mean()) if frame["ood_acc"].notna().any() else None,
            "n_seeds": len(outputs),
            "confidence": config.confidence,
            "alternates": {name: {"value": v, "ci_low": lo, "ci_high": hi} for name, (v, lo, hi) in alternates.items()},
            **{name: v for name, (v, _, _) in alternates.items()},  # by name, as dis_ood (the evidence panel)
        }
        return frame, Result(dis_ood, low, high, details, self.statistic_name, alternates)

    def alternate_values(self, config: ProtocolConfig, behaviour: np.ndarray, cka: np.ndarray, *,
                   bootstrap_seed: int = 0) -> dict[str, tuple[float, float, float]]:
        """``behaviour_sd`` and ``cka_distance`` with percentile-bootstrap CIs over seeds (same draws as
        the headline's: the same generator seed and the same number of seeds)."""
        behaviour = np.asarray(behaviour, dtype=float)
        sd_low, sd_high = bootstrap_ci(behaviour, sd_ddof1, n_resamples=config.n_boot,
                                       confidence=config.confidence, seed=bootstrap_seed, batched=True)
        index = np.arange(len(behaviour))
        cka_low, cka_high = bootstrap_ci(index, lambda idx: 1.0 - pairwise_mean(cka, idx), n_resamples=config.n_boot,
                                         confidence=config.confidence, seed=bootstrap_seed)
        return {"behaviour_sd": (float(sd_ddof1(behaviour)), sd_low, sd_high),
                "cka_distance": (1.0 - pairwise_mean(cka), cka_low, cka_high)}

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour distribution, training curves, and the key plot: the seed × seed Dis_OOD matrix."""
        outputs = sorted(outputs, key=lambda o: o["seed"])
        out_dir = Path(out_dir)
        label = get_task(config.task).behaviour_name
        seeds = [o["seed"] for o in outputs]
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            plots.matrix_heatmap(pairwise_disagreement(_stack(outputs, "pred_ood")), out_dir / "key_dis_ood.png",
                                 title=f"Pairwise OOD disagreement (mean {result.statistic:.3f})",
                                 label="Dis_OOD", seeds=seeds),
        ]


PROTOCOL = PROTOCOLS["A"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept A in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
