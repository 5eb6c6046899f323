"""Step strategies, the loss registry, the guarded private optimizer kernels and the trainer's settings.

The float64 equivalence of the vectorized path and the loop is tests/experiments/test_trainer.py; here:
every named strategy agrees with the loop, bad names are errors, and the optimizer's public fallback
gives bit-for-bit the private kernels' result when those are forced away.
"""
import os

import pytest
import torch

from experiments import optim, trainer
from experiments.losses import LOSSES, Loss, get_loss, member_losses, register_loss
from experiments.nets import MLP, SmallCNN, TwoPathwayLinear
from experiments.optim import StackedOptimizer, private_kernel
from experiments.trainer import Member, TrainSpec, train_ensemble

DEVICE, F64 = os.environ.get("PATHMARKET_TEST_DEVICE", "cpu"), torch.float64
_GEN = torch.Generator().manual_seed(0)
X = torch.randn(64, 6, generator=_GEN)
Y = (X[:, 0] - X[:, 2] > 0).long()


def _gap(a, b):
    """Largest absolute difference between two results' final parameters."""
    return max(float((a.params[k] - b.params[k]).abs().max()) for k in a.params)


def test_the_automatic_choice_per_architecture():
    assert trainer.select_strategy(MLP(3, 4, 2)) is trainer.ClosedFormMLPStep
    assert trainer.select_strategy(TwoPathwayLinear(2, 2, 3, 1)) is trainer.TwoPathwayStep
    assert trainer.select_strategy(SmallCNN(2, 3, side=4)) is trainer.VmapStep
    assert trainer.select_strategy(MLP(3, 4, 2), vectorized=False) is trainer.LoopStep
    assert set(trainer.STEP_STRATEGIES) == {"loop", "vmap", "two_pathway", "mlp"}


@pytest.mark.parametrize("strategy", ["vmap", "mlp"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_every_mlp_strategy_equals_the_loop_in_float64(strategy, loss):
    x, y = X, Y
    target = y if loss == "ce" else x[:, :2] * 0.5
    spec = TrainSpec(steps=15, lr=0.02, batch_size=16, loss=loss)
    members = [Member(seed=0), Member(seed=1, lr_mult=0.5), Member(seed=2, optimizer="sgd")]
    def train(name):
        return train_ensemble(lambda: MLP(6, 8, 2), x, target, spec, members, device=DEVICE, dtype=F64,
                              strategy=name)

    ref, got = train("loop"), train(strategy)
    assert _gap(ref, got) < 1e-10
    assert abs(ref.curves["eval_loss"] - got.curves["eval_loss"]).max() < 1e-10


def test_a_forced_strategy_must_fit_the_architecture():
    x, y = X, Y
    spec = TrainSpec(steps=2, lr=0.01, batch_size=8)
    with pytest.raises(ValueError, match="does not support SmallCNN"):
        train_ensemble(lambda: SmallCNN(1, 2, side=4), torch.randn(8, 16), y[:8] % 2, spec, [Member(seed=0)],
                       device=DEVICE, strategy="mlp")
    with pytest.raises(ValueError, match="unknown step strategy 'fast'"):
        train_ensemble(lambda: MLP(6, 4, 2), x, y, spec, [Member(seed=0)], device=DEVICE, strategy="fast")


def test_an_unknown_loss_is_an_error_never_mse():
    with pytest.raises(ValueError, match="unknown loss 'huber'; known losses: ce, mse"):
        TrainSpec(steps=5, lr=0.01, batch_size=8, loss="huber")
    with pytest.raises(ValueError, match="unknown loss 'bce'"):
        member_losses(torch.zeros(1, 4, 2), torch.zeros(1, 4, dtype=torch.long), "bce")
    with pytest.raises(ValueError, match="optimizer 'rmsprop'"):
        TrainSpec(steps=5, lr=0.01, batch_size=8, optimizer="rmsprop")
    with pytest.raises(ValueError, match="already registered"):
        ce = LOSSES["ce"]
        register_loss(Loss("ce", "again", ce.per_member, ce.score, ce.output_grad))


def test_a_registered_loss_trains_through_every_strategy(monkeypatch):
    """The registry is the extension point: a new loss (here: MSE with weight 2) needs no trainer change."""
    x = X
    mse = get_loss("mse")

    def double_grad(out, y):
        losses, grad = mse.output_grad(out, y)
        return 2 * losses, grad.mul_(2)

    twice = Loss("mse2", "twice the MSE", lambda o, y: 2 * mse.per_member(o, y), mse.score, double_grad)
    monkeypatch.setitem(LOSSES, "mse2", twice)
    target = x[:, :1] - x[:, 3:4]
    spec = TrainSpec(steps=10, lr=0.01, batch_size=16, loss="mse2", optimizer="sgd", grad_clip=None)
    runs = {s: train_ensemble(lambda: MLP(6, 8, 1), x, target, spec, [Member(seed=4)], device=DEVICE,
                              dtype=F64, strategy=s) for s in ("loop", "vmap", "mlp")}
    assert _gap(runs["loop"], runs["vmap"]) < 1e-12 and _gap(runs["loop"], runs["mlp"]) < 1e-12
    half = TrainSpec(steps=10, lr=0.02, batch_size=16, loss="mse", optimizer="sgd", grad_clip=None)
    plain = train_ensemble(lambda: MLP(6, 8, 1), x, target, half, [Member(seed=4)], device=DEVICE, dtype=F64)
    assert _gap(plain, runs["mlp"]) < 1e-12  # SGD on 2·L at lr equals SGD on L at 2·lr


def _run_optimizer(kind, implementation=None, dtype=torch.float32):
    gen = torch.Generator().manual_seed(9)
    S, P = 5, 517
    params = torch.randn(S, P, generator=gen, dtype=dtype).to(DEVICE)
    grads = torch.zeros_like(params)
    lrs = torch.tensor([0.01, 0.02, 0.01, 0.005, 0.02], dtype=dtype, device=DEVICE)
    opt = StackedOptimizer(kind, params, grads, lrs, weight_decay=0.01,
                           momentum=0.9 if kind == "sgd" else 0.0, implementation=implementation)
    for _ in range(12):
        grads.copy_(torch.randn(S, P, generator=gen, dtype=dtype).to(DEVICE))
        opt.step()
    return opt, params


@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd"])
def test_without_the_private_kernel_the_public_fallback_is_bit_identical(kind, monkeypatch):
    default, expected = _run_optimizer(kind)
    assert default.implementation == "kernel"
    # a PyTorch without the private function under the name we call (torch.optim keeps its own)
    monkeypatch.setitem(optim._PRIVATE, kind, "_fused_kernel_renamed_")
    assert private_kernel(kind, torch.device(DEVICE), torch.float32) is None
    fallback, got = _run_optimizer(kind)
    assert fallback.implementation == "torch"
    assert torch.equal(got, expected)


def test_a_private_kernel_whose_signature_changed_is_not_used(monkeypatch):
    def changed(*args, **kwargs):
        raise TypeError("_fused_adam_() got an unexpected keyword argument 'beta1'")

    monkeypatch.setattr(torch, "_fused_adam_changed_", changed, raising=False)
    monkeypatch.setitem(optim._PRIVATE, "adam", "_fused_adam_changed_")
    opt, _ = _run_optimizer("adam")
    assert opt.implementation == "torch"


def test_the_exact_formulas_stay_within_rounding_of_the_kernels():
    _, fused = _run_optimizer("adam", dtype=F64)
    opt, exact = _run_optimizer("adam", implementation="exact", dtype=F64)
    assert opt.implementation == "exact"
    assert (fused - exact).abs().max() < 1e-12
    with pytest.raises(ValueError, match="implementation 'jit'"):
        _run_optimizer("adam", implementation="jit")


def test_the_vectorized_members_setting_and_its_deprecated_name(monkeypatch):
    model, device = MLP(3, 4, 2), torch.device("cpu")
    monkeypatch.delenv("PATHMARKET_VECTORIZED_MEMBERS", raising=False)
    monkeypatch.delenv("PATHMARKET_SEED_CHUNK", raising=False)
    assert trainer.default_chunk_size(model, device) == 16
    monkeypatch.setenv("PATHMARKET_VECTORIZED_MEMBERS", "4")
    assert trainer.default_chunk_size(model, device) == 4
    monkeypatch.setenv("PATHMARKET_SEED_CHUNK", "8")  # the new name wins
    assert trainer.default_chunk_size(model, device) == 4
    monkeypatch.delenv("PATHMARKET_VECTORIZED_MEMBERS")
    with pytest.warns(DeprecationWarning, match="PATHMARKET_SEED_CHUNK is deprecated; set PATHMARKET_VECT"):
        assert trainer.default_chunk_size(model, device) == 8
    monkeypatch.setenv("PATHMARKET_VECTORIZED_MEMBERS", "many")
    with pytest.raises(ValueError, match="PATHMARKET_VECTORIZED_MEMBERS must be a whole number"):
        trainer.default_chunk_size(model, device)
