"""Concept C, distinct clusters: the minority-cluster fraction of a per-seed behaviour scalar.

Train S ≥ 40 seeds in the regime under test and the same seeds in a control regime that should not
be bimodal (each task's ``control`` overrides, e.g. modadd with constant attention α = 0, which
learns only "Pizza"). Bimodality of the behaviour scalar is judged two ways, as the Clock/Pizza
study did for its algorithm metrics (Zhong et al. 2023, "The Clock and the Pizza", Sec. 5):
Hartigan's dip test (Hartigan & Hartigan 1985) and the BIC difference between 1- and 2-component
Gaussian mixtures (Schwarz 1978), each reported for the test and the control regime, since the dip
test is fooled by a spike next to a tail and mixtures over-split a single skewed phase.

Statistic ``minority_fraction``: the share of seeds in the smaller mixture component when the
test regime's ΔBIC exceeds ``bic_threshold`` (10 = "very strong", Kass & Raftery 1995), else 0.
**Higher = a larger share of runs lands in a second, distinct solution = more path-dependent**
(0: one cluster; 0.5: two equal clusters). The CI is a percentile bootstrap over seeds (the whole
decision, including the ΔBIC gate, is redone on each resample).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments import plots  # noqa: E402
from experiments.evaluation import TaskRun, member_outputs, train_task  # noqa: E402
from experiments.metrics import (  # noqa: E402
    bootstrap_ci,
    dip_test,
    gmm_1d,
    gmm_delta_bic,
    minority_fraction,
    minority_fraction_batch,
)
from experiments.mltasks import get_task  # noqa: E402
from experiments.params import ParamDef  # noqa: E402
from experiments.protocols.base import (  # noqa: E402
    COMMON_PROTOCOL_PARAMS,
    PROTOCOLS,
    Progress,
    Protocol,
    ProtocolConfig,
    Result,
    frame_from_outputs,
    register_protocol,
)


@dataclass(frozen=True)
class ClustersConfig(ProtocolConfig):
    """Concept C config."""

    bic_threshold: float = 10.0
    """ΔBIC (1 vs 2 components) above which the test regime counts as two clusters."""


def _scaled(progress: Progress | None, start: float, width: float, label: str) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction, message: progress(start + width * fraction, f"{label}: {message}")


@register_protocol
class Clusters(Protocol):
    concept = "C"
    title = "Distinct clusters"
    tasks = ("modadd", "digits", "lms", "gotu", "sparse_parity", "two_pathway")
    Config = ClustersConfig
    protocol_params = {**COMMON_PROTOCOL_PARAMS, "bic_threshold": ParamDef(
        "bic_threshold", "float", 10.0, 0.0, 100.0, doc="ΔBIC needed to call the test regime two clusters")}
    min_seeds = 4
    seeds = {"tiny": (12, 24), "default": (48, 96)}
    cost_multiplier = 2.0
    task_presets = {"modadd": {"tiny": {"alpha": 1.0}, "default": {"alpha": 1.0}}}
    cpu_seconds: dict[str, float] = {}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train each seed in the test regime and in the task's control regime."""
        test = train_task(config.task, config.arch, config.task_params, seeds, device=device,
                          progress=_scaled(progress, 0.0, 0.5, "test regime"))
        return self.outputs_from_base(config, test, device=device, progress=_scaled(progress, 0.5, 0.5, "control regime"))

    def outputs_from_base(self, config: ProtocolConfig, test: TaskRun, *, device: str = "auto",
                          progress: Progress | None = None) -> list[dict[str, Any]]:
        """Per-seed outputs from the trained test regime (the survey's shared base ensemble) plus the
        control regime, which is trained here for the same seeds."""
        task = get_task(config.task)
        seeds = [m.seed for m in test.result.members]
        control = train_task(config.task, config.arch, {**config.task_params, **task.control}, seeds, device=device,
                             progress=progress)
        control_behaviour = task.behaviour(control.model, control.result, control.data, control.params,
                                           device=control.device)["behaviour"]
        outputs = member_outputs(test)
        for i, out in enumerate(outputs):
            out.pop("rep")
            out["behaviour_control"] = float(control_behaviour[i])
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Dip test and ΔBIC for test and control, the minority fraction and its bootstrap CI."""
        outputs = sorted(outputs, key=lambda o: o["seed"])
        if len(outputs) < self.min_seeds:
            raise ValueError(f"concept C needs at least {self.min_seeds} seeds")
        x = np.array([o["behaviour"] for o in outputs], dtype=float)
        xc = np.array([o["behaviour_control"] for o in outputs], dtype=float)
        threshold = config.bic_threshold

        stat = minority_fraction(x, bic_threshold=threshold)
        low, high = bootstrap_ci(x, lambda v: minority_fraction_batch(v, bic_threshold=threshold),
                                 n_resamples=config.n_boot, confidence=config.confidence, seed=bootstrap_seed,
                                 batched=True)
        dip, dip_p = dip_test(x)
        dip_c, dip_p_c = dip_test(xc)
        bic_test, bic_control = gmm_delta_bic(x), gmm_delta_bic(xc)
        mixture = gmm_1d(x)
        frame = frame_from_outputs(outputs)
        frame["cluster"] = mixture["assign"] if np.ptp(x) > 0 else 0
        details = {
            "minority_fraction": stat,
            "dip_p": dip_p,
            "dip": dip,
            "dip_p_control": dip_p_c,
            "dip_control": dip_c,
            "delta_bic": bic_test - bic_control,
            "delta_bic_test": bic_test,
            "delta_bic_control": bic_control,
            "bic_threshold": threshold,
            "cluster_means": [float(m) for m in mixture["means"]],
            "cluster_weights": [float(w) for w in mixture["weights"]],
            "behaviour_name": get_task(config.task).behaviour_name,
            "control_overrides": dict(get_task(config.task).control),
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        return frame, Result(stat, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour distribution, training curves, and the key plot: test vs control with the mixture."""
        out_dir = Path(out_dir)
        label = get_task(config.task).behaviour_name
        x = frame["behaviour"].to_numpy(float)
        xc = frame["behaviour_control"].to_numpy(float)
        paths = [plots.behaviour_distribution(x, out_dir / "behaviour.png", label=label),
                 plots.training_curves(sorted(outputs, key=lambda o: o["seed"]), out_dir / "curves.png")]
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        both = np.concatenate([x, xc])
        bins = np.linspace(both.min(), both.max() + 1e-9, 30)
        ax.hist(x, bins=bins, density=True, alpha=0.6, color="#3465a4", label="test regime")
        ax.hist(xc, bins=bins, density=True, alpha=0.45, color="#cc7a00", label="control regime")
        if np.ptp(x) > 0:
            mix = gmm_1d(x)
            grid = np.linspace(bins[0], bins[-1], 400)
            dens = sum(w * np.exp(-0.5 * (grid - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
                       for w, m, v in zip(mix["weights"], mix["means"], mix["variances"]))
            ax.plot(grid, dens, color="black", linewidth=1.5, label="2-component mixture")
        d = result.details
        ax.set_title(f"minority {result.statistic:.2f} · dip p {d['dip_p']:.3f} (control {d['dip_p_control']:.3f})"
                     f" · ΔBIC {d['delta_bic_test']:.1f} vs {d['delta_bic_control']:.1f}", fontsize=9)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
        paths.append(plots.save_figure(fig, out_dir / "key_clusters.png"))
        return paths


PROTOCOL = PROTOCOLS["C"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept C in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
