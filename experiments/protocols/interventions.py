"""Concept F, sensitivity to early interventions: the same intervention early, late, or never.

Every seed is trained three times with the same init and data order — without intervention, with
the intervention in an early window ``[0, duration)`` and with it in a late window
``[late_start, late_start + duration)`` (fractions of training) — and the final behaviour scalars
are compared, paired by seed. This is the critical-period design of Achille, Rovere & Soatto (2019),
"Critical Learning Periods in Deep Networks" (ICLR: a temporary deficit early leaves a permanent
mark, the same deficit late does not) and of Kleinman, Achille & Soatto (2024), "Critical Learning
Periods Emerge Even in Deep Linear Networks" (ICLR, Sec. 4: an early deficit to one pathway hands
the shared feature to the other). Interventions (``intervention = auto`` picks the first per task):

- ``blur`` (digits): inputs 2×2-average-pooled and upsampled (the 8×8 analogue of Achille's blur);
- ``counterexamples`` (digits): ``inject_frac`` of each batch replaced by noisy copies (σ = the task's
  OOD ``noise``) with correct labels; (lms): ``inject_frac`` of each batch with the linear coordinate's
  sign flipped, so the slabs are the only consistent rule (Shah et al. 2020's simplicity bias);
- ``regime`` (modadd): attention rate switched to ``other_alpha`` (Zhong et al. 2023: 0 = Pizza);
- ``block`` (two_pathway): view B's input set to zero (a deficit to pathway B);
- ``mask`` (sparse_parity): the k relevant bits of every batch redrawn at random, so the labels carry
  no information about the input — Achille et al.'s sensory deficit (the signal withheld, the input
  statistics kept). Barak et al. (2022) show that SGD makes steady "hidden progress" on the relevant
  bits long before the loss drops; a deficit that only paused that progress would delay the drop by
  exactly the window. F therefore compares the loss-drop time counted in steps *outside* the window
  (``visible_drop_fraction``; the raw drop fractions are kept as ``loss_drop_fraction_*``): a pure
  pause scores 0, and a higher statistic means that withholding the signal early moved the drop
  (earlier or later) beyond the lost time more than the same deficit late — the progress made (or
  missed) early shaped what followed, a critical period. A late window after the drop cannot move it.

Statistic ``early_late_effect``: ``(|mean_s(b_early − b_never)| − |mean_s(b_late − b_never)|) /
max(SD_s(b_never), sd_floor)``. **Higher = an early intervention changes the final model more than
the same intervention late, relative to seed-to-seed variation = more path-dependent**; ≈ 0 when
the timing does not matter. The CI is a percentile bootstrap over seeds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from experiments import plots
from experiments.evaluation import TaskRun, member_outputs, train_task
from experiments.metrics_extra import standardized_effect
from experiments.mltasks import get_task
from experiments.params import ParamDef, SpecError
from experiments.protocols._shared import base_member, ci, save_figure, sorted_outputs, sub_progress
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
from experiments.trainer import Hooks, Member, derive_seed

INTERVENTIONS = {
    "digits": ("blur", "counterexamples"),
    "lms": ("counterexamples",),
    "modadd": ("regime",),
    "sparse_parity": ("mask",),
    "two_pathway": ("block",),
}
ARMS = ("never", "early", "late")
# Tasks whose behaviour is a time (sparse_parity's loss drop); F counts it outside the window.
DROP_TIME_TASKS = ("sparse_parity",)


@dataclass(frozen=True)
class InterventionsConfig(ProtocolConfig):
    """Protocol F settings (task parameters live in ``params``)."""

    intervention: str = "auto"
    """"auto" (the task's first), or one of INTERVENTIONS[task]."""
    duration: float = 0.25
    """Length of the intervention window, fraction of training."""
    late_start: float = 0.5
    """Start of the late window, fraction of training (the early window starts at 0)."""
    inject_frac: float = 0.25
    """counterexamples: share of each batch replaced."""
    other_alpha: float = 0.0
    """regime (modadd): attention rate during the window."""
    sd_floor: float = 0.01
    """Lower bound on the seed SD that scales the effect (behaviour units)."""


def outcome_name(task: str) -> str:
    """What F compares between the arms on ``task``."""
    return "loss-drop time (outside window)" if task in DROP_TIME_TASKS else get_task(task).behaviour_name


def chosen_intervention(config: InterventionsConfig) -> str:
    return INTERVENTIONS[config.task][0] if config.intervention == "auto" else config.intervention


def blur(x: torch.Tensor) -> torch.Tensor:
    """8×8 images ``[..., 64]`` average-pooled 2×2 and upsampled back (nearest)."""
    shape = x.shape
    img = x.reshape(-1, 1, 8, 8)
    low = F.avg_pool2d(img, 2)
    return F.interpolate(low, scale_factor=2, mode="nearest").reshape(shape)


def visible_drop_fraction(drop: float, window: tuple[int, int], steps: int) -> float:
    """sparse_parity's loss-drop fraction counted in steps outside the intervention window.

    A window that only paused learning delays the drop by its own length and leaves this unchanged;
    a drop that never happened (1.0) stays 1.0.
    """
    if drop >= 1.0:
        return 1.0
    at = drop * steps
    lost = max(0.0, min(at, window[1]) - window[0])
    return (at - lost) / steps


def member_noise(members: Sequence[Member], step: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normal noise ``[S, *shape]`` from each member's own seed and the step (float64, CPU), so a
    seed's batches never depend on which other seeds share its chunk."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(derive_seed(m.seed, f"F-{step}")),
                                    dtype=torch.float64) for m in members])


def mask_relevant(x: torch.Tensor, k: int, step: int, members: Sequence[Member]) -> torch.Tensor:
    """sparse_parity batches ``[S, B, n]`` with the k relevant bits redrawn at random (±1, or 0/1 tokens)."""
    coin = member_noise(members, step, tuple(x[0, :, :k].shape)).to(x.device) > 0
    bits = torch.where(coin, 1, -1) if x.is_floating_point() else (~coin).to(torch.int64)
    return torch.cat([bits.to(x.dtype), x[..., k:]], dim=-1)


def make_hooks(config: InterventionsConfig, window: tuple[int, int], params: dict[str, Any]) -> Hooks:
    """Hooks that apply the chosen intervention on steps ``window[0] ≤ step < window[1]``."""
    kind = chosen_intervention(config)
    lo, hi = window

    def active(step: int) -> bool:
        return lo <= step < hi

    if kind == "regime":
        return Hooks(model_kwargs=lambda step: {"alpha": config.other_alpha} if active(step) else {})

    def transform(step: int, x: torch.Tensor, y: torch.Tensor, members: Sequence[Member]) -> tuple[torch.Tensor, torch.Tensor]:
        if not active(step):
            return x, y
        if kind == "blur":
            return blur(x), y
        if kind == "block":
            d_view = x.shape[-1] // 2
            return torch.cat([x[..., :d_view], torch.zeros_like(x[..., d_view:])], dim=-1), y
        if kind == "mask":
            return mask_relevant(x, params["k"], step, members), y
        count = max(1, int(round(config.inject_frac * x.shape[1])))
        if config.task == "lms":
            flipped = x[:, :count].clone()
            flipped[..., 0] = -flipped[..., 0]
            return torch.cat([flipped, x[:, count:]], dim=1), y
        noise = member_noise(members, step, tuple(x[0, :count].shape)).to(device=x.device, dtype=x.dtype)
        return torch.cat([x[:, :count] + params["noise"] * noise, x[:, count:]], dim=1), y

    return Hooks(batch_transform=transform)


@register_protocol
class Interventions(Protocol):
    concept = "F"
    title = "Sensitivity to early interventions"
    tasks = ("digits", "lms", "modadd", "sparse_parity", "two_pathway")
    Config = InterventionsConfig
    protocol_params = {
        **COMMON_PROTOCOL_PARAMS,
        "intervention": ParamDef("intervention", "enum", "auto",
                                 choices=("auto", "blur", "counterexamples", "regime", "block", "mask"),
                                 doc="which intervention (auto: the task's first)"),
        "duration": ParamDef("duration", "float", 0.25, 0.02, 0.4, doc="window length, fraction of training"),
        "late_start": ParamDef("late_start", "float", 0.5, 0.3, 0.75, doc="late window start, fraction of training"),
        "inject_frac": ParamDef("inject_frac", "float", 0.25, 0.01, 1.0, doc="counterexamples: share of each batch"),
        "other_alpha": ParamDef("other_alpha", "float", 0.0, 0.0, 1.0, doc="modadd: attention rate in the window"),
        "sd_floor": ParamDef("sd_floor", "float", 0.01, 1e-6, 1.0, doc="floor on the seed SD"),
    }
    seeds = {"tiny": (4, 8), "default": (32, 64)}
    cost_multiplier = 3.0
    task_presets = {
        "digits": {"tiny": {"steps": 100, "width": 16}},
        "lms": {"tiny": {"steps": 100, "width": 16}},
        "modadd": {"tiny": {"steps": 80, "width": 16, "p": 11}},
        "sparse_parity": {"tiny": {"steps": 300}},
        "two_pathway": {"tiny": {"steps": 200}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"digits": 54.2, "lms": 73.3, "two_pathway": 19.8}

    def validate(self, task: str, params: Any) -> None:
        super().validate(task, params)
        kind = params["intervention"]
        if kind != "auto" and kind not in INTERVENTIONS[task]:
            raise SpecError("params.intervention", f"{kind!r} is not available on {task}; allowed: "
                                                   f"auto, {', '.join(INTERVENTIONS[task])}")
        if params["duration"] > params["late_start"] or params["late_start"] + params["duration"] > 1.0:
            raise SpecError("params.duration", f"windows [0, {params['duration']:g}) and [{params['late_start']:g}, "
                                               f"{params['late_start'] + params['duration']:g}) must not overlap "
                                               f"and must end by 1")

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train the never / early / late arms of every seed (same init and data order)."""
        assert isinstance(config, InterventionsConfig)
        params = config.task_params
        steps = params["steps"]
        width = max(1, int(round(config.duration * steps)))
        late = int(round(config.late_start * steps))
        windows = {"never": (0, 0), "early": (0, width), "late": (late, late + width)}
        members = [base_member(config.task, s, params) for s in seeds]
        runs: dict[str, TaskRun] = {}
        for j, arm in enumerate(ARMS):
            runs[arm] = train_task(config.task, config.arch, params, members, device=device,
                                   hooks=make_hooks(config, windows[arm], params),
                                   progress=sub_progress(progress, j / 3, (j + 1) / 3))
        rows = {arm: member_outputs(run) for arm, run in runs.items()}
        if config.task in DROP_TIME_TASKS:
            for arm, arm_rows in rows.items():
                for row in arm_rows:
                    row["loss_drop_fraction"] = row["behaviour"]
                    row["behaviour"] = visible_drop_fraction(row["behaviour"], windows[arm], steps)
        outputs = []
        for i, seed in enumerate(seeds):
            out = {k: v for k, v in rows["never"][i].items() if k not in ("pred_id", "pred_ood", "rep")}
            out["seed"] = seed
            for arm in ("early", "late"):
                out[f"behaviour_{arm}"] = float(rows[arm][i]["behaviour"])
                out[f"id_acc_{arm}"] = float(rows[arm][i]["id_acc"])
                for key in ("relevant_weight_mass", "loss_drop_fraction"):
                    if key in rows[arm][i]:
                        out[f"{key}_{arm}"] = float(rows[arm][i][key])
            outputs.append(out)
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Paired early/late effects on the final behaviour in seed SDs, with a bootstrap CI."""
        assert isinstance(config, InterventionsConfig)
        outputs = sorted_outputs(outputs)
        if len(outputs) < 3:
            raise ValueError("concept F needs at least 3 seeds")
        b = np.array([[o["behaviour"], o["behaviour_early"], o["behaviour_late"]] for o in outputs], dtype=float)

        def stat(values: np.ndarray) -> float:
            return standardized_effect(values[:, 1], values[:, 2], values[:, 0], sd_floor=config.sd_floor)[0]

        statistic, eff_early, eff_late = standardized_effect(b[:, 1], b[:, 2], b[:, 0], sd_floor=config.sd_floor)
        low, high = ci(b, stat, config=config, seed=bootstrap_seed)
        details = {
            "early_late_effect": statistic,
            "intervention": chosen_intervention(config),
            "effect_early": eff_early,
            "effect_late": eff_late,
            "sd_never": float(b[:, 0].std(ddof=1)),
            "behaviour_mean": {arm: float(b[:, j].mean()) for j, arm in enumerate(ARMS)},
            "windows": {"early": [0.0, config.duration], "late": [config.late_start, config.late_start + config.duration]},
            "behaviour_name": outcome_name(config.task),
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        return frame_from_outputs(outputs), Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour, curves, and the key plot: final behaviour by intervention time, paired by seed."""
        import matplotlib.pyplot as plt

        outputs = sorted_outputs(outputs)
        out_dir = Path(out_dir)
        b = np.array([[o["behaviour"], o["behaviour_early"], o["behaviour_late"]] for o in outputs], dtype=float)
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        xs = np.arange(3)
        for row in b[:64]:
            ax.plot(xs, row, color="#3465a4", alpha=0.3, marker="o", markersize=3, linewidth=0.8)
        ax.errorbar(xs, b.mean(axis=0), yerr=b.std(axis=0, ddof=1) if len(b) > 1 else None, color="black",
                    linewidth=2, capsize=4, label="mean ± SD")
        ax.set_xticks(xs, ["never", "early", "late"])
        label = outcome_name(config.task)
        ax.set_ylabel(f"final {label}")
        ax.set_title(f"F: {result.details['intervention']} — effect {result.statistic:.2f} SD")
        ax.legend(fontsize=8)
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            save_figure(fig, out_dir / "key_behaviour_by_time.png"),
        ]


PROTOCOL = PROTOCOLS["F"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept F in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
