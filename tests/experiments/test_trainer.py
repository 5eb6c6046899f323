"""The vectorized ensemble equals the per-seed reference loop, and members never couple."""
import numpy as np
import pytest
import torch

from experiments.nets import MLP, SmallCNN, Transformer, TwoPathwayLinear
from experiments.trainer import Hooks, Member, TrainSpec, interpolate, train_ensemble

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
    vec = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, MIXED, device="cpu", dtype=F64)
    seq = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, MIXED, device="cpu", dtype=F64, vectorized=False)
    assert _max_diff(vec, seq) < 1e-10
    for key in ("train_loss", "eval_loss", "eval_acc"):
        assert np.allclose(vec.curves[key], seq.curves[key], atol=1e-10)


@pytest.mark.parametrize("make", [
    lambda: Transformer(7, 2, 16, 7, alpha=0.5),
    lambda: SmallCNN(2, 3, side=4),
    lambda: TwoPathwayLinear(2, 2, 4, 1, depth=2),
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
    vec = train_ensemble(make, x, y, spec, members, device="cpu", dtype=F64, hooks=hooks)
    seq = train_ensemble(make, x, y, spec, members, device="cpu", dtype=F64, hooks=hooks, vectorized=False)
    assert _max_diff(vec, seq) < 1e-10


def test_a_members_result_does_not_depend_on_its_chunk(toy):
    x, y = toy
    spec = TrainSpec(steps=30, lr=0.01, batch_size=16)
    members = [Member(seed=s) for s in range(6)]
    together = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members, device="cpu", dtype=F64)
    chunked = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members, device="cpu", dtype=F64, chunk_size=4)
    alone = train_ensemble(lambda: MLP(10, 16, 2), x, y, spec, members[4:5], device="cpu", dtype=F64)
    assert _max_diff(together, chunked) < 1e-12
    assert all(torch.allclose(together.params[k][4], alone.params[k][0], atol=1e-12) for k in alone.params)


def test_training_is_deterministic_and_seeds_differ(toy):
    x, y = toy
    spec = TrainSpec(steps=20, lr=0.01, batch_size=16)
    members = [Member(seed=0), Member(seed=1)]
    a = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device="cpu")
    b = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device="cpu")
    assert _max_diff(a, b) == 0.0
    assert not torch.equal(a.params["out.weight"][0], a.params["out.weight"][1])


def test_checkpoints_ulp_nudge_and_starting_from_given_parameters(toy):
    x, y = toy
    spec = TrainSpec(steps=20, lr=0.01, batch_size=16)
    seen = []
    hooks = Hooks(on_checkpoint=lambda frac, step, params, members: seen.append((frac, step)))
    members = [Member(seed=0), Member(seed=0, ulp_nudge=True)]
    res = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members, device="cpu", hooks=hooks, keep_checkpoints=True)
    assert [f for f, _ in seen] == [0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]
    start = res.checkpoints[0.0]
    diff = start["hidden.0.weight"][1] - start["hidden.0.weight"][0]
    assert (diff != 0).sum() == 1 and 0 < diff.view(-1)[0] < 1e-6
    assert torch.equal(res.member_params(0, fraction=1.0)["out.weight"], res.params["out.weight"][0])
    # a child started from the parent's mid checkpoint with the same data order differs only in its data position
    child = train_ensemble(lambda: MLP(10, 8, 2), x, y, spec, members[:1], device="cpu",
                           init_params={k: v[:1] for k, v in res.checkpoints[0.4].items()})
    assert not torch.equal(child.params["out.weight"], res.params["out.weight"][:1])
    mid = interpolate(res.member_params(0), res.member_params(1), 0.5)
    assert torch.allclose(mid["out.weight"], (res.params["out.weight"][0] + res.params["out.weight"][1]) / 2)
