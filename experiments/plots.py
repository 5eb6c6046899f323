"""PNG plots for the resolution report (matplotlib, Agg backend, no display needed)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def behaviour_distribution(values: np.ndarray, path: Path, *, label: str, title: str = "",
                           control: np.ndarray | None = None) -> Path:
    """Histogram plus rug of the per-seed behaviour scalar (and of a control regime if given)."""
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    finite = values[np.isfinite(values)]
    lo_hi = np.concatenate([finite, control[np.isfinite(control)]]) if control is not None else finite
    bins = np.linspace(lo_hi.min(), lo_hi.max() + 1e-9, 25) if lo_hi.size else 10
    ax.hist(finite, bins=bins, alpha=0.7, label=f"test regime (n={finite.size})", color="#3465a4")
    if control is not None:
        ax.hist(control[np.isfinite(control)], bins=bins, alpha=0.5, label="control regime", color="#cc7a00")
    ax.plot(finite, np.zeros_like(finite), "|", color="black", markersize=12)
    ax.set_xlabel(label)
    ax.set_ylabel("seeds")
    ax.set_title(title or f"Per-seed {label}")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def training_curves(outputs: Sequence[Mapping[str, Any]], path: Path, *, max_lines: int = 64) -> Path:
    """Evaluation loss and accuracy against step: one thin line per seed, the median in bold."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = (("curve_eval_loss", axes[0], "ID loss"), ("curve_eval_acc", axes[1], "ID accuracy"))
    for key, ax, label in panels:
        curves = [np.asarray(o[key]) for o in outputs if key in o]
        if not curves:
            continue
        steps = np.asarray(outputs[0]["curve_step"])
        for c in curves[:max_lines]:
            ax.plot(steps, c, color="#3465a4", alpha=0.25, linewidth=0.8)
        ax.plot(steps, np.median(np.stack(curves), axis=0), color="black", linewidth=2, label="median")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        if key == "curve_eval_loss":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(f"Training curves ({len(outputs)} seeds)")
    return save_figure(fig, path)


def matrix_heatmap(matrix: np.ndarray, path: Path, *, title: str, label: str, seeds: Sequence[int]) -> Path:
    """Heatmap of a seed × seed matrix (e.g. pairwise OOD disagreement)."""
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    image = ax.imshow(matrix, cmap="viridis")
    fig.colorbar(image, ax=ax, label=label)
    ticks = np.linspace(0, len(seeds) - 1, min(len(seeds), 8)).round().astype(int)
    ax.set_xticks(ticks, [str(seeds[t]) for t in ticks])
    ax.set_yticks(ticks, [str(seeds[t]) for t in ticks])
    ax.set_xlabel("seed")
    ax.set_ylabel("seed")
    ax.set_title(title)
    return save_figure(fig, path)


def standard_plots(frame: Any, outputs: Sequence[Mapping[str, Any]], out_dir: Path, *,
                   label: str) -> list[Path]:
    """The two plots every protocol's report shows: the per-seed behaviour distribution
    (``behaviour.png``) and the training curves (``curves.png``). The concept's key plot is added
    by each protocol."""
    return [
        behaviour_distribution(frame["behaviour"].to_numpy(float), out_dir / "behaviour.png", label=label),
        training_curves(outputs, out_dir / "curves.png"),
    ]
