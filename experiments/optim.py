"""Optimizers over a flat ensemble buffer ``[S, P]`` (row i = member i's parameters), one lr per member.

The update rules are exactly ``torch.optim.SGD``, ``Adam`` and ``AdamW`` applied element-wise, so S
members updated together equal S separate ``torch.optim`` optimizers — the equivalence test checks it
in float64. Three implementations of the same rule, tried in this order:

* ``"kernel"`` (default where it works): the fused kernels behind ``torch.optim.*(fused=True)``
  (``torch._fused_adam_`` / ``_fused_adamw_`` / ``_fused_sgd_``) called directly, once per distinct
  learning rate with the members' rows as a tensor list. These are private PyTorch functions, so they
  are guarded: used only if the attribute exists and a probe call with our exact arguments succeeds
  on the buffer's device and dtype (:func:`private_kernel`); otherwise the next implementation runs.
* ``"torch"``: the public ``torch.optim.{Adam,AdamW,SGD}(fused=True)`` over the same row views (one
  parameter group per learning rate, each row's ``.grad`` bound to its gradient row). It calls the
  same kernels with the same arguments, so it is bit-for-bit the ``"kernel"`` result (tested by
  forcing it), at ~0.2 ms more Python per step.
* ``"exact"`` (where PyTorch has no fused kernel for the device/dtype, or ``fused=False``; also the
  reference the fused paths are tested against): the single-tensor formulas of
  ``torch/optim/{sgd,adam}.py`` on the whole buffer with a ``[S, 1]`` learning rate.

Passing rows (never the whole buffer) to a fused kernel keeps every member's arithmetic identical
whatever chunk it is in: a vectorized kernel treats the tail of each tensor with scalar code, so a
whole-buffer call would round a member's last elements differently depending on its position.

Element-wise rules never mix members; only the learning rate and gradient clipping need per-member
handling.

References
----------
Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization"; Loshchilov & Hutter (2019),
"Decoupled Weight Decay Regularization" (AdamW); PyTorch ``torch/optim/{sgd,adam,adamw}.py``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd")
IMPLEMENTATIONS = ("kernel", "torch", "exact")
_PRIVATE = {"adam": "_fused_adam_", "adamw": "_fused_adamw_", "sgd": "_fused_sgd_"}
_PUBLIC = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def _call_kernel(kernel: Callable[..., Any], kind: str, rows: Sequence[list[torch.Tensor]], *, lr: float,
                 step: torch.Tensor, step_count: int, weight_decay: float, momentum: float,
                 betas: tuple[float, float], eps: float) -> None:
    """One private fused-kernel call on ``rows`` = [params, grads, *state] (lists of row tensors)."""
    if kind == "sgd":
        params, grads, *bufs = rows
        kernel(params, grads, bufs[0] if bufs else [], weight_decay=weight_decay, momentum=momentum, lr=lr,
               dampening=0.0, nesterov=False, maximize=False, is_first_step=step_count == 1)
        return
    params, grads, m, v = rows
    kernel(params, grads, m, v, [], [step] * len(params), lr=lr, beta1=betas[0], beta2=betas[1],
           weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)


def private_kernel(kind: str, device: torch.device, dtype: torch.dtype) -> Callable[..., Any] | None:
    """``torch._fused_<kind>_`` if this PyTorch has it and it accepts our arguments on ``device`` and
    ``dtype`` (probed on one-element tensors), else None: a private API, so never assumed."""
    kernel = getattr(torch, _PRIVATE[kind], None)
    if kernel is None or device.type not in ("cpu", "cuda"):
        return None
    probe = [[torch.zeros(1, dtype=dtype, device=device)] for _ in range(2 if kind == "sgd" else 4)]
    try:
        _call_kernel(kernel, kind, probe, lr=0.0, step=torch.ones((), dtype=torch.float32, device=device),
                     step_count=1, weight_decay=0.0, momentum=0.0, betas=(0.9, 0.999), eps=1e-8)
    except (TypeError, RuntimeError, NotImplementedError) as exc:
        logger.info("private kernel torch.%s unusable (%s); using torch.optim", _PRIVATE[kind], exc)
        return None
    return kernel


def fused_available(kind: str, device: torch.device, dtype: torch.dtype = torch.float32) -> bool:
    """Whether ``torch.optim``'s fused ``kind`` supports ``device`` and ``dtype`` (CPU kernels since 2.4)."""
    try:
        _PUBLIC[kind]([torch.zeros(1, dtype=dtype, device=device)], lr=0.0, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


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
        True: a fused kernel ("kernel", else "torch"); False: the exact element-wise formulas;
        None (default): the first of "kernel", "torch", "exact" that works here.
    implementation : {"kernel", "torch", "exact"}, optional
        Force one implementation (tests); overrides ``fused``. The chosen one is ``.implementation``.
    """

    def __init__(self, kind: str, params: torch.Tensor, grads: torch.Tensor, lr: torch.Tensor, *,
                 weight_decay: float = 0.0, momentum: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, fused: bool | None = None, implementation: str | None = None) -> None:
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer {kind!r} is not one of {OPTIMIZERS}")
        if implementation is not None and implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation {implementation!r} is not one of {IMPLEMENTATIONS}")
        if params.dim() != 2 or params.shape != grads.shape or not params.is_contiguous():
            raise ValueError("params and grads must be contiguous [S, P] buffers of the same shape")
        self.kind, self.params, self.grads, self.lr = kind, params, grads, lr
        self.weight_decay, self.momentum, self.betas, self.eps = weight_decay, momentum, betas, eps
        self.step_count = 0
        self.kernel = None
        if implementation is None:
            implementation = "exact" if fused is False else "kernel"
        if implementation == "kernel":
            self.kernel = private_kernel(kind, params.device, params.dtype)
            implementation = "kernel" if self.kernel is not None else "torch"
        if implementation == "torch" and not fused_available(kind, params.device, params.dtype):
            if fused:
                raise ValueError(f"no fused {kind} for {params.dtype} on {params.device.type}")
            implementation = "exact"
        self.implementation = implementation
        # members grouped by learning rate (the fused paths take one lr per call)
        self.groups: list[tuple[float, list[int]]] = []
        for i, value in enumerate(lr.tolist()):
            for group_lr, rows in self.groups:
                if group_lr == value:
                    rows.append(i)
                    break
            else:
                self.groups.append((value, [i]))
        self.state: dict[str, torch.Tensor] = {}
        if implementation == "torch":
            self._bind_torch_optim()
            return
        if kind == "sgd":
            self.state = {"buf": torch.zeros_like(params)} if momentum else {}
        else:
            self.state = {"m": torch.zeros_like(params), "v": torch.zeros_like(params)}
        # kernel path: lists of row views, bound once
        self.step_tensor = torch.zeros((), dtype=torch.float32, device=params.device)
        buffers = [params, grads] + list(self.state.values())
        unbound = [buf.unbind(0) for buf in buffers]
        self.group_rows = [[[r[i] for i in rows] for r in unbound] for _, rows in self.groups]

    def _bind_torch_optim(self) -> None:
        """The public fallback: a fused ``torch.optim`` optimizer over row views, one group per lr."""
        rows, grad_rows = self.params.unbind(0), self.grads.unbind(0)
        for row, grad in zip(rows, grad_rows):
            row.grad = grad  # a view: the optimizer reads the (clipped) gradient buffer in place
        groups = [{"params": [rows[i] for i in members], "lr": lr} for lr, members in self.groups]
        if self.kind == "sgd":
            self.optim = torch.optim.SGD(groups, lr=self.groups[0][0], momentum=self.momentum,
                                         weight_decay=self.weight_decay, fused=True)
        else:
            self.optim = _PUBLIC[self.kind](groups, lr=self.groups[0][0], betas=self.betas, eps=self.eps,
                                            weight_decay=self.weight_decay, fused=True)

    @torch.no_grad()
    def step(self) -> None:
        """Apply one update in place to ``params`` given their (already clipped) ``grads``."""
        self.step_count += 1
        if self.implementation == "kernel":
            self._kernel_step()
        elif self.implementation == "torch":
            self.optim.step()
        else:
            self._exact_step()

    def _kernel_step(self) -> None:
        self.step_tensor.fill_(self.step_count)
        kernel = self.kernel
        assert kernel is not None
        for (lr, _), rows in zip(self.groups, self.group_rows):
            _call_kernel(kernel, self.kind, rows, lr=lr, step=self.step_tensor, step_count=self.step_count,
                         weight_decay=self.weight_decay, momentum=self.momentum, betas=self.betas,
                         eps=self.eps)

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
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                 foreach=False)
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
