"""Metric helpers used by protocols B, D, E, F, G and H (pure numpy / scikit-learn, no torch).

Every function validates its input first and raises ``ValueError`` with a clear message.
The core metrics (disagreement, linear CKA, LMC barrier, bootstrap CI) live in
:mod:`experiments.metrics`; this module holds the ones only the later protocols need.

References
----------
Otsu, N. (1979). A threshold selection method from gray-level histograms. *IEEE Trans. SMC* 9(1) —
the 1-D two-cluster split that maximises between-class variance.
Juneja, Bansal, Cho, Sedoc & Saphra (2023). Linear connectivity reveals generalization strategies.
*ICLR* — final models fall into discrete basins; a model's basin is where it ends.
Zhong, Liu, Tegmark & Andreas (2023). The Clock and the Pizza. *NeurIPS* — key frequencies read off
the Fourier spectrum of the token embedding.
Nanda, Chan, Lieberum, Smith & Steinhardt (2023). Progress measures for grokking via mechanistic
interpretability. *ICLR* — key frequencies of modular addition.
Achille, Rovere & Soatto (2019). Critical learning periods in deep networks. *ICLR* — the effect of
a temporary deficit as a function of when it is applied.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _as_1d(values: Iterable[float], name: str, *, min_len: int = 1) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} values; got {arr.size}")
    return arr


def two_cluster_split(values: Iterable[float]) -> tuple[np.ndarray, float]:
    """Split a 1-D sample into two clusters at the threshold that maximises between-class variance.

    This is Otsu's (1979) criterion, i.e. exact 1-D 2-means. Returns ``(labels, threshold)`` with
    label 1 for values above the threshold. Both clusters are non-empty when the sample has at least
    two distinct values; a constant sample gets all zeros and ``threshold = value``.
    """
    v = _as_1d(values, "values")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite")
    uniq = np.unique(v)
    if uniq.size < 2:
        return np.zeros(v.size, dtype=int), float(v[0])
    srt = np.sort(v)
    n = srt.size
    csum = np.cumsum(srt)
    k = np.arange(1, n)  # size of the lower cluster
    mean_lo = csum[:-1] / k
    mean_hi = (csum[-1] - csum[:-1]) / (n - k)
    between = k * (n - k) * (mean_hi - mean_lo) ** 2
    valid = srt[1:] > srt[:-1]  # only cut between distinct values
    between = np.where(valid, between, -np.inf)
    cut = int(np.argmax(between))
    threshold = float((srt[cut] + srt[cut + 1]) / 2.0)
    return (v > threshold).astype(int), threshold


def logistic_fit(features: np.ndarray, labels: np.ndarray, *, c: float = 1.0,
                 iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method (scikit-learn's objective).

    Minimises ``C · Σ log-loss + ½‖w‖²`` (the intercept is not penalised), which is what
    ``sklearn.linear_model.LogisticRegression(C=c)`` fits; written out because protocol E fits it
    thousands of times on a handful of rows. Returns ``(w, b)``.
    """
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"features must be (n, d) and labels (n,); got {x.shape} and {y.shape}")
    if c <= 0:
        raise ValueError(f"c must be > 0; got {c}")
    z = np.hstack([np.ones((x.shape[0], 1)), x])
    reg = np.eye(z.shape[1]) / c
    reg[0, 0] = 0.0
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -500, 500)))
        grad = z.T @ (prob - y) + reg @ beta
        hess = (z * (prob * (1 - prob))[:, None]).T @ z + reg + 1e-10 * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[1:], float(beta[0])


def _standardise(train: np.ndarray, *rest: np.ndarray) -> list[np.ndarray]:
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return [(a - mu) / sd for a in (train, *rest)]


def _check_xy(features: np.ndarray, labels: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=float)
    y = _as_1d(labels, "labels", min_len=3).astype(int)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError(f"features must have shape (n, d) with n = {y.size}; got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features must be finite")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return x, y


def loo_logistic_scores(features: np.ndarray, labels: Iterable[int], *, c: float = 1.0) -> np.ndarray:
    """Leave-one-out predicted probabilities of class 1 from an L2 logistic regression.

    Features are standardised inside each fold (training-fold mean and SD), so no information from
    the held-out seed leaks. A fold whose training labels hold a single class predicts that class's
    training frequency. (For an AUROC use :func:`lpo_auroc_pairs`: leave-one-out scores are biased
    against the held-out row's class.)

    Returns an array of shape (n,) with the held-out probability for each row.
    """
    x, y = _check_xy(features, labels)
    out = np.empty(y.size)
    for i in range(y.size):
        keep = np.arange(y.size) != i
        if np.unique(y[keep]).size < 2:
            out[i] = float(y[keep].mean())
            continue
        xt, xi = _standardise(x[keep], x[i:i + 1])
        w, b = logistic_fit(xt, y[keep], c=c)
        out[i] = float(1.0 / (1.0 + np.exp(-(xi[0] @ w + b))))
    return out


def lpo_auroc_pairs(features: np.ndarray, labels: Iterable[int], *, c: float = 1.0) -> np.ndarray:
    """Leave-pair-out AUROC outcomes of an L2 logistic regression.

    For every (positive i, negative j) pair both rows are held out, the model is fitted on the rest
    and ``W[i, j] = 1[s_i > s_j] + ½·1[s_i = s_j]``; ``W.mean()`` is the leave-pair-out AUROC, which,
    unlike leave-one-out, is not biased against small classes (Airola, Pahikkala, Waegeman, De Baets &
    Salakoski 2011, "An experimental comparison of cross-validation techniques for estimating the area
    under the ROC curve", *Comput. Stat. Data Anal.* 55(4)). A fold left with one class scores ½.

    Returns ``W`` of shape (n_positive, n_negative), rows and columns in the order of the data.
    """
    x, y = _check_xy(features, labels)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("leave-pair-out AUROC needs both classes among the labels")
    out = np.full((pos.size, neg.size), 0.5)
    for a, i in enumerate(pos):
        for b_, j in enumerate(neg):
            keep = (np.arange(y.size) != i) & (np.arange(y.size) != j)
            if np.unique(y[keep]).size < 2:
                continue
            xt, xi, xj = _standardise(x[keep], x[i:i + 1], x[j:j + 1])
            w, b = logistic_fit(xt, y[keep], c=c)
            si, sj = float(xi[0] @ w + b), float(xj[0] @ w + b)
            out[a, b_] = 1.0 if si > sj else (0.5 if si == sj else 0.0)
    return out


def loo_r2(features: np.ndarray, target: Iterable[float], *, ridge: float = 1e-3) -> float:
    """Leave-one-out (PRESS) R² of a ridge regression of a continuous outcome on the features.

    ``R² = 1 − Σ (y_i − ŷ_{−i})² / Σ (y_i − ȳ)²``; it can be negative when the predictors are worse
    than the mean. Features are standardised within each fold.
    """
    x = np.asarray(features, dtype=float)
    y = _as_1d(target, "target", min_len=3)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError(f"features must have shape (n, d) with n = {y.size}; got {x.shape}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0:
        return float("nan")
    press = 0.0
    for i in range(y.size):
        keep = np.arange(y.size) != i
        xt, yt = x[keep], y[keep]
        mu, sd = xt.mean(0), xt.std(0)
        sd = np.where(sd > 1e-12, sd, 1.0)
        z = np.hstack([np.ones((xt.shape[0], 1)), (xt - mu) / sd])
        penalty = ridge * np.eye(z.shape[1])
        penalty[0, 0] = 0.0
        beta = np.linalg.solve(z.T @ z + penalty, z.T @ yt)
        zi = np.concatenate([[1.0], (x[i] - mu) / sd])
        press += float((y[i] - zi @ beta) ** 2)
    return 1.0 - press / total


def jaccard(a: Iterable[int], b: Iterable[int]) -> float:
    """Jaccard index |A ∩ B| / |A ∪ B| of two sets; two empty sets give 1."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def key_frequencies(embedding: np.ndarray, *, mass: float = 0.8, max_keys: int | None = None) -> list[int]:
    """Key frequencies of a modular-arithmetic token embedding.

    The embedding ``E`` of shape (p, d) is Fourier-transformed along the token axis; the power of
    frequency k (1 ≤ k ≤ (p−1)/2, the constant k = 0 excluded, k and p−k merged) is
    ``Σ_d |Ê[k, d]|²``. The key set is the smallest set of frequencies that carries at least
    ``mass`` of the total non-constant power (Zhong et al. 2023 read the "circles" off exactly this
    spectrum; Nanda et al. 2023 call its sparse support the key frequencies). A trained Clock or
    Pizza model has a handful of keys; a random embedding has a flat spectrum and many.

    Returns the sorted key frequencies (integers in 1 … (p−1)//2).
    """
    e = np.asarray(embedding, dtype=float)
    if e.ndim != 2 or e.shape[0] < 3:
        raise ValueError(f"embedding must have shape (p, d) with p >= 3; got {e.shape}")
    if not 0.0 < mass <= 1.0:
        raise ValueError(f"mass must lie in (0, 1]; got {mass}")
    p = e.shape[0]
    spec = np.fft.fft(e - e.mean(0), axis=0)
    power = (np.abs(spec) ** 2).sum(1)
    half = (p - 1) // 2
    merged = np.array([power[k] + power[p - k] for k in range(1, half + 1)])
    total = merged.sum()
    if total <= 0:
        return []
    order = np.argsort(-merged, kind="mergesort")
    cum = np.cumsum(merged[order]) / total
    n_keys = int(np.searchsorted(cum, mass - 1e-12) + 1)
    if max_keys is not None:
        n_keys = min(n_keys, int(max_keys))
    return sorted(int(k) + 1 for k in order[:n_keys])


def retention(correct_early: np.ndarray, correct_final: np.ndarray) -> float:
    """P(final correct | early correct) over the examples the early model gets right.

    Parameters
    ----------
    correct_early, correct_final : boolean arrays of the same shape (n,)

    Returns NaN when the early model gets nothing right.
    """
    a = np.asarray(correct_early, dtype=bool)
    b = np.asarray(correct_final, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"correct_early and correct_final must be 1-D of equal shape; got {a.shape}, "
                         f"{b.shape}")
    if not a.any():
        return float("nan")
    return float(b[a].mean())


def snap_position(distance_to_a: np.ndarray, distance_to_b: np.ndarray) -> np.ndarray:
    """Relative position ``u = d_A / (d_A + d_B)`` of an outcome between two cluster centres.

    ``u = 0`` is on cluster A, ``u = 1`` on cluster B. Equal zero distances give 0.5.
    """
    da = np.asarray(distance_to_a, dtype=float)
    db = np.asarray(distance_to_b, dtype=float)
    if da.shape != db.shape:
        raise ValueError("distance_to_a and distance_to_b must have the same shape")
    if (da < 0).any() or (db < 0).any():
        raise ValueError("distances must be non-negative")
    denom = da + db
    return np.where(denom > 0, da / np.where(denom > 0, denom, 1.0), 0.5)


def snap_fraction(positions: Iterable[float], *, margin: float = 0.25) -> float:
    """Fraction of outcomes within ``margin`` of either cluster (``u ≤ margin`` or ``u ≥ 1 − margin``).

    A bimodal "snap" outcome (the essay's stable clusters, concept D) gives 1; outcomes spread
    uniformly between the clusters give ``2·margin``.
    """
    u = _as_1d(positions, "positions")
    if not 0.0 < margin < 0.5:
        raise ValueError(f"margin must lie in (0, 0.5); got {margin}")
    if not np.isfinite(u).all():
        raise ValueError("positions must be finite")
    return float(((u <= margin) | (u >= 1.0 - margin)).mean())


def step_sharpness(alphas: Iterable[float], positions: Iterable[float]) -> float:
    """Sharpness of the α → outcome curve: the largest jump between neighbouring α's.

    ``max_i |u(α_{i+1}) − u(α_i)| / |u(α_max) − u(α_min)|``; 1 means the whole change happens between
    two neighbouring grid points (a step), ``1/(n−1)`` a straight ramp. NaN when the endpoints agree.
    """
    a = _as_1d(alphas, "alphas", min_len=2)
    u = _as_1d(positions, "positions", min_len=2)
    if a.shape != u.shape:
        raise ValueError("alphas and positions must have the same length")
    order = np.argsort(a, kind="mergesort")
    u = u[order]
    span = abs(u[-1] - u[0])
    if span <= 1e-12:
        return float("nan")
    return float(min(1.0, np.abs(np.diff(u)).max() / span))


def standardized_effect(early: Iterable[float], late: Iterable[float], never: Iterable[float],
                        *, sd_floor: float = 1e-3) -> tuple[float, float, float]:
    """Paired effect of an early vs a late intervention on a final behaviour, in seed SDs.

    ``effect_t = |mean_i (b_{t,i} − b_{never,i})|`` (paired by seed), and the statistic is
    ``(effect_early − effect_late) / max(SD(b_never), sd_floor)``. Returns
    ``(statistic, effect_early, effect_late)``.
    """
    e = _as_1d(early, "early", min_len=2)
    la = _as_1d(late, "late", min_len=2)
    n = _as_1d(never, "never", min_len=2)
    if not (e.shape == la.shape == n.shape):
        raise ValueError("early, late and never must hold one value per seed each")
    if sd_floor <= 0:
        raise ValueError(f"sd_floor must be > 0; got {sd_floor}")
    eff_e = abs(float((e - n).mean()))
    eff_l = abs(float((la - n).mean()))
    sd = max(float(n.std(ddof=1)), sd_floor)
    return (eff_e - eff_l) / sd, eff_e, eff_l


def hit_rate(predicted: Iterable[object], found: Iterable[object]) -> float:
    """Fraction of variants whose found solution equals the predicted one."""
    p, f = list(predicted), list(found)
    if len(p) != len(f) or not p:
        raise ValueError("predicted and found must be non-empty and of equal length")
    return float(np.mean([a == b for a, b in zip(p, f)]))
