"""Small networks trained as seed ensembles.

Every network is an ordinary ``torch.nn.Module`` (the per-seed reference path trains it directly)
whose ``forward`` is also safe under ``torch.func.vmap`` (no in-place writes, no ``.item()``), so
the vectorized path stacks S copies with ``torch.func.stack_module_state`` and calls
``functional_call`` under ``vmap`` with a leading seed dimension.

Parameters are initialised by :func:`init_module` from an explicit ``torch.Generator`` on the CPU in
float64, so a seed's initial weights are the same on every device, dtype and chunking.

``forward(x, *, features=False, ...)`` returns logits (or regression outputs); with
``features=True`` it returns the representation used for CKA (the last hidden layer).

References
----------
Zhong, Liu, Tegmark & Andreas (2023), "The Clock and the Pizza: Two Stories in Mechanistic
Explanation of Neural Networks" (NeurIPS): one-layer transformer with attention rate α, no LayerNorm.
Kleinman, Achille & Soatto (2024), "Critical learning periods emerge even in deep linear networks"
(ICLR): the two-pathway deep linear network.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("mlp", "cnn", "transformer", "linear")


def init_module(module: nn.Module, generator: torch.Generator, *, scale: float = 1.0) -> None:
    """Initialise every parameter of ``module`` from ``generator``.

    Weights (tensors with two or more dimensions) are drawn from N(0, (scale / sqrt(fan_in))²) where
    fan_in is the product of all dimensions but the first (``nn.Linear``/``nn.Conv2d`` layout; our
    embedding tables are stored ``[vocab, d]`` so fan_in = d). Biases (1-D) start at zero.
    """
    with torch.no_grad():
        for _, param in sorted(module.named_parameters()):
            param.copy_(init_tensor(param.shape, generator, scale=scale))


def init_tensor(shape: torch.Size, generator: torch.Generator, *, scale: float = 1.0) -> torch.Tensor:
    """The float64 initial value of one parameter of ``shape`` (see :func:`init_module`, which draws
    its parameters with this in sorted-name order from one generator)."""
    if len(shape) < 2:
        return torch.zeros(shape, dtype=torch.float64)
    draw = torch.randn(shape, generator=generator, dtype=torch.float64)
    return draw * (scale / math.sqrt(math.prod(shape[1:])))


class MLP(nn.Module):
    """ReLU multilayer perceptron on flat real inputs ``[B, d_in]`` (or images, flattened)."""

    def __init__(self, d_in: int, width: int, d_out: int, *, depth: int = 2) -> None:
        super().__init__()
        dims = [d_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(width, d_out)

    def forward(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        h = x.flatten(1)
        for layer in self.hidden:
            h = F.relu(layer(h))
        return h if features else self.out(h)


class TokenMLP(nn.Module):
    """Embeds each of T integer tokens (one-hot matmul, deterministic on CUDA), concatenates, MLP."""

    def __init__(self, vocab: int, seq_len: int, width: int, d_out: int, *, depth: int = 1) -> None:
        super().__init__()
        self.vocab = vocab
        self.W_E = nn.Parameter(torch.zeros(vocab, width))
        self.mlp = MLP(seq_len * width, width, d_out, depth=depth)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        onehot = (tokens.unsqueeze(-1) == torch.arange(self.vocab, device=tokens.device)).to(self.W_E.dtype)
        return onehot @ self.W_E

    def forward(self, x: torch.Tensor, *, features: bool = False, embeds: torch.Tensor | None = None,
                alpha: float | None = None) -> torch.Tensor:
        h = self.embed(x) if embeds is None else embeds
        return self.mlp(h.flatten(1), features=features)


class Transformer(nn.Module):
    """1–2 layer attention-only-plus-MLP transformer without LayerNorm (Zhong et al. 2023).

    Attention pattern = ``alpha · softmax(QKᵀ/√d_head) + (1 − alpha) · uniform`` over the visible
    (causal) positions, so ``alpha = 0`` is the constant-attention model that learns "Pizza" and
    ``alpha = 1`` is standard attention that mostly learns "Clock". ``readout`` is the last position
    (modular addition) or the mean over positions (Boolean tasks).
    """

    def __init__(self, vocab: int, seq_len: int, width: int, d_out: int, *, layers: int = 1,
                 heads: int = 4, mlp_ratio: int = 4, alpha: float = 1.0, readout: str = "last",
                 causal: bool = True) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} must be divisible by heads {heads}")
        self.vocab, self.seq_len, self.heads = vocab, seq_len, heads
        self.alpha, self.readout, self.causal = alpha, readout, causal
        self.W_E = nn.Parameter(torch.zeros(vocab, width))
        self.W_pos = nn.Parameter(torch.zeros(seq_len, width))
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            block = nn.Module()
            block.qkv = nn.Linear(width, 3 * width, bias=False)
            block.proj = nn.Linear(width, width, bias=False)
            block.fc_in = nn.Linear(width, mlp_ratio * width)
            block.fc_out = nn.Linear(mlp_ratio * width, width)
            self.blocks.append(block)
        self.unembed = nn.Linear(width, d_out)
        visible = torch.tril(torch.ones(seq_len, seq_len)) if causal else torch.ones(seq_len, seq_len)
        self.register_buffer("visible", visible.bool(), persistent=False)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        onehot = (tokens.unsqueeze(-1) == torch.arange(self.vocab, device=tokens.device)).to(self.W_E.dtype)
        return onehot @ self.W_E

    def forward(self, x: torch.Tensor, *, features: bool = False, embeds: torch.Tensor | None = None,
                alpha: float | None = None) -> torch.Tensor:
        alpha = self.alpha if alpha is None else alpha
        h = (self.embed(x) if embeds is None else embeds) + self.W_pos
        batch, length, width = h.shape
        d_head = width // self.heads
        visible = self.visible[:length, :length]
        uniform = visible.to(h.dtype) / visible.sum(-1, keepdim=True).to(h.dtype)
        for block in self.blocks:
            q, k, v = block.qkv(h).split(width, dim=-1)
            q, k, v = (t.reshape(batch, length, self.heads, d_head).transpose(1, 2) for t in (q, k, v))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d_head)
            scores = torch.where(visible, scores, torch.full_like(scores, float("-inf")))
            pattern = alpha * torch.softmax(scores, dim=-1) + (1.0 - alpha) * uniform
            z = (pattern @ v).transpose(1, 2).reshape(batch, length, width)
            h = h + block.proj(z)
            h = h + block.fc_out(F.relu(block.fc_in(h)))
        feat = h[:, -1] if self.readout == "last" else h.mean(dim=1)
        return feat if features else self.unembed(feat)


class SmallCNN(nn.Module):
    """Two 3×3 conv layers (width, 2·width channels), 2×2 average pool, linear head; 8×8 digits."""

    def __init__(self, width: int, d_out: int, *, side: int = 8) -> None:
        super().__init__()
        self.side = side
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.head = nn.Linear(2 * width * (side // 2) ** 2, d_out)

    def forward(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        h = x.reshape(x.shape[0], 1, self.side, self.side)
        h = F.relu(self.conv1(h))
        h = F.relu(self.conv2(h))
        h = F.avg_pool2d(h, 2).flatten(1)
        return h if features else self.head(h)


class TwoPathwayLinear(nn.Module):
    """Deep linear network with two input pathways summed into one shared hidden layer.

    Input ``x = [x_A, x_B]``; ``h = W_A^{(L)}…W_A^{(1)} x_A + W_B^{(L)}…W_B^{(1)} x_B``;
    output ``y = W_out h``. Kleinman, Achille & Soatto (2024), Sec. 4 ("multi-pathway" model).
    """

    def __init__(self, d_a: int, d_b: int, width: int, d_out: int, *, depth: int = 2) -> None:
        super().__init__()
        self.d_a = d_a

        def pathway(d_in: int) -> nn.ModuleList:
            dims = [d_in] + [width] * depth
            return nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:]))

        self.path_a = pathway(d_a)
        self.path_b = pathway(d_b)
        self.out = nn.Linear(width, d_out, bias=False)

    def pathway_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h_a, h_b = x[:, : self.d_a], x[:, self.d_a:]
        for layer in self.path_a:
            h_a = layer(h_a)
        for layer in self.path_b:
            h_b = layer(h_b)
        return h_a, h_b

    def forward(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        h_a, h_b = self.pathway_outputs(x)
        h = h_a + h_b
        return h if features else self.out(h)


Layers = list[tuple[torch.Tensor, torch.Tensor]]
"""``[(W [S, out, in], b [S, out]), ...]``: stacked weights and biases of an MLP, input layer first."""


def mlp_ensemble_layers(model: MLP, params: dict[str, torch.Tensor]) -> Layers:
    """``[(W [S, out, in], b [S, out]), ...]`` of stacked ``params`` of ``model``, input layer first."""
    names = [f"hidden.{i}" for i in range(len(model.hidden))] + ["out"]
    return [(params[f"{n}.weight"], params[f"{n}.bias"]) for n in names]


def mlp_ensemble_forward(layers: Layers, x: torch.Tensor) -> list[torch.Tensor]:
    """Hand-batched :class:`MLP` forward of S members at once, ``x [S, B, ...]`` → activations.

    Returns ``[h_0, h_1, …, out]``: the flattened input, each hidden layer after its ReLU, and the
    outputs ``[S, B, d_out]`` (a transposed view). Member s computes ``MLP.forward`` (``addmm`` per
    layer, here one ``baddbmm`` per layer over the seed dimension) up to rounding. No autograd:
    :func:`mlp_ensemble_backward` pairs it.
    """
    acts = [x.reshape(x.shape[0], x.shape[1], -1)]
    for weight, bias in layers[:-1]:
        acts.append(torch.baddbmm(bias.unsqueeze(1), acts[-1], weight.transpose(1, 2)).relu_())
    weight, bias = layers[-1]  # few outputs: W·hᵀ ([S, d_out, B]) is ~2× faster than h·Wᵀ on CPU
    acts.append(torch.baddbmm(bias.unsqueeze(2), weight, acts[-1].transpose(1, 2)).transpose(1, 2))
    return acts


def mlp_ensemble_backward(layers: Layers, acts: list[torch.Tensor], grad_out: torch.Tensor,
                          grads: Layers) -> None:
    """Backward of :func:`mlp_ensemble_forward` given ``grad_out`` = dL/d(out) ``[S, B, d_out]``.

    Writes dL/dW and dL/db of every layer into the matching tensors of ``grads`` (same layout as
    ``layers``, e.g. views into a flat gradient buffer). The input gradient is never formed.
    """
    g = grad_out
    for i in reversed(range(len(layers))):
        grad_w, grad_b = grads[i]
        torch.bmm(g.transpose(1, 2), acts[i], out=grad_w)
        torch.sum(g, dim=1, out=grad_b)
        if i:
            g = torch.ops.aten.threshold_backward(torch.bmm(g, layers[i][0]), acts[i], 0)


def two_pathway_ensemble_forward(model: TwoPathwayLinear, params: dict[str, torch.Tensor], x: torch.Tensor, *,
                                 features: bool = False) -> torch.Tensor:
    """Hand-batched :class:`TwoPathwayLinear` forward of S members (``params`` stacked ``[S, ...]``,
    ``x [S, B, d_a + d_b]``), differentiable; the same products as ``forward``, one ``bmm`` each."""
    h_a, h_b = x[..., : model.d_a], x[..., model.d_a:]
    for i in range(len(model.path_a)):
        h_a = torch.bmm(h_a, params[f"path_a.{i}.weight"].transpose(1, 2))
    for i in range(len(model.path_b)):
        h_b = torch.bmm(h_b, params[f"path_b.{i}.weight"].transpose(1, 2))
    h = h_a + h_b
    return h if features else torch.bmm(h, params["out.weight"].transpose(1, 2))
