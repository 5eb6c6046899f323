"""The training losses, by name: a validated registry (an unknown name is an error, never a default).

Each :class:`Loss` works on a seed ensemble: outputs ``out [S, B, C]`` and targets ``y [S, B, ...]``
(class indices for ``"ce"``, values for ``"mse"``), and gives

* ``per_member(out, y)``: each member's mean loss, shape ``[S]`` (differentiable; the trainer sums it
  over members, so members never couple);
* ``score(out, y)``: each member's accuracy-like score, shape ``[S]`` (the curves' ``eval_acc``);
* ``output_grad(out, y)``: ``per_member`` and the gradient of its sum with respect to ``out`` in closed
  form, without autograd (the hand-batched MLP step of :mod:`experiments.trainer`). It may overwrite
  ``out``'s temporaries but never ``out`` itself.

To add a loss, write the three functions and call :func:`register_loss`; ``TrainSpec(loss=...)`` and
every task that names it then accept it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "Loss", "get_loss", "member_losses", "member_scores", "register_loss"]

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Loss:
    """A named ensemble loss (see the module docstring for the three functions' contracts)."""

    name: str
    description: str
    per_member: Fn
    score: Fn
    output_grad: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


LOSSES: dict[str, Loss] = {}


def register_loss(loss: Loss) -> Loss:
    """Add ``loss`` to :data:`LOSSES` (a name may be registered once)."""
    if loss.name in LOSSES:
        raise ValueError(f"loss {loss.name!r} is already registered")
    LOSSES[loss.name] = loss
    return loss


def get_loss(name: str) -> Loss:
    """The registered loss called ``name``; any other name is a ``ValueError`` that lists the choices."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}") from None


def member_losses(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-member mean loss, shape [S], from outputs ``[S, B, C]`` and targets ``[S, B, ...]``."""
    return get_loss(loss).per_member(out, y)


def member_scores(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-member score, shape [S] (ce: accuracy; mse: sign agreement with one output, else R²)."""
    return get_loss(loss).score(out, y)


# --- cross-entropy on class indices -----------------------------------------------------------------

def _ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    flat = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none")
    return flat.reshape(out.shape[0], -1).mean(dim=1)


def _ce_score(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out.argmax(-1) == y).to(out.dtype).mean(dim=1)


def _ce_grad(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-sum-exp by hand (``log_softmax``'s kernel is slow along a last dim of 2–10); the gradient is
    ``(softmax − one-hot) / per-member batch size``."""
    per_member = out[0].numel() // out.shape[-1]
    target = y.reshape(*out.shape[:-1], 1)
    shifted = out - out.amax(dim=-1, keepdim=True)
    exp = shifted.exp()
    total = exp.sum(dim=-1, keepdim=True)
    losses = (total.log() - shifted.gather(-1, target)).reshape(out.shape[0], -1).mean(dim=1)
    grad = exp.div_(total.mul_(per_member))
    grad.scatter_add_(-1, target, torch.full(target.shape, -1.0 / per_member, dtype=out.dtype,
                                             device=out.device))
    return losses, grad


# --- mean squared error -----------------------------------------------------------------------------

def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out.reshape(y.shape) - y).pow(2).reshape(out.shape[0], -1).mean(dim=1)


def _mse_score(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if out.shape[-1] == 1:
        return (torch.sign(out.reshape(y.shape)) == torch.sign(y)).to(out.dtype).mean(dim=1)
    resid = (out.reshape(y.shape) - y).pow(2).reshape(out.shape[0], -1).mean(dim=1)
    return 1 - resid / y.var(unbiased=False).clamp_min(1e-12)


def _mse_grad(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    per_member = y[0].numel()
    diff = out.reshape(y.shape) - y
    losses = diff.pow(2).reshape(out.shape[0], -1).mean(dim=1)
    return losses, diff.mul_(2.0 / per_member).reshape(out.shape)


register_loss(Loss("ce", "cross-entropy on class indices; score = accuracy", _ce, _ce_score, _ce_grad))
register_loss(Loss("mse", "mean squared error on values; score = sign agreement (one output) or R²",
                   _mse, _mse_score, _mse_grad))
