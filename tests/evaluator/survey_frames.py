"""Synthetic survey matrices that follow the factor_matrix() contract, one per story the factor page must tell.

``kind``:
- ``"factor"``: one common factor across all rows (loadings 0.5-0.8), independent of task and progress;
- ``"none"``: eight independent columns;
- ``"task"``: the statistics share only per-task means (a large task effect, independent noise within tasks);
- ``"covariate"``: the statistics share only training progress, which the covariates record.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.concepts import LETTERS

LOADINGS = np.array([0.8, 0.7, 0.6, 0.75, 0.5, 0.65, 0.7, 0.6])
KINDS = ("factor", "none", "task", "covariate")


def survey_frame(kind: str, n: int = 96, *, n_tasks: int = 4, seed: int = 0, missing: float = 0.0) -> pd.DataFrame:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    rng = np.random.default_rng(seed)
    task = np.arange(n) % n_tasks
    noise = rng.normal(size=(n, LOADINGS.size))
    progress = rng.normal(size=n)  # hidden: how far training got
    if kind == "factor":
        x = rng.normal(size=(n, 1)) * LOADINGS + noise * np.sqrt(1 - LOADINGS**2)
    elif kind == "none":
        x = noise
    elif kind == "task":
        x = (rng.normal(size=(n_tasks, 1)) * 3 * LOADINGS)[task] + noise
    else:
        x = progress[:, None] * LOADINGS * 1.5 + noise
    if missing:
        x = np.where(rng.random(x.shape) < missing, np.nan, x)
    names = [f"task{t}" for t in task]
    frame = pd.DataFrame(x, columns=list(LETTERS), index=pd.Index([f"{t}/mlp/row{i}" for i, t in enumerate(names)],
                                                                   name="setup"))
    frame.insert(0, "arch", "mlp")
    frame.insert(0, "task", names)
    frame["cov_final_train_loss"] = np.exp(progress + 0.1 * rng.normal(size=n))
    frame["cov_test_accuracy"] = 1 / (1 + np.exp(progress)) + 0.05 * rng.normal(size=n)
    frame["cov_steps_to_target"] = rng.integers(100, 1000, size=n).astype(float)
    frame["source"] = f"synthetic:{kind}"
    return frame
