"""``modadd``: (a + b) mod p with a one-layer transformer whose attention is α·softmax + (1−α)·uniform.

Zhong, Liu, Tegmark & Andreas (2023), "The Clock and the Pizza: Two Stories in Mechanistic
Explanation of Neural Networks" (NeurIPS) show that such models learn one of two algorithms, and
that which one depends on α, width and weight decay: "Clock" (logits depend on a+b only) and
"Pizza" (logits also depend on a−b). They tell them apart with two metrics, reproduced here:

- **gradient symmetricity** (the behaviour scalar): the mean cosine similarity between
  ∂Q_abc/∂E_a and ∂Q_abc/∂E_b, the gradients of the output logit Q_abc with respect to the two input
  embeddings, over fixed random triples (a, b, c). Pizza ≈ 1, Clock lower.
- **distance irrelevance**: mean over d of std{Q_{a,b,a+b} : a−b ≡ d} / std{Q_{a,b,a+b}}; Clock ≈ 1
  (the correct logit ignores a−b), Pizza ≈ 0.

The training split is a fixed random ``train_frac`` of the p² pairs; the "ID" set is the training
pairs and the "OOD" probe is the held-out pairs (generalization to unseen pairs).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from experiments.mltasks.base import Task, TaskData, register_task
from experiments.nets import TokenMLP, Transformer
from experiments.params import ParamDef, SpecError, training_params
from experiments.trainer import TrainResult, ensemble_apply

N_TRIPLES = 256
PROBE = 256


def pairs(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    tokens = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    return tokens, tokens.sum(1) % p


def gradient_symmetricity(model: nn.Module, params: dict[str, torch.Tensor], p: int, *,
                          seed: int = 0) -> torch.Tensor:
    """Mean cos(∂Q_abc/∂E_a, ∂Q_abc/∂E_b) over ``N_TRIPLES`` fixed random triples, shape [S].

    Zhong et al. (2023), Sec. 4.1; each example's logit depends only on its own embeddings, so one
    backward pass through the vmapped model yields every per-example, per-member gradient.
    """
    gen = torch.Generator().manual_seed(seed)
    triples = torch.randint(0, p, (N_TRIPLES, 3), generator=gen).to(params["W_E"].device)
    tokens, c = triples[:, :2], triples[:, 2]
    detached = {k: v.detach() for k, v in params.items()}
    embeds = detached["W_E"][:, tokens].clone().requires_grad_()  # [S, N, 2, d]

    def logits(pp: dict[str, torch.Tensor], e: torch.Tensor) -> torch.Tensor:
        return functional_call(model, pp, (tokens,), {"embeds": e})

    out = vmap(logits)(detached, embeds)
    q = out.gather(2, c.expand(out.shape[0], -1).unsqueeze(-1)).sum()
    (grad,) = torch.autograd.grad(q, embeds)
    cos = torch.nn.functional.cosine_similarity(grad[:, :, 0], grad[:, :, 1], dim=-1, eps=1e-30)
    return cos.mean(dim=1)


def distance_irrelevance(correct_logits: torch.Tensor, p: int) -> torch.Tensor:
    """mean_d std(Q_{a,b,a+b} | a−b ≡ d) / std(Q_{a,b,a+b}) from logits ``[S, p*p]``; shape [S]."""
    a = torch.arange(p)
    index = torch.stack([a * p + (a - d) % p for d in range(p)]).to(correct_logits.device)  # [d, a]
    by_distance = correct_logits[:, index]  # [S, p, p]
    within = by_distance.std(dim=2, unbiased=False).mean(dim=1)
    return within / correct_logits.std(dim=1, unbiased=False).clamp_min(1e-12)


@register_task
class ModAdd(Task):
    name = "modadd"
    archs = ("transformer", "mlp")
    behaviour_name = "gradient symmetricity"
    params = {
        **training_params(steps=3000, lr=1e-3, width=128, optimizer="adamw", batch_size=4096,
                          weight_decay=1.0, max_width=512),
        "p": ParamDef("p", "int", 59, 5, 113, doc="modulus"),
        "alpha": ParamDef("alpha", "float", 1.0, 0.0, 1.0, doc="attention rate: α·softmax + (1−α)·uniform"),
        "train_frac": ParamDef("train_frac", "float", 0.8, 0.1, 0.9, doc="fraction of the p² pairs trained on"),
        "layers": ParamDef("layers", "int", 1, 1, 2, doc="transformer layers"),
    }
    presets = {"tiny": {"p": 11, "width": 32, "steps": 200, "lr": 3e-3}, "default": {}}
    control = {"alpha": 0.0}

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["width"] % 4:
            raise SpecError("params.width", f"{params['width']} must be a multiple of 4 (4 attention heads)")

    def make_data(self, params: Mapping[str, Any], arch: str) -> TaskData:
        p = params["p"]
        tokens, target = pairs(p)
        order = torch.randperm(p * p, generator=torch.Generator().manual_seed(0))
        n_train = max(1, int(round(params["train_frac"] * p * p)))
        train, held = order[:n_train], order[n_train:]
        probe = order[torch.randperm(p * p, generator=torch.Generator().manual_seed(1))[:PROBE]]
        return TaskData(x_train=tokens[train], y_train=target[train], x_id=tokens[train], y_id=target[train],
                        x_ood=tokens[held], y_ood=target[held], loss="ce", n_out=p, probe=tokens[probe],
                        extra={"tokens": tokens, "target": target})

    def make_model(self, arch: str, params: Mapping[str, Any], data: TaskData) -> Callable[[], nn.Module]:
        p, width = params["p"], params["width"]
        if arch == "mlp":
            return lambda: TokenMLP(p, 2, width, p)
        return lambda: Transformer(p, 2, width, p, layers=params["layers"], alpha=params["alpha"])

    def behaviour(self, model: nn.Module, result: TrainResult, data: TaskData, params: Mapping[str, Any], *,
                  device: torch.device) -> dict[str, np.ndarray]:
        p = params["p"]
        stacked = {k: v.to(device) for k, v in result.params.items()}
        sym = gradient_symmetricity(model.to(device), stacked, p)
        tokens, target = data.extra["tokens"].to(device), data.extra["target"].to(device)
        out = ensemble_apply(model, stacked, tokens)
        correct = out.gather(2, target.expand(out.shape[0], -1).unsqueeze(-1))[..., 0]
        return {"behaviour": sym.detach().cpu().double().numpy(),
                "distance_irrelevance": distance_irrelevance(correct, p).cpu().double().numpy()}
