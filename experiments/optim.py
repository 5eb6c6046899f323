"""Optimizers over stacked (seed-leading) parameters, with one learning rate per ensemble member.

The update rules are exactly ``torch.optim.SGD``, ``Adam`` and ``AdamW`` (single-tensor path) applied
element-wise, so S members updated together equal S separate ``torch.optim`` optimizers — the
equivalence test checks it in float64. Element-wise rules never mix members; only the learning rate
and gradient clipping need per-member handling, done here with a ``[S, 1, ...]`` view.

References
----------
Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization"; Loshchilov & Hutter (2019),
"Decoupled Weight Decay Regularization" (AdamW); PyTorch ``torch/optim/{sgd,adam,adamw}.py``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

OPTIMIZERS = ("adam", "adamw", "sgd")


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.reshape((-1,) + (1,) * (like.dim() - 1))


class StackedOptimizer:
    """SGD (with momentum), Adam or AdamW over tensors of shape ``[S, ...]``.

    Parameters
    ----------
    kind : {"adam", "adamw", "sgd"}
    lr : Tensor, shape [S]
        Learning rate of each member.
    weight_decay : float
        L2 penalty added to the gradient (sgd, adam) or decoupled decay (adamw).
    momentum : float
        SGD momentum (PyTorch convention: the first step uses the raw gradient as buffer).
    betas, eps : Adam(W) constants.
    """

    def __init__(self, kind: str, lr: torch.Tensor, *, weight_decay: float = 0.0, momentum: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer {kind!r} is not one of {OPTIMIZERS}")
        self.kind, self.lr, self.weight_decay = kind, lr, weight_decay
        self.momentum, self.betas, self.eps = momentum, betas, eps
        self.step_count = 0
        self.state: list[dict[str, torch.Tensor]] = []

    @torch.no_grad()
    def step(self, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> None:
        """Apply one update in place to ``params`` given their (already clipped) ``grads``."""
        if not self.state:
            self.state = [{} for _ in params]
        self.step_count += 1
        beta1, beta2 = self.betas
        for param, grad, state in zip(params, grads, self.state):
            lr = _per_member(self.lr, param)
            if self.kind == "sgd":
                if self.weight_decay:
                    grad = grad.add(param, alpha=self.weight_decay)
                if self.momentum:
                    if "buf" not in state:
                        state["buf"] = grad.clone()
                    else:
                        state["buf"].mul_(self.momentum).add_(grad)
                    grad = state["buf"]
                param.sub_(lr * grad)
                continue
            if self.kind == "adamw":
                param.mul_(1 - lr * self.weight_decay)
            elif self.weight_decay:
                grad = grad.add(param, alpha=self.weight_decay)
            if "m" not in state:
                state["m"] = torch.zeros_like(param)
                state["v"] = torch.zeros_like(param)
            state["m"].lerp_(grad, 1 - beta1)
            state["v"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias1 = 1 - beta1**self.step_count
            bias2_sqrt = (1 - beta2**self.step_count) ** 0.5
            denom = (state["v"].sqrt() / bias2_sqrt).add_(self.eps)
            param.sub_((lr / bias1) * state["m"] / denom)


def torch_optimizer(kind: str, params: Sequence[torch.Tensor], *, lr: float, weight_decay: float = 0.0,
                    momentum: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                    eps: float = 1e-8) -> torch.optim.Optimizer:
    """The reference ``torch.optim`` optimizer for one member (single-tensor implementation)."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=False)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
    raise ValueError(f"optimizer {kind!r} is not one of {OPTIMIZERS}")


def clip_per_member(grads: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale each member's gradient so its global L2 norm (over all tensors) is at most ``max_norm``.

    Same formula as ``torch.nn.utils.clip_grad_norm_`` (coefficient ``max_norm / (norm + 1e-6)``
    clamped at 1), but per member, never over the stacked tensors. Returns the norms, shape [S].
    """
    squares = sum(g.pow(2).reshape(g.shape[0], -1).sum(dim=1) for g in grads)
    norms = squares.sqrt()
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(_per_member(coef, g))
    return norms
