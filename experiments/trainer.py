"""Seed-ensemble trainer: S members trained at once (vectorized) or one by one (reference loop).

Each :class:`Member` has its own init seed, data-order seed, learning-rate / batch-size / init-scale
multipliers, optimizer and an optional one-ulp nudge, so protocols can change exactly one thing.
Per-member losses are *summed* (never averaged across members) and gradients are clipped per member,
so members never couple: a member's result does not depend on which members share its chunk.

One training loop (:func:`_train_chunk`: data order, hooks, curves, checkpoints) drives a pluggable
:class:`StepStrategy` that computes each optimizer step:

* :class:`LoopStep` — the reference: one ``nn.Module`` per member, autograd, ``torch.optim``;
* :class:`VmapStep` — every architecture: ``functional_call`` under ``vmap`` over the parameters kept
  as rows of one flat ``[S, P]`` buffer, so clipping and the optimizer (:mod:`experiments.optim`)
  are whole-buffer operations;
* :class:`TwoPathwayStep` — the two-pathway linear network with a hand-batched forward;
* :class:`ClosedFormMLPStep` — plain MLPs with a hand-batched forward and closed-form backward
  (``baddbmm``/``bmm`` over the seed dimension, no autograd; :mod:`experiments.nets`).

:func:`select_strategy` picks one (``train_ensemble(strategy=...)`` forces one). Losses come from the
registry in :mod:`experiments.losses`; an unknown loss name is an error. In float64 every strategy
agrees with the loop to ~1e-12 (tests/experiments/test_trainer.py).

Hooks serve the protocols of docs/experiments.md: start from given stacked parameters (spawning,
nudging), transform batches for some steps (counter-examples, blur), schedule model keyword
arguments (modadd ``alpha``), freeze masked parameters (blocked pathway), and observe checkpoints.

Environment: ``PATHMARKET_VECTORIZED_MEMBERS`` overrides how many members one vectorized chunk holds
(:func:`default_chunk_size`). It was called ``PATHMARKET_SEED_CHUNK``, which still works but is
deprecated: it was too easily confused with ``PATHMARKET_SEED_CHUNK_SIZE``, the number of seeds per
Celery training task (settings ``PATHMARKET["SEED_CHUNK_SIZE"]``), a different thing.
"""
from __future__ import annotations

import itertools
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from experiments.losses import get_loss, member_losses, member_scores
from experiments.nets import (
    MLP,
    SmallCNN,
    Transformer,
    TwoPathwayLinear,
    init_module,
    init_tensor,
    mlp_ensemble_backward,
    mlp_ensemble_forward,
    mlp_ensemble_layers,
    two_pathway_ensemble_forward,
)
from experiments.optim import OPTIMIZERS, StackedOptimizer, clip_per_member, torch_optimizer

logger = logging.getLogger(__name__)

VECTORIZED_MEMBERS_ENV = "PATHMARKET_VECTORIZED_MEMBERS"
DEPRECATED_VECTORIZED_MEMBERS_ENV = "PATHMARKET_SEED_CHUNK"

CHECKPOINT_FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
Progress = Callable[[float, str], None]
Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainSpec:
    """How to train (shared by every member of a run)."""

    steps: int
    """Optimizer steps (≥ 1)."""
    lr: float
    """Base learning rate; each member multiplies it by ``Member.lr_mult``."""
    batch_size: int
    """Examples per step and member; ≥ the training-set size means full batch (no shuffling)."""
    optimizer: str = "adam"
    """"adam", "adamw" or "sgd"; ``Member.optimizer`` may override it."""
    weight_decay: float = 0.0
    """L2 (sgd/adam) or decoupled (adamw) weight decay."""
    momentum: float = 0.9
    """SGD momentum."""
    grad_clip: float | None = 1.0
    """Per-member global gradient-norm cap; None disables clipping."""
    loss: str = "ce"
    """A name in :data:`experiments.losses.LOSSES`: "ce" (cross-entropy on class indices) or "mse"."""
    eval_points: int = 20
    """Number of evenly spaced evaluations of the curves (plus step 0)."""
    checkpoint_fractions: tuple[float, ...] = CHECKPOINT_FRACTIONS
    """Fractions of training at which checkpoints are taken."""

    def __post_init__(self) -> None:
        get_loss(self.loss)  # an unknown loss is an error here, not a silent default later
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} is not one of {OPTIMIZERS}")


@dataclass(frozen=True)
class Member:
    """One ensemble member: its seeds and the one-thing-changed knobs of protocol B."""

    seed: int
    """Run seed; init and data-order seeds derive from it unless given."""
    init_seed: int | None = None
    """Seed of the initial weights (default: derived from ``seed``)."""
    data_seed: int | None = None
    """Seed of the data order (default: derived from ``seed``)."""
    lr_mult: float = 1.0
    """Multiplier on ``TrainSpec.lr``."""
    batch_mult: float = 1.0
    """Multiplier on ``TrainSpec.batch_size`` (rounded)."""
    init_scale: float = 1.0
    """Multiplier on the initial weights' standard deviation."""
    optimizer: str | None = None
    """Overrides ``TrainSpec.optimizer``."""
    ulp_nudge: bool = False
    """Move the first weight of the first weight tensor up by one ulp (``torch.nextafter``)."""
    ulp_param: str | None = None
    """Name of the tensor whose first element the nudge moves (default: the first weight tensor, which
    on digits multiplies an always-zero corner pixel and so never matters)."""


@dataclass
class Hooks:
    """Optional callbacks; every tensor argument has a leading member dimension S."""

    batch_transform: Callable[[int, torch.Tensor, torch.Tensor, Sequence[Member]],
                              tuple[torch.Tensor, torch.Tensor]] | None = None
    """``(step, x [S,B,...], y [S,B,...], members) -> (x, y)`` before each step."""
    model_kwargs: Callable[[int], dict[str, Any]] | None = None
    """``step -> kwargs`` passed to ``forward`` (not batched over members), e.g. ``{"alpha": 0.0}``."""
    param_mask: Callable[[int, Sequence[Member]], dict[str, torch.Tensor] | None] | None = None
    """``(step, members) -> {name: mask [S, ...]}``: entries with mask 0 stay frozen this step."""
    on_checkpoint: Callable[[float, int, Params, Sequence[Member]], None] | None = None
    """``(fraction, step, stacked params, members)`` at each checkpoint fraction."""


@dataclass
class TrainResult:
    """Final stacked parameters (CPU), curves and optional checkpoints of all members, in order."""

    members: list[Member]
    params: Params
    curves: dict[str, np.ndarray]
    checkpoints: dict[float, Params] = field(default_factory=dict)

    def member_params(self, index: int, *, fraction: float | None = None) -> Params:
        """Un-stacked parameters of one member (final, or at a kept checkpoint ``fraction``)."""
        source = self.params if fraction is None else self.checkpoints[fraction]
        return unstack(source, index)


def derive_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one random stream ("init", "data", ...) of a run seed."""
    entropy = [int(seed) & 0xFFFFFFFF, int(seed) >> 32] + [ord(c) for c in stream]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] & ((1 << 63) - 1))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → cuda when available, else cpu. CUDA runs use deterministic kernels, no TF32."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but CUDA is not available")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return device


def default_chunk_size(model: nn.Module, device: torch.device) -> int:
    """Members per vectorized chunk, from benchmarks/ensemble_training.py on each device kind.

    On the 2-core CPU (1 torch thread) the hand-batched MLP path runs at ~85–95% of MKL's batched
    matmul speed up to ~16 members and loses ~15% per member at 32–128 (the chunk's parameters,
    Adam state and activations no longer fit in cache), so plain MLPs use chunks of 16. The modadd
    transformer is compute-bound (the loop already reaches ~50% of the matmul roofline) and
    vectorizing it was 0.5–0.8× the loop at 8–32 members (cache pressure); the digits CNN under
    ``vmap`` measured 0.85–1.2× the loop (grouped convolutions and pooling on a seed-interleaved
    layout). Their entries are 1, which makes :func:`train_ensemble` use the reference loop. The
    choice depends only on the model and device, never on how many seeds a chunk holds, so a seed's
    result never depends on its chunk. ``PATHMARKET_VECTORIZED_MEMBERS`` (formerly
    ``PATHMARKET_SEED_CHUNK``) overrides the table.
    """
    override = vectorized_members_override()
    if override is not None:
        return override
    kinds = {type(m) for m in model.modules()}
    if device.type == "cuda":
        return 256
    if Transformer in kinds or SmallCNN in kinds:
        return 1
    if type(model) is MLP:
        return 16
    return 128


def vectorized_members_override() -> int | None:
    """``PATHMARKET_VECTORIZED_MEMBERS`` (≥ 1), else the deprecated ``PATHMARKET_SEED_CHUNK`` with a
    warning, else None."""
    name = VECTORIZED_MEMBERS_ENV
    value = os.environ.get(name, "").strip()
    if not value and os.environ.get(DEPRECATED_VECTORIZED_MEMBERS_ENV, "").strip():
        name = DEPRECATED_VECTORIZED_MEMBERS_ENV
        value = os.environ[name].strip()
        message = (f"{DEPRECATED_VECTORIZED_MEMBERS_ENV} is deprecated; set {VECTORIZED_MEMBERS_ENV} instead "
                   "(PATHMARKET_SEED_CHUNK_SIZE, seeds per Celery task, is a different setting)")
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        logger.warning(message)
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        raise ValueError(f"{name} must be a whole number of members, got {value!r}") from None


def stack(params: Sequence[Params]) -> Params:
    """Stack per-member parameter dicts along a new leading dimension."""
    return {k: torch.stack([p[k] for p in params]) for k in params[0]}


def unstack(params: Params, index: int) -> Params:
    """Member ``index`` of stacked parameters, as independent tensors."""
    return {k: v[index].clone() for k, v in params.items()}


def interpolate(theta_a: Params, theta_b: Params, t: float) -> Params:
    """``(1 − t)·θ_a + t·θ_b`` (works stacked or un-stacked); used for LMC paths and nudges."""
    return {k: torch.lerp(theta_a[k], theta_b[k], t) for k in theta_a}


def ensemble_apply(model: nn.Module, params: Params, x: torch.Tensor, *, shared: bool = True,
                   chunk: int = 4096, **kwargs: Any) -> torch.Tensor:
    """Outputs ``[S, N, ...]`` of stacked ``params`` on inputs ``x`` (``[N, ...]`` if shared, else
    ``[S, N, ...]``), without gradients, in chunks of ``chunk`` examples. ``kwargs`` go to forward."""
    def one(p: Params, xx: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xx,), kwargs)

    def mlp(p: Params, xx: torch.Tensor) -> torch.Tensor:  # hand-batched, several times faster
        assert isinstance(model, MLP)
        layers = mlp_ensemble_layers(model, p)
        acts = mlp_ensemble_forward(layers, xx.expand(len(layers[0][0]), *xx.shape) if shared else xx)
        return acts[-2] if kwargs.get("features") else acts[-1]

    fast = type(model) is MLP and set(kwargs) <= {"features"}
    fn = mlp if fast else vmap(one, in_dims=(0, None if shared else 0))
    n = x.shape[0 if shared else 1]
    with torch.no_grad():
        parts = [fn(params, x[i:i + chunk] if shared else x[:, i:i + chunk]) for i in range(0, n, chunk)]
    return torch.cat(parts, dim=1)


def evaluate_params(model: nn.Module, params: Params, x: torch.Tensor, y: torch.Tensor, *, loss: str,
                    **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss [S], score [S]) of arbitrary stacked parameters, e.g. points on an LMC path."""
    out = ensemble_apply(model, params, x, **kwargs)
    target = y.unsqueeze(0).expand(out.shape[0], *y.shape)
    return member_losses(out, target, loss), member_scores(out, target, loss)


def _losses_and_output_grad(out: torch.Tensor, y: torch.Tensor,
                            loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`member_losses` ``[S]`` and the gradient of their sum with respect to ``out``, in closed form."""
    return get_loss(loss).output_grad(out, y)


def _init_seed(member: Member) -> int:
    return member.init_seed if member.init_seed is not None else derive_seed(member.seed, "init")


def _nudge_target(member: Member, named: Iterable[tuple[str, torch.Tensor]]) -> str:
    """The parameter whose first element the ulp nudge moves: ``Member.ulp_param``, else the first
    tensor with ≥ 2 dimensions in sorted-name order (the same for the loop and the flat buffer)."""
    if member.ulp_param is not None:
        return member.ulp_param
    return next(k for k, p in sorted(named) if p.dim() >= 2)


def _initial_module(make_model: Callable[[], nn.Module], member: Member, dtype: torch.dtype,
                    device: torch.device, given: Params | None) -> nn.Module:
    module = make_model()
    seed = _init_seed(member)
    init_module(module, torch.Generator().manual_seed(seed), scale=member.init_scale)
    module = module.to(device=device, dtype=dtype)
    with torch.no_grad():
        if given is not None:
            for name, param in module.named_parameters():
                param.copy_(given[name])
        if member.ulp_nudge:
            named = dict(module.named_parameters())
            first = named[_nudge_target(member, named.items())].view(-1)
            first[0] = torch.nextafter(first[0], torch.tensor(float("inf"), dtype=dtype, device=device))
    return module


def _initial_flat(model: nn.Module, members: Sequence[Member], dtype: torch.dtype, device: torch.device,
                  given: Params | None) -> torch.Tensor:
    """Initial parameters of all members as the rows of one ``[S, P]`` buffer (``model.named_parameters()``
    order): exactly :func:`_initial_module`'s values — drawn in float64 by :func:`init_tensor`, rounded to
    the freshly made model's dtype, then to ``dtype``; or ``given``; then the ulp nudge — without
    building one module per member."""
    named = list(model.named_parameters())
    offsets = dict(zip([k for k, _ in named], itertools.accumulate([p.numel() for _, p in named], initial=0)))
    flat = torch.empty(len(members), sum(p.numel() for _, p in named), dtype=dtype, device=device)
    for i, member in enumerate(members):
        row = flat[i]
        if given is not None:
            torch.cat([given[k][i].reshape(-1) for k, _ in named], out=row)
        else:
            seed = _init_seed(member)
            generator = torch.Generator().manual_seed(seed)
            values = {k: init_tensor(p.shape, generator, scale=member.init_scale).to(p.dtype)
                      for k, p in sorted(named)}
            row.copy_(torch.cat([values[k].reshape(-1) for k, _ in named]))
        if member.ulp_nudge:
            j = offsets[_nudge_target(member, named)]
            row[j] = torch.nextafter(row[j], torch.tensor(float("inf"), dtype=dtype, device=device))
    return flat


class _BatchStream:
    """Per-member epoch permutations from each member's own data-order generator (drop-last)."""

    def __init__(self, members: Sequence[Member], n: int, batch: int, device: torch.device) -> None:
        self.n, self.batch, self.device = n, min(batch, n), device
        self.gens = [torch.Generator().manual_seed(
            m.data_seed if m.data_seed is not None else derive_seed(m.seed, "data")) for m in members]
        self.perms: torch.Tensor | None = None
        self.pos = n

    def next(self) -> torch.Tensor:
        if self.batch >= self.n:
            return torch.arange(self.n, device=self.device).expand(len(self.gens), self.n)
        if self.pos + self.batch > self.n:
            self.perms = torch.stack([torch.randperm(self.n, generator=g) for g in self.gens]).to(self.device)
            self.pos = 0
        assert self.perms is not None
        idx = self.perms[:, self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


def _schedule(spec: TrainSpec) -> tuple[set[int], dict[int, float]]:
    evals = {int(round(t)) for t in np.linspace(0, spec.steps, spec.eval_points + 1)}
    checkpoints: dict[int, float] = {}
    for frac in spec.checkpoint_fractions:
        checkpoints.setdefault(int(round(frac * spec.steps)), frac)
    return evals, checkpoints


# --- step strategies: how one optimizer step of a chunk's members is computed ----------------------

@dataclass(frozen=True)
class Chunk:
    """What a step strategy is built from: the members of one chunk and how to train them."""

    make_model: Callable[[], nn.Module]
    members: Sequence[Member]
    spec: TrainSpec
    lrs: torch.Tensor
    """Each member's learning rate ``[S]``, in the training dtype."""
    dtype: torch.dtype
    device: torch.device
    init_params: Params | None


class StepStrategy:
    """One optimizer step for the members of a chunk, which share optimizer kind and batch size.

    A strategy owns the chunk's parameters and optimizer; the loop (:func:`_train_chunk`) owns data
    order, hooks, curves and checkpoints. Subclasses: :class:`LoopStep` (the per-seed reference,
    S = 1), :class:`VmapStep` (any architecture), :class:`TwoPathwayStep` and
    :class:`ClosedFormMLPStep` (faster forwards/backwards of one architecture each). Every strategy
    computes the same update up to rounding; float64 agreement is tests/experiments/test_trainer.py.
    """

    name = ""
    model: nn.Module
    """A module of the architecture on the device (the loop's own parameters for :class:`LoopStep`)."""
    names: list[str]
    tensors: list[torch.Tensor]
    """Current parameters in ``names`` order, ``[S, ...]`` each (``[...]`` for the loop)."""

    def __init__(self, chunk: Chunk) -> None:
        self.members, self.spec, self.loss = chunk.members, chunk.spec, get_loss(chunk.spec.loss)
        self.kind = chunk.members[0].optimizer or chunk.spec.optimizer

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """Whether this strategy can train ``model``'s architecture."""
        return True

    def params(self) -> Params:
        """Current parameters, stacked ``[S, ...]`` (views, not copies)."""
        return dict(zip(self.names, self.tensors))

    def step(self, xb: torch.Tensor, yb: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        """One update on batches ``xb [S, B, ...]``, ``yb [S, B, ...]``; returns the losses ``[S]``."""
        raise NotImplementedError

    def member_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """A ``[S, ...]`` parameter mask in this strategy's parameter layout."""
        return mask


class LoopStep(StepStrategy):
    """The reference: one member's ``nn.Module`` trained with ``torch.optim`` and autograd."""

    name = "loop"

    def __init__(self, chunk: Chunk) -> None:
        super().__init__(chunk)
        if len(chunk.members) != 1:
            raise ValueError("the loop strategy trains one member at a time")
        given = None if chunk.init_params is None else unstack(chunk.init_params, 0)
        self.model = _initial_module(chunk.make_model, chunk.members[0], chunk.dtype, chunk.device, given)
        self.names = [k for k, _ in self.model.named_parameters()]
        self.tensors = list(self.model.parameters())
        self.opt = torch_optimizer(self.kind, self.tensors, lr=float(chunk.lrs[0]),
                                   weight_decay=self.spec.weight_decay,
                                   momentum=self.spec.momentum if self.kind == "sgd" else 0.0)

    def params(self) -> Params:
        return {k: t.unsqueeze(0) for k, t in zip(self.names, self.tensors)}

    def member_mask(self, mask: torch.Tensor) -> torch.Tensor:
        return mask[0]

    def step(self, xb: torch.Tensor, yb: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        losses = self.loss.per_member(self.model(xb[0], **kwargs).unsqueeze(0), yb)
        self.opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        if self.spec.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.tensors, self.spec.grad_clip, foreach=False)
        self.opt.step()
        return losses


class VmapStep(StepStrategy):
    """All members at once: ``functional_call`` under ``vmap`` and autograd, with every parameter a
    ``[S, ...]`` view of one flat ``[S, P]`` buffer (row = member) and a matching gradient buffer, so
    per-member clipping and the optimizer (:class:`experiments.optim.StackedOptimizer`) are a few
    whole-buffer operations. Subclasses replace :meth:`forward` or :meth:`gradients`."""

    name = "vmap"

    def __init__(self, chunk: Chunk) -> None:
        super().__init__(chunk)
        base = chunk.make_model()
        if not self.supports(base):
            raise ValueError(f"the {self.name!r} step strategy does not support {type(base).__name__}")
        self.flat = _initial_flat(base, chunk.members, chunk.dtype, chunk.device, chunk.init_params)
        self.model = base.to(device=chunk.device, dtype=chunk.dtype)  # its own parameters are never used
        named = list(self.model.named_parameters())
        self.names, self.shapes = [k for k, _ in named], [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.flat_grad = torch.empty_like(self.flat)  # fully written before every use
        self.tensors = [t.requires_grad_() for t in self.views(self.flat)]  # autograd leaves
        self.opt = StackedOptimizer(self.kind, self.flat, self.flat_grad, chunk.lrs,
                                    weight_decay=self.spec.weight_decay,
                                    momentum=self.spec.momentum if self.kind == "sgd" else 0.0)

    def views(self, buffer: torch.Tensor) -> list[torch.Tensor]:
        """``buffer [S, P]`` as one ``[S, ...]`` view per parameter."""
        chunks = buffer.split(self.sizes, dim=1)
        return [c.view(len(self.members), *shape) for c, shape in zip(chunks, self.shapes)]

    def forward(self, x: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        """Outputs ``[S, B, ...]`` of every member on its own batch, differentiable."""
        return vmap(lambda p, xx: functional_call(self.model, p, (xx,), kwargs))(self.params(), x)

    def gradients(self, xb: torch.Tensor, yb: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        """Write the gradient of the summed member losses into ``flat_grad``; return the losses."""
        losses = self.loss.per_member(self.forward(xb, kwargs), yb)
        grads = torch.autograd.grad(losses.sum(), self.tensors)
        torch.cat([g.reshape(len(self.members), -1) for g in grads], dim=1, out=self.flat_grad)
        return losses

    def step(self, xb: torch.Tensor, yb: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        losses = self.gradients(xb, yb, kwargs)
        if self.spec.grad_clip is not None:
            clip_per_member(self.flat_grad, self.spec.grad_clip)
        self.opt.step()
        return losses


class TwoPathwayStep(VmapStep):
    """:class:`VmapStep` with a hand-batched forward (one ``bmm`` per layer; vmap's overhead dominates
    this tiny linear network). Model keyword arguments fall back to ``vmap``."""

    name = "two_pathway"

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        return type(model) is TwoPathwayLinear

    def forward(self, x: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        if kwargs:
            return super().forward(x, kwargs)
        assert isinstance(self.model, TwoPathwayLinear)
        return two_pathway_ensemble_forward(self.model, self.params(), x)


class ClosedFormMLPStep(VmapStep):
    """Plain :class:`MLP`: hand-batched forward and closed-form backward (``baddbmm``/``bmm`` over the
    seed dimension, no autograd; :func:`experiments.nets.mlp_ensemble_forward`), gradients written
    straight into the flat gradient buffer. Model keyword arguments fall back to ``vmap``."""

    name = "mlp"

    def __init__(self, chunk: Chunk) -> None:
        super().__init__(chunk)
        assert isinstance(self.model, MLP)
        self.layers = mlp_ensemble_layers(self.model, self.params())
        self.grad_layers = mlp_ensemble_layers(self.model, dict(zip(self.names, self.views(self.flat_grad))))

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        return type(model) is MLP

    def gradients(self, xb: torch.Tensor, yb: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
        if kwargs:
            return super().gradients(xb, yb, kwargs)
        with torch.no_grad():
            acts = mlp_ensemble_forward(self.layers, xb)
            losses, grad_out = self.loss.output_grad(acts[-1], yb)
            mlp_ensemble_backward(self.layers, acts, grad_out, self.grad_layers)
        return losses


STEP_STRATEGIES: dict[str, type[StepStrategy]] = {
    s.name: s for s in (LoopStep, VmapStep, TwoPathwayStep, ClosedFormMLPStep)}
"""Strategies by name, for ``train_ensemble(strategy=...)``."""


def select_strategy(model: nn.Module, *, vectorized: bool = True,
                    strategy: str | None = None) -> type[StepStrategy]:
    """The step strategy for ``model``: ``strategy`` if named, else the loop when not ``vectorized``,
    else the fastest vectorized one that supports the architecture (closed-form MLP, batched two-pathway,
    then vmap)."""
    if strategy is not None:
        if strategy not in STEP_STRATEGIES:
            raise ValueError(f"unknown step strategy {strategy!r}; known: {', '.join(STEP_STRATEGIES)}")
        chosen = STEP_STRATEGIES[strategy]
        if not chosen.supports(model):
            raise ValueError(f"the {strategy!r} step strategy does not support {type(model).__name__}")
        return chosen
    if not vectorized:
        return LoopStep
    return next(s for s in (ClosedFormMLPStep, TwoPathwayStep, VmapStep) if s.supports(model))


def _train_chunk(make_model: Callable[[], nn.Module], x_train: torch.Tensor, y_train: torch.Tensor,
                 eval_set: tuple[torch.Tensor, torch.Tensor], spec: TrainSpec, members: Sequence[Member], *,
                 device: torch.device, dtype: torch.dtype, hooks: Hooks, init_params: Params | None,
                 keep_checkpoints: bool, strategy: type[StepStrategy],
                 tick: Callable[[int], None]) -> TrainResult:
    """Train one group of members sharing optimizer and batch size with one step ``strategy``."""
    lrs = torch.tensor([spec.lr * m.lr_mult for m in members], dtype=dtype, device=device)
    stepper = strategy(Chunk(make_model, members, spec, lrs, dtype, device, init_params))
    stream = _BatchStream(members, x_train.shape[0], round(spec.batch_size * members[0].batch_mult), device)
    evals, checkpoint_steps = _schedule(spec)
    x_eval, y_eval = eval_set
    curves: dict[str, list] = {"step": [], "train_loss": [], "eval_loss": [], "eval_acc": []}
    kept: dict[float, Params] = {}
    running, count = torch.zeros(len(members), dtype=dtype, device=device), 0

    def observe(step: int, kwargs: dict[str, Any]) -> None:
        nonlocal running, count
        if step not in evals and step not in checkpoint_steps:
            return
        snapshot = {k: v.detach() for k, v in stepper.params().items()}
        if step in evals:
            loss, acc = evaluate_params(stepper.model, snapshot, x_eval, y_eval, loss=spec.loss, **kwargs)
            curves["step"].append(step)
            curves["train_loss"].append((running / max(count, 1)).cpu() if count else loss.cpu())
            curves["eval_loss"].append(loss.cpu())
            curves["eval_acc"].append(acc.cpu())
            running, count = torch.zeros_like(running), 0
        if step in checkpoint_steps:
            frac = checkpoint_steps[step]
            if hooks.on_checkpoint is not None:
                hooks.on_checkpoint(frac, step, snapshot, members)
            if keep_checkpoints:
                kept[frac] = {k: v.clone().cpu() for k, v in snapshot.items()}

    observe(0, hooks.model_kwargs(0) if hooks.model_kwargs else {})
    for step in range(spec.steps):
        kwargs = hooks.model_kwargs(step) if hooks.model_kwargs else {}
        idx = stream.next()
        xb = x_train.index_select(0, idx.reshape(-1)).view(*idx.shape, *x_train.shape[1:])
        yb = y_train.index_select(0, idx.reshape(-1)).view(*idx.shape, *y_train.shape[1:])
        if hooks.batch_transform is not None:
            xb, yb = hooks.batch_transform(step, xb, yb, members)
        mask = (hooks.param_mask(step, members) if hooks.param_mask else None) or {}
        before = {k: t.detach().clone() for k, t in zip(stepper.names, stepper.tensors) if k in mask}
        losses = stepper.step(xb, yb, kwargs)
        if before:  # frozen entries (mask 0) get their values from before the step back
            with torch.no_grad():
                for k, t in zip(stepper.names, stepper.tensors):
                    if k in before:
                        t.copy_(torch.where(stepper.member_mask(mask[k]).bool(), t, before[k]))
        running, count = running + losses.detach(), count + 1
        observe(step + 1, kwargs)
        tick(len(members))
    final = {k: v.detach().clone().cpu() for k, v in stepper.params().items()}
    arrays = {"step": np.asarray(curves["step"])}
    for key in ("train_loss", "eval_loss", "eval_acc"):
        arrays[key] = torch.stack(curves[key], dim=1).numpy()
    return TrainResult(members=list(members), params=final, curves=arrays, checkpoints=kept)


def train_ensemble(make_model: Callable[[], nn.Module], x_train: torch.Tensor, y_train: torch.Tensor,
                   spec: TrainSpec, members: Sequence[Member], *,
                   eval_set: tuple[torch.Tensor, torch.Tensor] | None = None,
                   device: str | torch.device = "auto",
                   dtype: torch.dtype = torch.float32, hooks: Hooks | None = None,
                   init_params: Params | None = None, keep_checkpoints: bool = False,
                   vectorized: bool = True, chunk_size: int | None = None, strategy: str | None = None,
                   progress: Progress | None = None) -> TrainResult:
    """Train ``members`` and return their stacked final parameters, curves and checkpoints.

    Parameters
    ----------
    make_model : callable returning a fresh (un-initialised) ``nn.Module``.
    x_train, y_train : training inputs ``[N, ...]`` and targets (class indices or regression values).
    spec : TrainSpec
    members : sequence of Member
        Members are grouped by (optimizer, batch size) and each group is split into chunks of
        ``chunk_size`` (default :func:`default_chunk_size`); results come back in ``members`` order.
    eval_set : (x, y), optional
        Data for the curves; defaults to the training set.
    device : "auto", "cpu", "cuda" or a torch.device.
    dtype : torch.float32 or torch.float64 (the equivalence test).
    hooks : Hooks, optional
    init_params : stacked parameters ``[len(members), ...]`` to start from instead of the init seed.
    keep_checkpoints : keep stacked CPU copies at ``spec.checkpoint_fractions``.
    vectorized : False trains each member alone with ``torch.optim`` (the reference path).
    chunk_size : members trained together by a vectorized strategy (default :func:`default_chunk_size`).
    strategy : name in :data:`STEP_STRATEGIES` to force one step strategy (default :func:`select_strategy`).
    progress : ``(fraction, message)`` callback.

    Returns
    -------
    TrainResult
    """
    if spec.steps < 1 or not members:
        raise ValueError("need at least one step and one member")
    device = resolve_device(device)
    hooks = hooks or Hooks()
    x_train, y_train = x_train.to(device), y_train.to(device)
    if x_train.is_floating_point():
        x_train = x_train.to(dtype)
    if y_train.is_floating_point():
        y_train = y_train.to(dtype)
    if eval_set is None:
        eval_set = (x_train, y_train)
    else:
        x_eval, y_eval = (t.to(device) for t in eval_set)
        eval_set = (x_eval.to(dtype) if x_eval.is_floating_point() else x_eval,
                    y_eval.to(dtype) if y_eval.is_floating_point() else y_eval)
    if init_params is not None:
        init_params = {k: v.to(device=device, dtype=dtype) for k, v in init_params.items()}
    probe = make_model()
    if strategy == LoopStep.name:
        vectorized = False
    size = 1 if not vectorized else (chunk_size or default_chunk_size(probe, device))
    if chunk_size is None and size == 1 and strategy is None:
        vectorized = False  # the table says the loop is fastest for this model on this device
    stepper = select_strategy(probe, vectorized=vectorized, strategy=strategy)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, m in enumerate(members):
        group = (m.optimizer or spec.optimizer, round(spec.batch_size * m.batch_mult))
        groups.setdefault(group, []).append(i)
    chunks = [idx[j:j + size] for idx in groups.values() for j in range(0, len(idx), size)]
    total, done = spec.steps * len(members), 0
    every = max(1, total // 200)

    def tick(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if progress is not None and (done // every != before // every or done == total):
            progress(done / total, f"training {len(members)} seeds on {device.type}")

    results: dict[int, tuple[TrainResult, int]] = {}
    for chunk in chunks:
        sub = None if init_params is None else {k: v[chunk] for k, v in init_params.items()}
        res = _train_chunk(make_model, x_train, y_train, eval_set, spec, [members[i] for i in chunk],
                           device=device, dtype=dtype, hooks=hooks, init_params=sub,
                           keep_checkpoints=keep_checkpoints, strategy=stepper, tick=tick)
        for j, i in enumerate(chunk):
            results[i] = (res, j)
    order = [results[i] for i in range(len(members))]
    params = {k: torch.stack([r.params[k][j] for r, j in order]) for k in order[0][0].params}
    curves = {"step": order[0][0].curves["step"]}
    for key in ("train_loss", "eval_loss", "eval_acc"):
        curves[key] = np.stack([r.curves[key][j] for r, j in order])
    kept = {f: {k: torch.stack([r.checkpoints[f][k][j] for r, j in order]) for k in params}
            for f in (order[0][0].checkpoints if keep_checkpoints else {})}
    return TrainResult(members=list(members), params=params, curves=curves, checkpoints=kept)
