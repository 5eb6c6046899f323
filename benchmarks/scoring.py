"""Benchmark: Brier score, log loss and calibration bins over 1,000,000 synthetic forecasts.

Times three implementations of the same three figures, best of ``--repeat`` runs each:

- ``numpy``: a bare pass (one expression each, ``np.bincount`` for the bins; no validation);
- ``evaluator``: ``evaluator.scoring.brier_score``, ``log_loss`` and
  ``evaluator.calibration.reliability_bins``
  (input validation, consistency bands and Clopper-Pearson intervals included);
- ``sklearn``: ``brier_score_loss``, ``log_loss`` and ``calibration_curve``.

Prints one JSON line: times in seconds, the ratios to the bare numpy pass, and whether the evaluator is
within the 2× target. Usage: ``.venv/bin/python benchmarks/scoring.py [--n 1000000] [--repeat 7]``.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.calibration import reliability_bins  # noqa: E402
from evaluator.scoring import brier_score, log_loss  # noqa: E402

N_BINS = 10


def numpy_pass(y: np.ndarray, p: np.ndarray) -> tuple[float, float, np.ndarray]:
    brier = float(np.mean((p - y) ** 2))
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    logloss = float(-np.mean(np.log(np.where(y == 1, pc, 1 - pc))))
    ids = np.searchsorted(np.linspace(0, 1, N_BINS + 1)[1:-1], p)
    count = np.bincount(ids, minlength=N_BINS)
    freq = np.bincount(ids, weights=y, minlength=N_BINS) / np.maximum(count, 1)
    return brier, logloss, freq


def evaluator_pass(y: np.ndarray, p: np.ndarray) -> tuple[float, float, np.ndarray]:
    bins = reliability_bins(y, p, n_bins=N_BINS)
    return brier_score(y, p), log_loss(y, p), bins["observed_frequency"].to_numpy()


def sklearn_pass(y: np.ndarray, p: np.ndarray) -> tuple[float, float, np.ndarray]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss
    from sklearn.metrics import log_loss as sk_log_loss

    prob_true, _ = calibration_curve(y, p, n_bins=N_BINS)
    return float(brier_score_loss(y, p)), float(sk_log_loss(y, p)), prob_true


def best_time(fn: Callable, y: np.ndarray, p: np.ndarray, repeat: int) -> tuple[float, tuple]:
    result = fn(y, p)  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(y, p)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    p = rng.uniform(0.001, 0.999, args.n)
    y = (rng.random(args.n) < p).astype(np.int64)

    t_np, r_np = best_time(numpy_pass, y, p, args.repeat)
    t_ev, r_ev = best_time(evaluator_pass, y, p, args.repeat)
    t_sk, r_sk = best_time(sklearn_pass, y, p, args.repeat)
    # The three implementations must agree, or the timing means nothing.
    for a, b in ((r_np, r_ev), (r_np, r_sk)):
        assert abs(a[0] - b[0]) < 1e-12 and abs(a[1] - b[1]) < 1e-9
        assert np.allclose(a[2], b[2])  # every bin is filled at this size
    print(json.dumps({
        "benchmark": "scoring",
        "n_forecasts": args.n,
        "repeat": args.repeat,
        "numpy_s": round(t_np, 5),
        "evaluator_s": round(t_ev, 5),
        "sklearn_s": round(t_sk, 5),
        "evaluator_vs_numpy": round(t_ev / t_np, 3),
        "sklearn_vs_numpy": round(t_sk / t_np, 3),
        "within_2x_target": t_ev <= 2 * t_np,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
