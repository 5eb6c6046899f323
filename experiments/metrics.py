"""Pure metrics over predictions, representations and per-seed scalars (numpy in, floats out).

References
----------
Kornblith, Norouzi, Lee & Hinton (2019), "Similarity of Neural Network Representations Revisited".
D'Amour et al. (2020), "Underspecification Presents Challenges for Credibility in Modern ML".
Frankle, Dziugaite, Roy & Carbin (2020), "Linear Mode Connectivity and the Lottery Ticket Hypothesis".
Hartigan & Hartigan (1985), "The Dip Test of Unimodality" (``diptest`` package).
Schwarz (1978), "Estimating the dimension of a model" (BIC); Kass & Raftery (1995), "Bayes factors".
Efron & Tibshirani (1993), "An Introduction to the Bootstrap" (percentile intervals).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "auroc", "bootstrap_ci", "dip_test", "disagreement", "gmm_1d", "gmm_delta_bic", "linear_cka",
    "lmc_barrier", "minority_fraction", "pairwise_disagreement", "pairwise_linear_cka", "pairwise_mean",
]


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n_examples, n_features], got shape {x.shape}")
    return x


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA ``‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on column-centred X and Y.

    Parameters
    ----------
    X : array, shape [n, p]
    Y : array, shape [n, q]
        Representations of the same n examples.

    Returns
    -------
    float in [0, 1]; invariant to orthogonal transforms and isotropic scaling of either argument.
    (Kornblith et al. 2019, Eq. 5.)
    """
    X, Y = _as_2d(X, "X"), _as_2d(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y need the same number of rows, got {X.shape[0]} and {Y.shape[0]}")
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    denom = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    return float(np.linalg.norm(Y.T @ X) ** 2 / denom) if denom > 0 else 0.0


def pairwise_linear_cka(reps: np.ndarray) -> np.ndarray:
    """Linear CKA between every pair of S representation matrices ``reps [S, n, d]`` → ``[S, S]``.

    Uses ``‖YᵀX‖²_F = ⟨XXᵀ, YYᵀ⟩_F`` on centred Gram matrices, so all pairs cost one matrix product.
    """
    reps = np.asarray(reps, dtype=np.float64)
    if reps.ndim != 3:
        raise ValueError(f"reps must be [S, n, d], got shape {reps.shape}")
    centred = reps - reps.mean(axis=1, keepdims=True)
    gram = np.einsum("snd,smd->snm", centred, centred).reshape(reps.shape[0], -1)
    norms = np.linalg.norm(gram, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = gram / safe[:, None]
    cka = unit @ unit.T
    cka[norms == 0, :] = 0.0
    cka[:, norms == 0] = 0.0
    return cka


def disagreement(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """``Dis(f, g; S) = mean 1[argmax f ≠ argmax g]`` from predicted labels of shape [n] each."""
    a, b = np.asarray(pred_a), np.asarray(pred_b)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"pred_a and pred_b must be non-empty 1-D arrays of equal length, got {a.shape}, {b.shape}")
    return float(np.mean(a != b))


def pairwise_disagreement(preds: np.ndarray) -> np.ndarray:
    """Disagreement between every pair of S models from labels ``preds [S, n]`` → ``[S, S]``."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] == 0:
        raise ValueError(f"preds must be [S, n] with n > 0, got shape {preds.shape}")
    out = np.empty((preds.shape[0],) * 2)
    for i in range(preds.shape[0]):  # S rows of vectorized comparisons; memory stays O(S·n)
        out[i] = (preds != preds[i]).mean(axis=1)
    return out


def pairwise_mean(matrix: np.ndarray, index: np.ndarray | None = None) -> float:
    """Mean of ``matrix[i, j]`` over ordered pairs of distinct draws i ≠ j in ``index``.

    With a bootstrap ``index`` (seeds drawn with replacement) a pair that draws the same seed twice is
    excluded, since a model compared with itself says nothing about variance across runs.
    """
    index = np.arange(matrix.shape[0]) if index is None else np.asarray(index)
    sub = matrix[np.ix_(index, index)]
    distinct = index[:, None] != index[None, :]
    return float(sub[distinct].mean()) if distinct.any() else float("nan")


def lmc_barrier(error_along_path: np.ndarray) -> float:
    """Error barrier ``max_t Err(θ_t) − ½(Err(θ_0) + Err(θ_1))`` on an evenly spaced grid of t.

    ``error_along_path[k]`` is the error at ``t_k = k / (K − 1)``; the endpoints are the two models
    (Frankle et al. 2020, Sec. 2). Non-negative values mean a barrier; ≈0 means linearly connected.
    """
    err = np.asarray(error_along_path, dtype=np.float64)
    if err.ndim != 1 or err.size < 2:
        raise ValueError(f"error_along_path must be 1-D with at least 2 points, got shape {err.shape}")
    return float(err.max() - 0.5 * (err[0] + err[-1]))


def bootstrap_ci(values: np.ndarray, statistic: Callable[[np.ndarray], float], *, n_resamples: int = 1000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Seeded percentile bootstrap CI of ``statistic`` over the first axis of ``values`` (the seeds).

    Parameters
    ----------
    values : array, shape [S, ...]
        One entry per seed (pass ``np.arange(S)`` to resample indices into a pairwise matrix).
    statistic : callable mapping a resampled array (same shape) to a float.
    n_resamples, confidence, seed : bootstrap size, coverage in (0, 1), generator seed.

    Returns
    -------
    (low, high) : the (1−c)/2 and (1+c)/2 percentiles of the resampled statistics (NaNs dropped).
    """
    values = np.asarray(values)
    if values.shape[0] < 1:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be ≥ 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.shape[0], size=(n_resamples, values.shape[0]))
    stats = np.array([statistic(values[d]) for d in draws], dtype=np.float64)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return float(low), float(high)


def dip_test(x: np.ndarray) -> tuple[float, float]:
    """Hartigan's dip statistic and its p-value (small p → reject unimodality); ``diptest`` package."""
    import diptest

    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 4:
        raise ValueError("the dip test needs at least 4 values")
    if np.ptp(x) == 0:
        return 0.0, 1.0
    dip, pval = diptest.diptest(x)
    return float(dip), float(pval)


def _var_floor(x: np.ndarray) -> float:
    # Without a floor a component can collapse onto repeated values and its likelihood diverges.
    return max((0.05 * float(np.std(x))) ** 2, 1e-12)


def gmm_1d(x: np.ndarray, *, iterations: int = 200) -> dict[str, np.ndarray | float]:
    """Two-component 1-D Gaussian mixture by EM (deterministic: best of quantile and extreme inits).

    Returns weights, means, variances (each shape [2], smaller-mean component first), the log
    likelihood and the hard assignment of each value.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    floor = _var_floor(x)
    best = None
    for lo, hi in ((0.25, 0.75), (0.0, 1.0), (0.1, 0.5), (0.5, 0.9)):
        mu = np.quantile(x, [lo, hi])
        var = np.full(2, max(np.var(x), floor))
        w = np.array([0.5, 0.5])
        for _ in range(iterations):
            logp = -0.5 * ((x[:, None] - mu) ** 2 / var + np.log(2 * np.pi * var)) + np.log(np.maximum(w, 1e-300))
            top = logp.max(axis=1, keepdims=True)
            resp = np.exp(logp - top)
            resp /= resp.sum(axis=1, keepdims=True)
            nk = resp.sum(axis=0) + 1e-12
            w = nk / x.size
            mu = (resp * x[:, None]).sum(axis=0) / nk
            var = np.maximum((resp * (x[:, None] - mu) ** 2).sum(axis=0) / nk, floor)
        logp = -0.5 * ((x[:, None] - mu) ** 2 / var + np.log(2 * np.pi * var)) + np.log(np.maximum(w, 1e-300))
        top = logp.max(axis=1)
        loglik = float((top + np.log(np.exp(logp - top[:, None]).sum(axis=1))).sum())
        if best is None or loglik > best[0] + 1e-9:
            best = (loglik, w, mu, var, logp.argmax(axis=1))
    loglik, w, mu, var, assign = best
    order = np.argsort(mu)
    remap = np.empty(2, dtype=int)
    remap[order] = [0, 1]
    return {"weights": w[order], "means": mu[order], "variances": var[order], "loglik": loglik,
            "assign": remap[assign]}


def gmm_delta_bic(x: np.ndarray) -> float:
    """``BIC(1 component) − BIC(2 components)`` of a 1-D sample; > 0 favours two clusters.

    BIC = −2 log L + k ln n with k = 2 and 5 free parameters (Schwarz 1978). ΔBIC > 10 is "very
    strong" evidence (Kass & Raftery 1995), but GMMs over-split skewed single phases, so compare it
    with a control regime's ΔBIC before reading it as clustering.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 4:
        raise ValueError("ΔBIC needs at least 4 values")
    var1 = max(float(np.var(x)), _var_floor(x))
    loglik1 = float(-0.5 * (((x - x.mean()) ** 2) / var1 + np.log(2 * np.pi * var1)).sum())
    loglik2 = float(gmm_1d(x)["loglik"])
    n = x.size
    return (-2 * loglik1 + 2 * np.log(n)) - (-2 * loglik2 + 5 * np.log(n))


def minority_fraction(x: np.ndarray, *, bic_threshold: float = 10.0) -> float:
    """Fraction of values in the smaller cluster of a 2-component GMM, or 0 if ΔBIC ≤ ``bic_threshold``.

    0 means one cluster (or clusters not supported by BIC); 0.5 means two equal clusters.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 4 or np.ptp(x) == 0 or gmm_delta_bic(x) <= bic_threshold:
        return 0.0
    counts = np.bincount(gmm_1d(x)["assign"], minlength=2)
    return float(counts.min() / x.size)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (Mann–Whitney U, ties averaged)."""
    from scipy.stats import rankdata

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auroc needs both positive and negative labels")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
