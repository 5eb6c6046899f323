"""The vectorized ensemble equals the per-seed reference loop, and members never couple.

The training tests run on the CPU; on a machine with a GPU, ``PATHMARKET_TEST_DEVICE=cuda`` runs the
same checks (equivalence in float64, chunk independence, determinism, hooks) through the CUDA path.
"""
import os

import numpy as np
import pytest
import torch

from experiments.nets import (
    MLP,
    SmallCNN,
    Transformer,
    TwoPathwayLinear,
    init_module,
    mlp_ensemble_backward,
    mlp_ensemble_forward,
    mlp_ensemble_layers,
    two_pathway_ensemble_forward,
)
from experiments.optim import StackedOptimizer, clip_per_member, torch_optimizer
from experiments.trainer import (
    Hooks,
    Member,
    TrainSpec,
    _initial_flat,
    _initial_module,
    _losses_and_output_grad,
    ensemble_apply,
    interpolate,
    member_losses,
    train_ensemble,
)

DEVICE = os.environ.get("PATHMARKET_TEST_DEVICE", "cpu")

F64 = torch.float64


def _max_diff(a, b):
    return max((a.params[k] - b.params[k]).abs().max().item() for k in a.params)


@pytest.fixture(scope="module")
def toy():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(96, 10, generator=gen)
    return x, (x[:, 0] + x[:, 1] > 0).long()


MIXED = [Member(seed=0), Member(seed=1, lr_mult=2.0), Member(seed=2, init_scale=1.1),
         Member(seed=3, optimizer="sgd"), Member(seed=4, batch_mult=1.5), Member(seed=5, ulp_nudge=True),
         Member(seed=6, init_seed=11, data_seed=12)]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_vectorized_equals_sequential_in_float64(toy, optimizer):
    x, y = toy
    spec = TrainSpec(steps=40, lr=0.02, batch_size=16, optimizer=optimizer, weight_decay=0.01, grad_clip=0.5)
    vec = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, MIXED, device=DEVICE, dtype=F64)
    seq = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, MIXED, device=DEVICE, dtype=F64, vectorized=False)
    assert _max_diff(vec, seq) < 1e-10
    for key in ("train_loss", "eval_loss", "eval_acc"):
        assert np.allclose(vec.curves[key], seq.curves[key], atol=1e-10)


@pytest.mark.parametrize("make", [
    lambda: Transformer(7, 2, 16, 7, alpha=0.5),
    lambda: SmallCNN(2, 3, side=4),
    lambda: TwoPathwayLinear(2, 2, 4, 1, depth=2),
    lambda: MLP(4, 8, 1),
])
def test_vectorized_equals_sequential_for_every_architecture_with_hooks(make):
    model = make()
    if isinstance(model, Transformer):
        x = torch.randint(0, 7, (49, 2))
        y = x.sum(1) % 7
        loss = "ce"
    elif isinstance(model, SmallCNN):
        x = torch.randn(40, 16, generator=torch.Generator().manual_seed(1))
        y = (x[:, :3].sum(1) > 0).long() + (x[:, 5] > 1).long()
        loss = "ce"
    else:
        x = torch.randn(40, 4, generator=torch.Generator().manual_seed(2))
        y = x[:, :1] + x[:, 2:3]
        loss = "mse"
    spec = TrainSpec(steps=25, lr=0.01, batch_size=8, loss=loss)

    def transform(step, xb, yb, members):
        return (xb, yb) if step % 2 else (xb.flip(1), yb.flip(1))

    def mask(step, members):
        name, param = next(iter(model.named_parameters()))
        m = torch.ones(len(members), *param.shape, dtype=F64)
        m[..., 0] = 0.0  # freeze one slice in every member
        return {name: m} if step < 10 else None

    hooks = Hooks(batch_transform=transform, param_mask=mask,
                  model_kwargs=(lambda step: {"alpha": 0.0 if step < 5 else 1.0}) if isinstance(model, Transformer) else None)
    members = [Member(seed=s) for s in range(3)]
    vec = train_ensemble(make, x, y, spec, members, device=DEVICE, dtype=F64, hooks=hooks)
    seq = train_ensemble(make, x, y, spec, members, device=DEVICE, dtype=F64, hooks=hooks, vectorized=False)
    assert _max_diff(vec, seq) < 1e-10


def test_a_members_result_does_not_depend_on_its_chunk(toy):
    x, y = toy
    spec = TrainSpec(steps=30, lr=0.01, batch_size=16)
    members = [Member(seed=s) for s in range(6)]
    together = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members, device=DEVICE, dtype=F64)
    chunked = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members, device=DEVICE, dtype=F64, chunk_size=4)
    alone = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members[4:5], device=DEVICE, dtype=F64)
    assert _max_diff(together, chunked) < 1e-12
    assert all(torch.allclose(together.params[k][4], alone.params[k][0], atol=1e-12) for k in alone.params)


def test_training_is_deterministic_and_seeds_differ(toy):
    x, y = toy
    spec = TrainSpec(steps=20, lr=0.01, batch_size=16)
    members = [Member(seed=0), Member(seed=1)]
    a = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device=DEVICE)
    b = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device=DEVICE)
    assert _max_diff(a, b) == 0.0
    assert not torch.equal(a.params["out.weight"][0], a.params["out.weight"][1])


def test_checkpoints_ulp_nudge_and_starting_from_given_parameters(toy):
    x, y = toy
    spec = TrainSpec(steps=20, lr=0.01, batch_size=16)
    seen = []
    hooks = Hooks(on_checkpoint=lambda frac, step, params, members: seen.append((frac, step)))
    members = [Member(seed=0), Member(seed=0, ulp_nudge=True)]
    res = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device=DEVICE, hooks=hooks, keep_checkpoints=True)
    assert [f for f, _ in seen] == [0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]
    start = res.checkpoints[0.0]
    diff = start["hidden.0.weight"][1] - start["hidden.0.weight"][0]
    assert (diff != 0).sum() == 1 and 0 < diff.view(-1)[0] < 1e-6
    assert torch.equal(res.member_params(0, fraction=1.0)["out.weight"], res.params["out.weight"][0])
    # a child started from the parent's mid checkpoint with the same data order differs only in its data position
    child = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members[:1], device=DEVICE,
                           init_params={k: v[:1] for k, v in res.checkpoints[0.4].items()})
    assert not torch.equal(child.params["out.weight"], res.params["out.weight"][:1])
    mid = interpolate(res.member_params(0), res.member_params(1), 0.5)
    assert torch.allclose(mid["out.weight"], (res.params["out.weight"][0] + res.params["out.weight"][1]) / 2)


# --- the pieces of the fast vectorized path, each against its plain-PyTorch reference -------------

@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd"])
def test_flat_buffer_optimizer_equals_torch_optim_in_float64(kind, fused):
    gen = torch.Generator().manual_seed(3)
    S, P = 5, 37
    start = torch.randn(S, P, generator=gen, dtype=F64)
    lrs = torch.tensor([0.01, 0.02, 0.01, 0.005, 0.02], dtype=F64)
    params, grads = start.clone(), torch.zeros(S, P, dtype=F64)
    opt = StackedOptimizer(kind, params, grads, lrs, weight_decay=0.1, momentum=0.9 if kind == "sgd" else 0.0,
                           fused=fused)
    refs = [torch.nn.Parameter(start[i].clone()) for i in range(S)]
    ref_opts = [torch_optimizer(kind, [p], lr=float(lrs[i]), weight_decay=0.1, momentum=0.9 if kind == "sgd" else 0.0)
                for i, p in enumerate(refs)]
    for _ in range(25):
        g = torch.randn(S, P, generator=gen, dtype=F64)
        grads.copy_(g)
        opt.step()
        for i, (p, o) in enumerate(zip(refs, ref_opts)):
            p.grad = g[i].clone()
            o.step()
    assert (params - torch.stack([p.detach() for p in refs])).abs().max() < 1e-12


@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd"])
def test_fused_optimizer_updates_each_member_as_if_alone(kind):
    """Row-wise fused calls: a member's float32 update is bit-for-bit the same in any chunk."""
    gen = torch.Generator().manual_seed(4)
    S, P = 6, 1003  # P not a multiple of the vector width, so the kernels' scalar tails matter
    start, steps = torch.randn(S, P, generator=gen), [torch.randn(S, P, generator=gen) for _ in range(10)]
    lrs = torch.tensor([0.01, 0.02, 0.01, 0.03, 0.01, 0.02])
    together, grads = start.clone(), torch.zeros(S, P)
    opt = StackedOptimizer(kind, together, grads, lrs, weight_decay=0.01, momentum=0.9 if kind == "sgd" else 0.0)
    alone, grad_alone = start[3:4].clone(), torch.zeros(1, P)
    opt_alone = StackedOptimizer(kind, alone, grad_alone, lrs[3:4], weight_decay=0.01,
                                 momentum=0.9 if kind == "sgd" else 0.0)
    for g in steps:
        grads.copy_(g)
        grad_alone.copy_(g[3:4])
        opt.step()
        opt_alone.step()
    assert torch.equal(together[3], alone[0])


@pytest.mark.parametrize("scales", [[0.1, 1.0, 5.0, 0.5], [0.1, 1.0, 0.05, 0.02]])  # most / one clipped
def test_clip_per_member_equals_clip_grad_norm_per_member(scales):
    gen = torch.Generator().manual_seed(5)
    grads = torch.randn(4, 30, generator=gen, dtype=F64) * torch.tensor(scales, dtype=F64).unsqueeze(1)
    expected = []
    for row in grads:
        pieces = [torch.nn.Parameter(torch.zeros(10, dtype=F64)), torch.nn.Parameter(torch.zeros(20, dtype=F64))]
        pieces[0].grad, pieces[1].grad = row[:10].clone(), row[10:].clone()
        torch.nn.utils.clip_grad_norm_(pieces, 1.0, foreach=False)
        expected.append(torch.cat([p.grad for p in pieces]))
    clip_per_member(grads, 1.0)
    assert torch.allclose(grads, torch.stack(expected), rtol=0, atol=1e-14)


def _stacked(make, n, dtype=F64):
    modules = [make() for _ in range(n)]
    for i, module in enumerate(modules):
        init_module(module, torch.Generator().manual_seed(i))
        module.to(dtype)
    return modules, {k: torch.stack([dict(m.named_parameters())[k].detach() for m in modules])
                     for k, _ in modules[0].named_parameters()}


def test_batched_mlp_forward_and_backward_equal_the_module_with_autograd():
    modules, params = _stacked(lambda: MLP(12, 16, 3, depth=2), 3)
    x = torch.randn(3, 8, 12, dtype=F64, generator=torch.Generator().manual_seed(6))
    y = torch.randint(0, 3, (3, 8), generator=torch.Generator().manual_seed(7))
    layers = mlp_ensemble_layers(modules[0], params)
    acts = mlp_ensemble_forward(layers, x)
    for loss in ("ce", "mse"):
        target = y if loss == "ce" else torch.randn(3, 8, 3, dtype=F64)
        losses, grad_out = _losses_and_output_grad(acts[-1], target, loss)
        grads = [(torch.zeros_like(w), torch.zeros_like(b)) for w, b in layers]
        mlp_ensemble_backward(layers, acts, grad_out, grads)
        for i, module in enumerate(modules):
            module.zero_grad()
            out = module(x[i])
            assert torch.allclose(acts[-1][i], out, rtol=0, atol=1e-13)
            assert torch.allclose(acts[-2][i], module(x[i], features=True), rtol=0, atol=1e-13)
            ref = member_losses(out.unsqueeze(0), target[i:i + 1], loss)
            assert torch.allclose(losses[i], ref[0], rtol=0, atol=1e-13)
            ref.sum().backward()
            named = dict(module.named_parameters())
            for (gw, gb), name in zip(grads, [f"hidden.{j}" for j in range(2)] + ["out"]):
                assert torch.allclose(gw[i], named[f"{name}.weight"].grad, rtol=0, atol=1e-13)
                assert torch.allclose(gb[i], named[f"{name}.bias"].grad, rtol=0, atol=1e-13)


def test_batched_forwards_in_ensemble_apply_equal_the_module():
    for make in (lambda: MLP(6, 8, 2, depth=3), lambda: TwoPathwayLinear(2, 4, 5, 1, depth=2)):
        modules, params = _stacked(make, 4)
        x = torch.randn(9, 6, dtype=F64, generator=torch.Generator().manual_seed(8))
        for features in (False, True):
            out = ensemble_apply(modules[0], params, x, features=features)
            if isinstance(modules[0], TwoPathwayLinear):
                out = two_pathway_ensemble_forward(modules[0], params, x.expand(4, 9, 6), features=features)
            for i, module in enumerate(modules):
                assert torch.allclose(out[i], module(x, features=features), rtol=0, atol=1e-13)


def test_flat_initialisation_equals_the_reference_modules():
    members = [Member(seed=0), Member(seed=1, init_scale=0.7), Member(seed=2, init_seed=9, ulp_nudge=True),
               Member(seed=3, ulp_nudge=True, ulp_param="out.bias")]
    for dtype in (torch.float32, F64):
        make = lambda: MLP(5, 7, 3)  # noqa: E731
        flat = _initial_flat(make(), members, dtype, torch.device("cpu"), None)
        for i, member in enumerate(members):
            ref = torch.cat([p.detach().reshape(-1) for p in
                             _initial_module(make, member, dtype, torch.device("cpu"), None).parameters()])
            assert torch.equal(flat[i], ref)
    given = {k: v * 2 for k, v in _stacked(make, 4, torch.float32)[1].items()}
    flat = _initial_flat(make(), members, torch.float32, torch.device("cpu"), given)
    for i, member in enumerate(members):
        ref = torch.cat([p.detach().reshape(-1) for p in _initial_module(
            make, member, torch.float32, torch.device("cpu"), {k: v[i] for k, v in given.items()}).parameters()])
        assert torch.equal(flat[i], ref)
