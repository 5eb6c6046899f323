"""Concept H, existence of a closed-form inductive bias: static measure vs learning order.

Across a family of task variants, each with two candidate solutions that both fit the training
data, we predict which one training finds in two ways and score the predictions against what every
seed actually found:

- a **static** (closed-form) predictor that inspects the candidates only;
- a **dynamic** (learning-order) predictor: the same network, from the same init and data order, is
  trained on each candidate *alone*, and the candidate learned faster (first evaluation with ≥ 95%
  accuracy; ties broken by the lower final loss) is predicted to win — the essay's "rule for which
  circuits are built first".

Families:

- ``gotu`` (Abbe, Bengio, Lotfi & Rizk 2023, "Generalization on the Unseen, Logic Reasoning and
  Degree Curriculum", ICML): targets ``x0·x1⋯x_{d−1}`` for d ∈ (2, 3, 4), trained on the seen half
  x0 = +1. Candidates: the min-degree interpolator ``x1⋯x_{d−1}`` (c = +1) and the true function
  (c = −1), where ``c = E_unseen[f̂(x)·x1⋯x_{d−1}]``. Static predictor: min-degree (Abbe et al.'s
  theorem), always c = +1. Found: the sign of c.
- ``lms`` (Shah, Tamuly, Raghunathan, Jain & Netrapalli 2020, "The Pitfalls of Simplicity Bias in
  Neural Networks", NeurIPS): linear + slab data with the linear coordinate scaled by
  γ ∈ (1, 0.3, 0.1) (a smaller margin makes it slower to learn). Candidates: the linear rule and the
  slab rule, each learned alone on data whose other coordinates are shuffled across examples.
  Static predictor: the circuit prior — the candidate whose alone-trained network needs fewer
  last-layer units (pruned by ``‖w_out‖·SD(activation)``) to keep ≥ 95% accuracy. Found: "linear"
  if the model's AUC with the slabs shuffled is at least its AUC with the linear coordinate
  shuffled (Shah et al.'s S^c- vs S-randomized AUC), else "slab".
- ``digits`` and ``sparse_parity`` (MLP only): the task's own data with a synthetic shortcut cue
  appended that equals the label on train and test (digits: γ·one-hot class; sparse_parity: one
  input γ·(±1)), at γ ∈ ``CUE_SCALES`` (a smaller cue is slower to learn) — Shah et al. (2020)'s
  simplicity bias, Hermann & Lampinen (2020, "What Shapes Feature Representations?", NeurIPS: of
  two equally predictive features the easier one is used) and the shortcut cues of Geirhos et al.
  (2020, "Shortcut Learning in Deep Neural Networks"); see ``experiments/protocols/_variants.py``.
  Candidates: the task's own feature ("pixels" / "parity") and the "cue", each learned alone with
  the other's inputs permuted across examples. Static predictor: minimal units, as on lms. Found:
  the task feature if the model scores at least as well (AUC on parity, accuracy on the 10 digit
  classes) on test inputs with the cue permuted as on those with the task's inputs permuted, else
  the cue. Small budgets keep 10-class accuracy below 95%, so both predictors use a relative level
  here: a candidate is learned (and kept) at chance + 0.9·(best final alone accuracy − chance), the
  best of the member's two alone networks; a candidate that never reaches it needs width + 1 units.

Statistic ``hit_rate_gap``: ``hit_rate_dynamic − hit_rate_static`` over seeds × variants. **Higher =
the learning order predicts the outcome better than the closed form = more path-dependent** (the
essay's non-closed-form world); ≤ 0 when a static rule does at least as well. ``details`` holds both
hit rates and, on gotu, the coefficient ``c`` of the task's own target x0·x1·x2. The CI is a
percentile bootstrap over seeds. The per-seed ``behaviour`` is the score on the task's own variant
(gotu: c at degree 3; lms: the S-randomized AUC at scale 1; cue tasks: the score with only the cue
informative at the largest γ).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from experiments import plots
from experiments.mltasks import get_task
from experiments.mltasks.base import TaskData
from experiments.protocols._shared import base_member, ci, save_figure, sorted_outputs, sub_progress
from experiments.protocols._variants import (
    CUE_TASKS,
    LEARNED_ACCURACY,
    SOLUTIONS,
    Variant,
    first_learned,
    minimal_units,
    relative_threshold,
    reliance,
    variants_of,
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
from experiments.trainer import Member, TrainResult, TrainSpec, ensemble_apply, resolve_device, train_ensemble

__all__ = ["InductiveBias", "minimal_units", "run"]



@dataclass(frozen=True)
class InductiveBiasConfig(ProtocolConfig):
    """Protocol H settings (task parameters live in ``params``; the variant family is fixed)."""


def run_variant(config: ProtocolConfig, variant: Variant, spec: TrainSpec, members: list[Member], dev: torch.device,
                *, progress: Progress | None = None) -> dict[str, Any]:
    """Train one variant's full model and each candidate alone; what was found and what each predictor said.

    Returns arrays over members: ``found``, ``static``, ``dynamic`` (candidate names), ``score``,
    ``speed_<candidate>`` and (not gotu) ``units_<candidate>``, plus the full model's TrainResult ``full``.
    """
    task = get_task(config.task)
    params = config.task_params
    first, second = SOLUTIONS[config.task]
    job = 0

    def train(data: TaskData) -> tuple[TrainResult, torch.nn.Module]:
        nonlocal job
        make_model = variant.make_model or task.make_model(config.arch, params, data)
        res = train_ensemble(make_model, data.x_train, data.y_train, spec, members, eval_set=(data.x_id, data.y_id),
                             device=dev, progress=sub_progress(progress, job / 3, (job + 1) / 3))
        job += 1
        return res, make_model().to(dev)

    full, model = train(variant.full)
    stacked = {k: t.to(dev) for k, t in full.params.items()}
    out: dict[str, Any] = {"full": full}
    if config.task == "gotu":
        x = variant.full.x_ood.to(dev)
        x = x.float() if x.is_floating_point() else x
        y_hat = ensemble_apply(model, stacked, x)[..., 0].double().cpu()
        score = (y_hat * variant.full.extra["basis_unseen"].double()).mean(dim=1).numpy()  # the coefficient c
        out["found"] = np.where(score > 0, first, second)
    else:
        labels = variant.full.y_id.numpy()
        on = {name: reliance(model, stacked, variant.probes[name], labels, dev) for name in (first, second)}
        out["found"] = np.where(on[first] >= on[second], first, second)
        score = on[second]  # lms: the S-randomized AUC; cue tasks: the score with only the cue informative
    out["score"] = score
    alone = {name: train(data) for name, data in variant.alone.items()}
    if config.task in CUE_TASKS:
        threshold = relative_threshold({name: np.asarray(res.curves["eval_acc"])[:, -1]
                                        for name, (res, _) in alone.items()}, variant.full.n_out)
    else:
        threshold = np.full(len(members), LEARNED_ACCURACY)
    speed, loss, units = {}, {}, {}
    for name, (res, alone_model) in alone.items():
        speed[name] = first_learned(res, spec.steps, threshold)
        loss[name] = np.asarray(res.curves["eval_loss"])[:, -1]
        if config.task != "gotu":
            units[name] = minimal_units(alone_model, {k: t.to(dev) for k, t in res.params.items()},
                                        variant.alone[name], dev, keep=threshold)
    faster_first = (speed[first] < speed[second]) | ((speed[first] == speed[second]) & (loss[first] <= loss[second]))
    out["dynamic"] = np.where(faster_first, first, second)
    if config.task == "gotu":
        out["static"] = np.full(len(members), first)
    else:
        out["static"] = np.where(units[first] <= units[second], first, second)
    for name in (first, second):
        out[f"speed_{name}"] = speed[name]
        if units:
            out[f"units_{name}"] = units[name]
    return out


@register_protocol
class InductiveBias(Protocol):
    concept = "H"
    title = "Existence of a closed-form inductive bias"
    tasks = ("digits", "gotu", "lms", "sparse_parity")
    archs = {task: ("mlp",) for task in CUE_TASKS}  # the cue is an extra input
    Config = InductiveBiasConfig
    protocol_params = dict(COMMON_PROTOCOL_PARAMS)
    seeds = {"tiny": (4, 8), "default": (16, 32)}
    cost_multiplier = 9.0
    task_presets = {
        "gotu": {"tiny": {"steps": 150, "width": 16, "n": 5}},
        "lms": {"tiny": {"steps": 100, "width": 16}},
        "digits": {"tiny": {"steps": 150, "width": 16}},
        "sparse_parity": {"tiny": {"steps": 200, "width": 16}},
    }
    # default preset, 2-core CPU, one torch thread, shared machine (load 2.4–10); modadd is GPU-sized
    # (hours on this CPU, see docs/protocols.md), so it has no measured figure here
    cpu_seconds: dict[str, float] = {"gotu": 103.2, "lms": 115.3}

    def train_seeds(self, config: ProtocolConfig, seeds: list[int], *, device: str = "auto",
                    progress: Progress | None = None) -> list[dict[str, Any]]:
        """For every variant: the full model and each candidate learned alone, all seeds at once."""
        task = get_task(config.task)
        params = config.task_params
        dev = resolve_device(device)
        variants = variants_of(config.task, params, config.arch)
        spec = replace(task.train_spec(params), eval_points=50)
        members = [base_member(config.task, s, params) for s in seeds]
        per_seed: list[dict[str, Any]] = [{"seed": s} for s in seeds]
        for v, variant in enumerate(variants):
            found = run_variant(config, variant, spec, members, dev,
                                progress=sub_progress(progress, v / len(variants), (v + 1) / len(variants)))
            for i, out_i in enumerate(per_seed):
                out_i.update({f"{key}_{v}": (str(val[i]) if val.dtype.kind in "US" else float(val[i]))
                              for key, val in found.items() if key != "full"})
            base = 1 if config.task == "gotu" else 0  # the task's own target: degree 3 / scale 1
            if v == base:
                full = found["full"]
                for i, out_i in enumerate(per_seed):
                    out_i["behaviour"] = float(found["score"][i])
                    out_i["curve_step"] = np.asarray(full.curves["step"], dtype=np.int64)
                    for key in ("train_loss", "eval_loss", "eval_acc"):
                        out_i[f"curve_{key}"] = np.asarray(full.curves[key][i], dtype=np.float64).reshape(-1)
        for out_i in per_seed:
            hits_s = [out_i[f"static_{v}"] == out_i[f"found_{v}"] for v in range(len(variants))]
            hits_d = [out_i[f"dynamic_{v}"] == out_i[f"found_{v}"] for v in range(len(variants))]
            out_i["hit_static"] = float(np.mean(hits_s))
            out_i["hit_dynamic"] = float(np.mean(hits_d))
            out_i["variants"] = "|".join(v.label for v in variants)
        return per_seed

    def summarize(self, config: ProtocolConfig, outputs: list[dict[str, Any]], *,
                  bootstrap_seed: int = 0) -> tuple[pd.DataFrame, Result]:
        """Hit rates of both predictors over seeds × variants; their gap with a bootstrap CI."""
        outputs = sorted_outputs(outputs)
        if len(outputs) < 2:
            raise ValueError("concept H needs at least 2 seeds")
        hits = np.array([[o["hit_dynamic"], o["hit_static"]] for o in outputs], dtype=float)
        statistic = float((hits[:, 0] - hits[:, 1]).mean())
        low, high = ci(hits, lambda h: float((h[:, 0] - h[:, 1]).mean()), config=config, seed=bootstrap_seed)
        labels = outputs[0]["variants"].split("|")
        first = SOLUTIONS[config.task][0]
        per_variant = {}
        for v, label in enumerate(labels):
            per_variant[label] = {
                f"found_{first}": float(np.mean([o[f"found_{v}"] == first for o in outputs])),
                f"static_predicts_{first}": float(np.mean([o[f"static_{v}"] == first for o in outputs])),
                f"dynamic_predicts_{first}": float(np.mean([o[f"dynamic_{v}"] == first for o in outputs])),
                "score_mean": float(np.mean([o[f"score_{v}"] for o in outputs])),
            }
        level = ("chance + 0.9·(best alone accuracy − chance)" if config.task in CUE_TASKS
                 else f"≥{LEARNED_ACCURACY:.0%} accuracy")
        details: dict[str, Any] = {
            "hit_rate_gap": statistic,
            "hit_rate_static": float(hits[:, 1].mean()),
            "hit_rate_dynamic": float(hits[:, 0].mean()),
            "per_variant": per_variant,
            "solutions": list(SOLUTIONS[config.task]),
            "static_predictor": "min-degree interpolator" if config.task == "gotu" else f"minimal units for {level}",
            "dynamic_predictor": f"faster to learn alone (first eval with {level})",
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        if config.task == "gotu":
            details["c"] = float(np.mean([o["behaviour"] for o in outputs]))
            details["c_by_degree"] = {label: per_variant[label]["score_mean"] for label in labels}
        elif config.task == "lms":
            details["s_randomized_auc_by_variant"] = {label: per_variant[label]["score_mean"] for label in labels}
        else:
            details["cue_only_score_by_variant"] = {label: per_variant[label]["score_mean"] for label in labels}
        frame = frame_from_outputs(outputs).drop(columns=["variants"])
        return frame, Result(statistic, low, high, details, self.statistic_name)

    def plots(self, config: ProtocolConfig, frame: pd.DataFrame, result: Result, outputs: list[dict[str, Any]],
              out_dir: Path) -> list[Path]:
        """Behaviour, curves, and the key plot: predicted vs found solution per variant."""
        import matplotlib.pyplot as plt

        outputs = sorted_outputs(outputs)
        out_dir = Path(out_dir)
        first = SOLUTIONS[config.task][0]
        per_variant = result.details["per_variant"]
        labels = list(per_variant)
        xs = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        ax.bar(xs - 0.25, [per_variant[v][f"found_{first}"] for v in labels], width=0.25, label="found", color="black")
        ax.bar(xs, [per_variant[v][f"static_predicts_{first}"] for v in labels], width=0.25, label="static predicts",
               color="#cc7a00")
        ax.bar(xs + 0.25, [per_variant[v][f"dynamic_predicts_{first}"] for v in labels], width=0.25,
               label="learning order predicts", color="#3465a4")
        ax.set_xticks(xs, labels)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(f"share of seeds: {first}")
        ax.set_title(f"H: predicted vs found (gap {result.statistic:+.2f})")
        ax.legend(fontsize=8)
        label = get_task(config.task).behaviour_name
        return [
            *plots.standard_plots(frame, outputs, out_dir, label=label),
            save_figure(fig, out_dir / "key_predicted_vs_found.png"),
        ]


PROTOCOL = PROTOCOLS["H"]


def run(config: ProtocolConfig, *, seeds: list[int], device: str = "auto",
        progress: Progress | None = None) -> tuple[pd.DataFrame, Result]:
    """Train and summarize concept H in one call."""
    return PROTOCOL.run(config, seeds=seeds, device=device, progress=progress)
