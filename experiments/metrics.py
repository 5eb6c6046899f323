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
    "lmc_barrier", "minority_fraction", "minority_fraction_batch", "pairwise_disagreement",
    "pairwise_linear_cka", "pairwise_mean",
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
        raise ValueError(f"pred_a and pred_b must be non-empty 1-D arrays of equal length, got {a.shape}, "
                         f"{b.shape}")
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
                 confidence: float = 0.95, seed: int = 0, batched: bool = False) -> tuple[float, float]:
    """Seeded percentile bootstrap CI of ``statistic`` over the first axis of ``values`` (the seeds).

    Parameters
    ----------
    values : array, shape [S, ...]
        One entry per seed (pass ``np.arange(S)`` to resample indices into a pairwise matrix).
    statistic : callable mapping a resampled array (same shape) to a float.
    n_resamples, confidence, seed : bootstrap size, coverage in (0, 1), generator seed.
    batched : if True, ``statistic`` maps all resamples ``[n_resamples, S, ...]`` to ``[n_resamples]``.

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
    if batched:
        stats = np.asarray(statistic(values[draws]), dtype=np.float64).reshape(n_resamples)
    else:
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


def _var_floor(x: np.ndarray) -> np.ndarray:
    # Without a floor a component can collapse onto repeated values and its likelihood diverges.
    return np.maximum((0.05 * np.std(x, axis=-1)) ** 2, 1e-12)


INITS = ((0.25, 0.75), (0.0, 1.0), (0.1, 0.5), (0.5, 0.9))
"""Quantile pairs used as initial means; EM keeps the best of the four runs (deterministic)."""


def _gmm_batch(X: np.ndarray, iterations: int) -> tuple[np.ndarray, ...]:
    """EM for a 2-component 1-D mixture on each row of ``X [R, n]`` → (w, mu, var, loglik, assign)."""
    R, n = X.shape
    floor = _var_floor(X)[:, None]
    best_ll = np.full(R, -np.inf)
    best = [np.zeros((R, 2)), np.zeros((R, 2)), np.zeros((R, 2)), np.zeros((R, n), dtype=int)]
    x = X[:, :, None]

    def log_joint(w: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
        return (-0.5 * ((x - mu[:, None]) ** 2 / var[:, None] + np.log(2 * np.pi * var[:, None]))
                + np.log(np.maximum(w[:, None], 1e-300)))

    for lo, hi in INITS:
        mu = np.quantile(X, [lo, hi], axis=1).T
        var = np.repeat(np.maximum(X.var(axis=1, keepdims=True), floor), 2, axis=1)
        w = np.full((R, 2), 0.5)
        for _ in range(iterations):
            logp = log_joint(w, mu, var)
            resp = np.exp(logp - logp.max(axis=2, keepdims=True))
            resp /= resp.sum(axis=2, keepdims=True)
            nk = resp.sum(axis=1) + 1e-12
            w = nk / n
            mu = (resp * x).sum(axis=1) / nk
            var = np.maximum((resp * (x - mu[:, None]) ** 2).sum(axis=1) / nk, floor)
        logp = log_joint(w, mu, var)
        top = logp.max(axis=2)
        ll = (top + np.log(np.exp(logp - top[..., None]).sum(axis=2))).sum(axis=1)
        better = ll > best_ll + 1e-9
        best_ll = np.where(better, ll, best_ll)
        for slot, value in zip(best, (w, mu, var, logp.argmax(axis=2))):
            slot[better] = value[better]
    w, mu, var, assign = best
    swap = mu[:, 0] > mu[:, 1]  # smaller-mean component first
    for arr in (w, mu, var):
        arr[swap] = arr[swap][:, ::-1]
    assign = np.where(swap[:, None], 1 - assign, assign)
    return w, mu, var, best_ll, assign


def gmm_1d(x: np.ndarray, *, iterations: int = 150) -> dict[str, np.ndarray | float]:
    """Two-component 1-D Gaussian mixture by EM (deterministic: best of four quantile inits).

    Returns weights, means, variances (each shape [2], smaller-mean component first), the log
    likelihood and the hard assignment of each value. Variances are floored at (5% of the sample
    SD)² so that a component cannot collapse onto repeated values.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    w, mu, var, ll, assign = _gmm_batch(x[None, :], iterations)
    return {"weights": w[0], "means": mu[0], "variances": var[0], "loglik": float(ll[0]), "assign": assign[0]}


def _delta_bic_batch(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = X.shape[1]
    var1 = np.maximum(X.var(axis=1), _var_floor(X))
    ll1 = (-0.5 * ((X - X.mean(axis=1, keepdims=True)) ** 2 / var1[:, None]
                   + np.log(2 * np.pi * var1[:, None]))).sum(1)
    w, mu, var, ll2, assign = _gmm_batch(X, 150)
    return (-2 * ll1 + 2 * np.log(n)) - (-2 * ll2 + 5 * np.log(n)), assign


def gmm_delta_bic(x: np.ndarray) -> float:
    """``BIC(1 component) − BIC(2 components)`` of a 1-D sample; > 0 favours two clusters.

    BIC = −2 log L + k ln n with k = 2 and 5 free parameters (Schwarz 1978). ΔBIC > 10 is "very
    strong" evidence (Kass & Raftery 1995), but GMMs over-split skewed single phases, so compare it
    with a control regime's ΔBIC before reading it as clustering.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 4:
        raise ValueError("ΔBIC needs at least 4 values")
    return float(_delta_bic_batch(x[None, :])[0][0])


def minority_fraction_batch(X: np.ndarray, *, bic_threshold: float = 10.0) -> np.ndarray:
    """:func:`minority_fraction` of every row of ``X [R, n]`` at once (for the bootstrap)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 4:
        raise ValueError(f"X must be [R, n] with n ≥ 4, got shape {X.shape}")
    dbic, assign = _delta_bic_batch(X)
    ones = assign.sum(axis=1)
    minority = np.minimum(ones, X.shape[1] - ones) / X.shape[1]
    return np.where((dbic > bic_threshold) & (np.ptp(X, axis=1) > 0), minority, 0.0)


def minority_fraction(x: np.ndarray, *, bic_threshold: float = 10.0) -> float:
    """Fraction of values in the smaller cluster of a 2-component GMM, or 0 if ΔBIC ≤ ``bic_threshold``.

    0 means one cluster (or clusters not supported by BIC); 0.5 means two equal clusters.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 4:
        return 0.0
    return float(minority_fraction_batch(x[None, :], bic_threshold=bic_threshold)[0])


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (Mann–Whitney U, ties averaged)."""
    from scipy.stats import rankdata

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auroc needs both positive and negative labels")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
