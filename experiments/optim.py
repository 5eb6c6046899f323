"""Optimizers over a flat ensemble buffer ``[S, P]`` (row i = member i's parameters), one lr per member.

The update rules are exactly ``torch.optim.SGD``, ``Adam`` and ``AdamW`` applied element-wise, so S
members updated together equal S separate ``torch.optim`` optimizers — the equivalence test checks it
in float64. Two implementations of the same rule:

* fused (default where PyTorch has the kernel, CPU and CUDA): ``torch._fused_adam_`` /
  ``_fused_adamw_`` / ``_fused_sgd_``, the kernels behind ``torch.optim.*(fused=True)``, called once
  per distinct learning rate with the members' rows as a tensor list. Passing rows (never the whole
  buffer) keeps every member's arithmetic identical whatever chunk it is in: a vectorized kernel
  treats the tail of each tensor with scalar code, so a whole-buffer call would round a member's
  last elements differently depending on its position in the chunk.
* exact (the fallback, and the reference the fused path is tested against): the single-tensor
  formulas of ``torch/optim/{sgd,adam}.py`` on the whole buffer with a ``[S, 1]`` learning rate.

Element-wise rules never mix members; only the learning rate and gradient clipping need per-member
handling.

References
----------
Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization"; Loshchilov & Hutter (2019),
"Decoupled Weight Decay Regularization" (AdamW); PyTorch ``torch/optim/{sgd,adam,adamw}.py``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

OPTIMIZERS = ("adam", "adamw", "sgd")
_FUSED = {"adam": "_fused_adam_", "adamw": "_fused_adamw_", "sgd": "_fused_sgd_"}


def fused_available(kind: str, device: torch.device) -> bool:
    """Whether this PyTorch has the fused ``kind`` kernel for ``device`` (CPU kernels since 2.4)."""
    return device.type in ("cpu", "cuda") and hasattr(torch, _FUSED[kind])


class StackedOptimizer:
    """SGD (with momentum), Adam or AdamW over a flat parameter buffer ``[S, P]``.

    Like ``torch.optim``, it is bound to its parameters (and their gradient buffer) at construction;
    :meth:`step` reads ``grads`` (already clipped) and updates ``params`` in place.

    Parameters
    ----------
    kind : {"adam", "adamw", "sgd"}
    params, grads : Tensor, shape [S, P], contiguous
        Parameters and gradients, one row per member.
    lr : Tensor, shape [S]
        Learning rate of each member.
    weight_decay : float
        L2 penalty added to the gradient (sgd, adam) or decoupled decay (adamw).
    momentum : float
        SGD momentum (PyTorch convention: the first step uses the raw gradient as buffer).
    betas, eps : Adam(W) constants.
    fused : bool, optional
        Use the fused kernels (default: where available) or the exact element-wise formulas.
    """

    def __init__(self, kind: str, params: torch.Tensor, grads: torch.Tensor, lr: torch.Tensor, *,
                 weight_decay: float = 0.0, momentum: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, fused: bool | None = None) -> None:
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer {kind!r} is not one of {OPTIMIZERS}")
        if params.dim() != 2 or params.shape != grads.shape or not params.is_contiguous():
            raise ValueError("params and grads must be contiguous [S, P] buffers of the same shape")
        self.kind, self.params, self.grads, self.lr = kind, params, grads, lr
        self.weight_decay, self.momentum, self.betas, self.eps = weight_decay, momentum, betas, eps
        self.fused = fused_available(kind, params.device) if fused is None else fused
        self.step_count = 0
        if kind == "sgd":
            self.state = {"buf": torch.zeros_like(params)} if momentum else {}
        else:
            self.state = {"m": torch.zeros_like(params), "v": torch.zeros_like(params)}
        # fused path: members grouped by learning rate, as lists of row views (bound once)
        self.groups: list[tuple[float, list[int]]] = []
        for i, value in enumerate(lr.tolist()):
            for group_lr, rows in self.groups:
                if group_lr == value:
                    rows.append(i)
                    break
            else:
                self.groups.append((value, [i]))
        self.step_tensor = torch.zeros((), dtype=torch.float32, device=params.device)
        buffers = [params, grads] + list(self.state.values())
        unbound = [buf.unbind(0) for buf in buffers]
        self.group_rows = [[[r[i] for i in rows] for r in unbound] for _, rows in self.groups]

    @torch.no_grad()
    def step(self) -> None:
        """Apply one update in place to ``params`` given their (already clipped) ``grads``."""
        self.step_count += 1
        if self.fused:
            self._fused_step()
        else:
            self._exact_step()

    def _fused_step(self) -> None:
        self.step_tensor.fill_(self.step_count)
        beta1, beta2 = self.betas
        for (lr, _), rows in zip(self.groups, self.group_rows):
            if self.kind == "sgd":
                params, grads, *bufs = rows
                torch._fused_sgd_(params, grads, bufs[0] if bufs else [], weight_decay=self.weight_decay,
                                  momentum=self.momentum, lr=lr, dampening=0.0, nesterov=False, maximize=False,
                                  is_first_step=self.step_count == 1)
                continue
            params, grads, m, v = rows
            kernel = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
            kernel(params, grads, m, v, [], [self.step_tensor] * len(params), lr=lr, beta1=beta1, beta2=beta2,
                   weight_decay=self.weight_decay, eps=self.eps, amsgrad=False, maximize=False)

    def _exact_step(self) -> None:
        param, grad, state = self.params, self.grads, self.state
        lr = self.lr.reshape(-1, 1)
        if self.kind == "sgd":
            if self.weight_decay:
                grad = grad.add(param, alpha=self.weight_decay)
            if self.momentum:
                if self.step_count == 1:
                    state["buf"].copy_(grad)
                else:
                    state["buf"].mul_(self.momentum).add_(grad)
                grad = state["buf"]
            param.sub_(lr * grad)
            return
        beta1, beta2 = self.betas
        if self.kind == "adamw":
            param.mul_(1 - lr * self.weight_decay)
        elif self.weight_decay:
            grad = grad.add(param, alpha=self.weight_decay)
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


def clip_per_member(grads: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Scale each row of ``grads [S, P]`` so its L2 norm (the member's global norm) is at most ``max_norm``.

    Same formula as ``torch.nn.utils.clip_grad_norm_`` (coefficient ``max_norm / (norm + 1e-6)``
    clamped at 1), but per member, never over the whole buffer. Returns the norms, shape [S].
    """
    norms = torch.linalg.vector_norm(grads, dim=1)
    coef = (max_norm / (norms + 1e-6)).clamp_(max=1.0)
    if grads.device.type != "cpu":
        grads.mul_(coef.unsqueeze(1))
        return norms
    # on the CPU (no sync cost) scale only the members that need it: ×1.0 is exact, so this is the
    # same result, and late in training few members are clipped on a given step
    clipped = (coef < 1.0).nonzero().flatten().tolist()
    if 2 * len(clipped) > len(coef):
        grads.mul_(coef.unsqueeze(1))
    else:
        for i in clipped:
            grads[i].mul_(coef[i])
    return norms
