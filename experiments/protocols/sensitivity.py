"""Concept B, sensitivity to small changes in the training setup.

For every seed, a *reference* run is compared with runs that change exactly one thing (Summers &
Dinneen 2021, "Nondeterminism and Instability in Neural Network Optimization", ICML, Sec. 3–4, who
found that a single bit flipped in one initial weight produces about as much run-to-run variability
as changing every source of randomness):

- ``all_seeds``: new init *and* new data-order seed (the yardstick);
- ``init_seed``: new init seed only; ``data_order``: new data-order seed only;
- ``one_ulp``: the first initial weight of the output layer moved up by one ulp (``torch.nextafter``);
- ``lr``: learning rate × ``lr_factor`` (1.1); ``batch``: batch size × ``batch_factor`` (1.5);
- ``init_scale``: initial-weight std × ``scale_factor`` (1.1);
- ``optimizer``: SGD ↔ Adam (Adam/AdamW → SGD with momentum at ``sgd_lr_factor`` × lr, SGD → Adam at
  lr / ``sgd_lr_factor``), since the two optimizers' useful step sizes differ by about that much.

Each change c is summarised as ``ratio_c = mean_s Dis_OOD(ref_s, changed_s) / mean_s Dis_OOD(ref_s,
all_seeds_s)`` (disagreement of predicted labels on the task's OOD probe, D'Amour et al. 2020).

Statistic ``dis_ratio``: ``ratio_c`` of the change named by ``params.change`` (default ``one_ulp``).
**Higher = a small change moves the final function almost as far as reseeding everything = more
path-dependent**; 0 means the change leaves the outcome untouched (also when every run, even fully
re-seeded, ends in the same function, where the ratio would be 0/0). The CI is a percentile
bootstrap over seeds of the ratio of means. Note that on full-batch tasks (``modadd``) the data order
and batch-size changes are no-ops, so their ratios are exactly 0.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import plots
from experiments.evaluation import member_outputs, train_task
from experiments.metrics import disagreement
from experiments.mltasks import get_task
from experiments.params import ParamDef
from experiments.protocols._shared import base_member, ci, finite, save_figure, sorted_outputs
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
from experiments.trainer import Member, derive_seed

CHANGES = ("all_seeds", "init_seed", "data_order", "one_ulp", "lr", "batch", "init_scale", "optimizer")


@dataclass(frozen=True)
class SensitivityConfig(ProtocolConfig):
    """Protocol B settings (task parameters live in ``params``)."""

    change: str = "one_ulp"
    """The change whose ratio is the statistic (any of CHANGES but the yardstick ``all_seeds``)."""
    lr_factor: float = 1.1
    """Learning-rate multiplier of the ``lr`` change."""
    batch_factor: float = 1.5
    """Batch-size multiplier of the ``batch`` change."""
    scale_factor: float = 1.1
    """Init-std multiplier of the ``init_scale`` change."""
    sgd_lr_factor: float = 10.0
    """SGD's learning rate relative to Adam's in the ``optimizer`` change."""


def nudge_target(config: ProtocolConfig) -> str:
    """Name of the tensor the one-ulp change nudges: the output layer's weight (the last weight tensor
    registered). The first weight tensor can be inert — on digits it multiplies an always-zero pixel."""
    task = get_task(config.task)
    params = config.task_params
    model = task.make_model(config.arch, params, task.make_data(params, config.arch))()
    return [name for name, p in model.named_parameters() if p.dim() >= 2][-1]


def changed_members(config: SensitivityConfig, seed: int, *, ulp_param: str | None = None) -> dict[str, Member]:
    """The reference member of ``seed`` and one member per change, keyed by change name."""
    params = config.task_params
    ref = base_member(config.task, seed, params)
    ref = replace(ref, init_seed=ref.init_seed if ref.init_seed is not None else derive_seed(seed, "init"),
                  data_seed=ref.data_seed if ref.data_seed is not None else derive_seed(seed, "data"))
    new_init, new_data = derive_seed(seed, "B-init"), derive_seed(seed, "B-data")
    base_opt = ref.optimizer or params["optimizer"]
    to_sgd = base_opt in ("adam", "adamw")
    return {
        "reference": ref,
        "all_seeds": replace(ref, init_seed=new_init, data_seed=new_data),
        "init_seed": replace(ref, init_seed=new_init),
        "data_order": replace(ref, data_seed=new_data),
        "one_ulp": replace(ref, ulp_nudge=True, ulp_param=ulp_param),
        "lr": replace(ref, lr_mult=ref.lr_mult * config.lr_factor),
        "batch": replace(ref, batch_mult=ref.batch_mult * config.batch_factor),
        "init_scale": replace(ref, init_scale=ref.init_scale * config.scale_factor),
        "optimizer": replace(ref, optimizer="sgd" if to_sgd else "adam",
                             lr_mult=ref.lr_mult * (config.sgd_lr_factor if to_sgd else 1 / config.sgd_lr_factor)),
    }


@register_protocol
class Sensitivity(Protocol):
    concept = "B"
    title = "Sensitivity to small changes in the setup"
    tasks = ("digits", "modadd", "lms", "gotu", "sparse_parity")
    Config = SensitivityConfig
    protocol_params = {
        **COMMON_PROTOCOL_PARAMS,
        "change": ParamDef("change", "enum", "one_ulp", choices=CHANGES[1:],
                           doc="which change's ratio is the statistic"),
        "lr_factor": ParamDef("lr_factor", "float", 1.1, 0.5, 2.0, doc="learning-rate multiplier"),
        "batch_factor": ParamDef("batch_factor", "float", 1.5, 0.25, 4.0, doc="batch-size multiplier"),
        "scale_factor": ParamDef("scale_factor", "float", 1.1, 0.5, 2.0, doc="init-scale multiplier"),
        "sgd_lr_factor": ParamDef("sgd_lr_factor", "float", 10.0, 0.1, 100.0,
                                  doc="SGD lr relative to Adam lr in the optimizer swap"),
    }
    seeds = {"tiny": (4, 8), "default": (16, 32)}
    cost_multiplier = float(len(CHANGES) + 1)
    task_presets = {
        "digits": {"tiny": {"steps": 60, "width": 16}},
        "modadd": {"tiny": {"steps": 60, "width": 16, "p": 11}},
        "lms": {"tiny": {"steps": 60, "width": 16}},
        "gotu": {"tiny": {"steps": 60, "width": 16}},
        "sparse_parity": {"tiny": {"steps": 60, "width": 16, "n_train": 512}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"digits": 97.7, "lms": 95.4, "gotu": 91.1, "sparse_parity": 73.2}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """Train the reference and the eight changed runs of every seed as one ensemble."""
        assert isinstance(config, SensitivityConfig)
        names = ("reference",) + CHANGES
        target = nudge_target(config)
        members = [changed_members(config, s, ulp_param=target)[name] for s in seeds for name in names]
        run = train_task(config.task, config.arch, config.task_params, members, device=device, progress=progress)
        rows = member_outputs(run)
        outputs = []
        for i, seed in enumerate(seeds):
            block = dict(zip(names, rows[i * len(names):(i + 1) * len(names)]))
            ref = block["reference"]
            out = {k: v for k, v in ref.items() if not k.startswith("pred_") and k != "rep"}
            out["seed"] = seed
            for name in CHANGES:
                out[f"dis_ood_{name}"] = disagreement(ref["pred_ood"], block[name]["pred_ood"])
                out[f"dis_id_{name}"] = disagreement(ref["pred_id"], block[name]["pred_id"])
                out[f"behaviour_{name}"] = float(block[name]["behaviour"])
            outputs.append(out)
        return outputs

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Ratio of mean Dis_OOD per change to the all-seeds yardstick, each with a bootstrap CI."""
        assert isinstance(config, SensitivityConfig)
        outputs = sorted_outputs(outputs)
        if len(outputs) < 2:
            raise ValueError("concept B needs at least 2 seeds")
        dis = {c: np.array([o[f"dis_ood_{c}"] for o in outputs], dtype=float) for c in CHANGES}
        yardstick = dis["all_seeds"]

        def ratio(change: str) -> Any:
            def value(idx: np.ndarray) -> float:
                num, den = dis[change][idx].mean(), yardstick[idx].mean()
                if den > 0:
                    return float(num / den)
                # Every run ends in the same function (e.g. sparse parity solved exactly): a change
                # that alters nothing has sensitivity 0; one that alters a fixed point is undefined.
                return 0.0 if num == 0 else float("nan")
            return value

        index = np.arange(len(outputs))
        ratios: dict[str, dict[str, Any]] = {}
        for c in CHANGES:
            low, high = ci(index, ratio(c), config=config, seed=bootstrap_seed)
            ratios[c] = {"ratio": finite(ratio(c)(index)), "ci_low": finite(low), "ci_high": finite(high),
                         "dis_ood": float(dis[c].mean()),
                         "dis_id": float(np.mean([o[f"dis_id_{c}"] for o in outputs]))}
        chosen = ratios[config.change]
        frame = frame_from_outputs(outputs)
        details = {
            "dis_ratio": chosen["ratio"],
            "change": config.change,
            "ratios": ratios,
            "dis_ood_all_seeds": float(yardstick.mean()),
            "behaviour_name": get_task(config.task).behaviour_name,
            "n_seeds": len(outputs),
            "confidence": config.confidence,
            "factors": {"lr": config.lr_factor, "batch": config.batch_factor, "init_scale": config.scale_factor,
                        "sgd_lr": config.sgd_lr_factor},
        }
        statistic = chosen["ratio"] if chosen["ratio"] is not None else float("nan")
        low = chosen["ci_low"] if chosen["ci_low"] is not None else float("nan")
        high = chosen["ci_high"] if chosen["ci_high"] is not None else float("nan")
        return frame, Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Reference behaviour, reference training curves, and the key plot: ratio per change with CIs."""
        import matplotlib.pyplot as plt

        out_dir = Path(out_dir)
        label = get_task(config.task).behaviour_name
        ratios = result.details["ratios"]
        names = [c for c in CHANGES]
        values = np.array([np.nan if ratios[c]["ratio"] is None else ratios[c]["ratio"] for c in names])
        low = np.array([np.nan if ratios[c]["ci_low"] is None else ratios[c]["ci_low"] for c in names])
        high = np.array([np.nan if ratios[c]["ci_high"] is None else ratios[c]["ci_high"] for c in names])
        fig, ax = plt.subplots(figsize=(7, 3.6))
        xs = np.arange(len(names))
        colors = ["#cc7a00" if c == result.details["change"] else "#3465a4" for c in names]
        ax.bar(xs, np.nan_to_num(values), color=colors, alpha=0.8)
        ax.errorbar(xs, values, yerr=[np.nan_to_num(values - low), np.nan_to_num(high - values)], fmt="none",
                    ecolor="black", capsize=3)
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(xs, names, rotation=30, ha="right")
        ax.set_ylabel("Dis_OOD(ref, changed) / Dis_OOD(all seeds)")
        ax.set_title(f"B: sensitivity per change ({config.task}, {len(outputs)} seeds)")
        return [
            *plots.standard_plots(frame, sorted_outputs(outputs), out_dir, label=label),
            save_figure(fig, out_dir / "key_ratio_per_change.png"),
        ]


PROTOCOL = PROTOCOLS["B"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept B in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
