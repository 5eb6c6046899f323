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

Statistic ``hit_rate_gap``: ``hit_rate_dynamic − hit_rate_static`` over seeds × variants. **Higher =
the learning order predicts the outcome better than the closed form = more path-dependent** (the
essay's non-closed-form world); ≤ 0 when a static rule does at least as well. ``details`` holds both
hit rates and, on gotu, the coefficient ``c`` of the task's own target x0·x1·x2. The CI is a
percentile bootstrap over seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from experiments import plots
from experiments.metrics import auroc
from experiments.mltasks import get_task
from experiments.mltasks.base import TaskData
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
from experiments.trainer import TrainResult, ensemble_apply, resolve_device, train_ensemble

GOTU_DEGREES = (2, 3, 4)
LMS_SCALES = (1.0, 0.3, 0.1)
LEARNED_ACCURACY = 0.95
KEEP_ACCURACY = 0.95
SOLUTIONS = {"gotu": ("min_degree", "true"), "lms": ("linear", "slab")}


@dataclass(frozen=True)
class InductiveBiasConfig(ProtocolConfig):
    """Protocol H settings (task parameters live in ``params``; the variant family is fixed)."""


@dataclass
class _Variant:
    label: str
    full: TaskData
    alone: dict[str, TaskData]
    """Candidate solution → data on which only that candidate fits."""


def _gotu_variants(params: dict[str, Any], arch: str) -> list[_Variant]:
    from experiments.mltasks.gotu import as_input, cube

    x = cube(params["n"])
    seen, unseen = x[:, 0] > 0, x[:, 0] < 0
    out = []
    for d in GOTU_DEGREES:
        rest = np.prod(x[:, 1:d], axis=1)
        true = x[:, 0] * rest

        def col(v: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(v[:, None].astype(np.float32))

        full = TaskData(x_train=as_input(x[seen], arch), y_train=col(true[seen]), x_id=as_input(x[seen], arch),
                        y_id=col(true[seen]), x_ood=as_input(x[unseen], arch), y_ood=col(true[unseen]), loss="mse",
                        n_out=1, probe=as_input(x[seen], arch), extra={"basis_unseen": torch.from_numpy(rest[unseen])})
        alone = {name: TaskData(x_train=as_input(x, arch), y_train=col(target), x_id=as_input(x, arch),
                                y_id=col(target), x_ood=as_input(x, arch), y_ood=col(target), loss="mse", n_out=1,
                                probe=as_input(x, arch))
                 for name, target in (("min_degree", rest), ("true", true))}
        out.append(_Variant(f"degree {d}", full, alone))
    return out


def _shuffled(x: np.ndarray, cols: slice, rng: np.random.Generator) -> np.ndarray:
    """``x`` with the columns ``cols`` permuted across rows (they stop carrying label information)."""
    x = x.copy()
    x[:, cols] = x[rng.permutation(len(x)), cols]
    return x


def _aucs(model: torch.nn.Module, stacked: dict[str, torch.Tensor], x: torch.Tensor, labels: np.ndarray,
          device: torch.device) -> np.ndarray:
    """Per-member AUC of the logit margin on ``x``."""
    out = ensemble_apply(model, stacked, x.to(device))
    return np.array([auroc(s, labels) for s in (out[..., 1] - out[..., 0]).double().cpu().numpy()])


def _lms_variants(params: dict[str, Any]) -> list[_Variant]:
    from experiments.mltasks.lms import N_TEST, N_TRAIN, lms_data

    out = []
    for gamma in LMS_SCALES:
        rng = np.random.default_rng(0)
        x_tr, y_tr = lms_data(N_TRAIN, params["n_slab"], params["margin"], rng)
        x_te, y_te = lms_data(N_TEST, params["n_slab"], params["margin"], rng)
        x_tr[:, 0] *= gamma
        x_te[:, 0] *= gamma

        s_rand, sc_rand = _shuffled(x_te, slice(0, 1), rng), _shuffled(x_te, slice(1, None), rng)
        t = torch.from_numpy
        full = TaskData(x_train=t(x_tr), y_train=t(y_tr), x_id=t(x_te), y_id=t(y_te), x_ood=t(s_rand), y_ood=t(y_te),
                        loss="ce", n_out=2, probe=t(x_te[:256]), extra={"sc_rand": t(sc_rand)})
        alone = {}
        for name, cols in (("linear", slice(1, None)), ("slab", slice(0, 1))):
            tr, te = _shuffled(x_tr, cols, rng), _shuffled(x_te, cols, rng)
            alone[name] = TaskData(x_train=t(tr), y_train=t(y_tr), x_id=t(te), y_id=t(y_te), x_ood=t(te),
                                   y_ood=t(y_te), loss="ce", n_out=2, probe=t(te[:256]))
        out.append(_Variant(f"linear scale {gamma:g}", full, alone))
    return out


def _first_learned(result: TrainResult, steps: int) -> np.ndarray:
    """First evaluation step with accuracy ≥ 95%, per member; ``steps + 1`` when never."""
    step = np.asarray(result.curves["step"])
    # one-output regression curves come back as [S, T, 1]
    acc = np.asarray(result.curves["eval_acc"]).reshape(-1, step.size)
    hit = acc >= LEARNED_ACCURACY
    return np.where(hit.any(axis=1), step[hit.argmax(axis=1)], steps + 1).astype(float)


def minimal_units(model: torch.nn.Module, params: dict[str, torch.Tensor], data: TaskData, device: torch.device,
                  ) -> np.ndarray:
    """Fewest last-hidden-layer units (by ``‖w_out,j‖·SD(h_j)``) keeping ≥ 95% test accuracy, per member.

    The circuit-prior size of a solution; ``width + 1`` when even the whole layer stays below 95%.
    """
    x = data.x_id.to(device)
    h = ensemble_apply(model, params, x, features=True).double()  # [S, N, width]
    w, b = params["out.weight"].double(), params["out.bias"].double()  # [S, C, width], [S, C]
    y = data.y_id.to(device)
    importance = w.norm(dim=1) * h.std(dim=1)  # [S, width]
    order = importance.argsort(dim=1, descending=True)
    width = h.shape[-1]
    result = np.full(h.shape[0], width + 1.0)
    for s in range(h.shape[0]):
        for m in range(1, width + 1):
            keep = order[s, :m]
            logits = h[s][:, keep] @ w[s][:, keep].T + b[s]
            if float((logits.argmax(-1) == y).double().mean()) >= KEEP_ACCURACY:
                result[s] = m
                break
    return result


@register_protocol
class InductiveBias(Protocol):
    concept = "H"
    title = "Existence of a closed-form inductive bias"
    tasks = ("gotu", "lms")
    Config = InductiveBiasConfig
    protocol_params = dict(COMMON_PROTOCOL_PARAMS)
    seeds = {"tiny": (4, 8), "default": (16, 32)}
    cost_multiplier = 9.0
    task_presets = {
        "gotu": {"tiny": {"steps": 150, "width": 16, "n": 5}},
        "lms": {"tiny": {"steps": 100, "width": 16}},
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
        variants = _gotu_variants(params, config.arch) if config.task == "gotu" else _lms_variants(params)
        spec = replace(task.train_spec(params), eval_points=50)
        members = [base_member(config.task, s, params) for s in seeds]
        first, second = SOLUTIONS[config.task]
        n_jobs = 3 * len(variants)
        per_seed: list[dict[str, Any]] = [{"seed": s} for s in seeds]
        job = 0

        def train(data: TaskData) -> tuple[TrainResult, torch.nn.Module]:
            nonlocal job
            make_model = task.make_model(config.arch, params, data)
            res = train_ensemble(make_model, data.x_train, data.y_train, spec, members,
                                 eval_set=(data.x_id, data.y_id), device=dev,
                                 progress=sub_progress(progress, job / n_jobs, (job + 1) / n_jobs))
            job += 1
            return res, make_model().to(dev)

        for v, variant in enumerate(variants):
            full, model = train(variant.full)
            stacked = {k: t.to(dev) for k, t in full.params.items()}
            if config.task == "gotu":
                x = variant.full.x_ood.to(dev)
                x = x.float() if x.is_floating_point() else x
                out = ensemble_apply(model, stacked, x)[..., 0].double().cpu()
                c = (out * variant.full.extra["basis_unseen"].double()).mean(dim=1).numpy()
                found = np.where(c > 0, first, second)
                score = c
            else:
                labels = variant.full.y_id.numpy()
                s_auc = _aucs(model, stacked, variant.full.x_ood, labels, dev)
                sc_auc = _aucs(model, stacked, variant.full.extra["sc_rand"], labels, dev)
                found = np.where(sc_auc >= s_auc, first, second)
                score = s_auc
            speed, loss, units = {}, {}, {}
            for name, data in variant.alone.items():
                res, alone_model = train(data)
                speed[name] = _first_learned(res, spec.steps)
                loss[name] = np.asarray(res.curves["eval_loss"])[:, -1]
                if config.task == "lms":
                    units[name] = minimal_units(alone_model, {k: t.to(dev) for k, t in res.params.items()}, data, dev)
            faster_first = (speed[first] < speed[second]) | ((speed[first] == speed[second]) & (loss[first] <= loss[second]))
            dynamic = np.where(faster_first, first, second)
            if config.task == "gotu":
                static = np.full(len(seeds), first)
            else:
                static = np.where(units[first] <= units[second], first, second)
            for i, out_i in enumerate(per_seed):
                out_i[f"found_{v}"] = str(found[i])
                out_i[f"static_{v}"] = str(static[i])
                out_i[f"dynamic_{v}"] = str(dynamic[i])
                out_i[f"score_{v}"] = float(score[i])
                out_i[f"speed_{first}_{v}"] = float(speed[first][i])
                out_i[f"speed_{second}_{v}"] = float(speed[second][i])
                if units:
                    out_i[f"units_{first}_{v}"] = float(units[first][i])
                    out_i[f"units_{second}_{v}"] = float(units[second][i])
            base = 1 if config.task == "gotu" else 0  # the task's own target: degree 3 / linear scale 1
            if v == base:
                for i, out_i in enumerate(per_seed):
                    out_i["behaviour"] = float(score[i])
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
        details: dict[str, Any] = {
            "hit_rate_gap": statistic,
            "hit_rate_static": float(hits[:, 1].mean()),
            "hit_rate_dynamic": float(hits[:, 0].mean()),
            "per_variant": per_variant,
            "solutions": list(SOLUTIONS[config.task]),
            "static_predictor": "min-degree interpolator" if config.task == "gotu" else "minimal units for 95% accuracy",
            "dynamic_predictor": "faster to learn alone (first eval with ≥95% accuracy)",
            "n_seeds": len(outputs),
            "confidence": config.confidence,
        }
        if config.task == "gotu":
            details["c"] = float(np.mean([o["behaviour"] for o in outputs]))
            details["c_by_degree"] = {label: per_variant[label]["score_mean"] for label in labels}
        else:
            details["s_randomized_auc_by_variant"] = {label: per_variant[label]["score_mean"] for label in labels}
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
