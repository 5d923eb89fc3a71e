"""Scalar summaries of one persistence diagram (pure functions on an (n, 2) array).

Conventions (as Ballester et al. 2023, ``model/diagram_vectorizations.py``):
only finite points are summarised; standard deviations are population ones
(``ddof=0``); the persistent entropy (Rucco et al. 2016) uses the natural
logarithm. Unlike that code, an empty diagram gives 0 for every statistic
(instead of NaN) and zero-length points contribute ``0 log 0 = 0`` to the
entropy, so no summary is ever NaN or infinite.
"""

from __future__ import annotations

import numpy as np

#: Number of largest lifetimes reported as ``life_top1`` ... ``life_top{TOP_K}``.
TOP_K = 10

#: Names returned by :func:`summary_statistics`, in order.
STATISTICS: tuple[str, ...] = (
    "n_points", "mean_birth", "std_birth", "mean_death", "std_death", "median_death",
    "mean_life", "std_life", "median_life", "mean_midlife", "std_midlife",
    "total_persistence", "persistent_entropy", "max_life",
) + tuple(f"life_top{k}" for k in range(1, TOP_K + 1))


def finite_pairs(pairs: np.ndarray) -> np.ndarray:
    """The points of ``pairs`` (shape (n, 2)) whose birth and death are finite."""
    pairs = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    return pairs[np.isfinite(pairs).all(axis=1)]


def lifetimes(pairs: np.ndarray) -> np.ndarray:
    """Lifetimes ``death - birth`` of the finite points, shape (n_finite,)."""
    p = finite_pairs(pairs)
    return p[:, 1] - p[:, 0]


def persistent_entropy(pairs: np.ndarray) -> float:
    """Persistent entropy ``-sum p_i ln p_i``, ``p_i = l_i / sum_j l_j`` (Rucco et al. 2016).

    Finite points only; ``0 ln 0 = 0``; 0 for a diagram with no positive lifetime.
    Units: nats.
    """
    life = lifetimes(pairs)
    total = life.sum()
    if total <= 0:
        return 0.0
    p = life[life > 0] / total
    return float(-(p * np.log(p)).sum())


def top_lifetimes(pairs: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """The ``k`` largest finite lifetimes in decreasing order, zero-padded to length ``k``."""
    life = np.sort(lifetimes(pairs))[::-1][:k]
    return np.concatenate([life, np.zeros(k - life.size)])


def summary_statistics(pairs: np.ndarray) -> dict[str, float]:
    """All summaries of :data:`STATISTICS` for one diagram.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)``; points with an infinite coordinate are ignored.

    Returns
    -------
    stats : dict[str, float]
        ``n_points`` (finite points), mean/std of births and deaths, median
        death, mean/std/median of lifetimes ``d - b``, mean/std of midlives
        ``(b + d) / 2``, ``total_persistence`` (sum of lifetimes),
        ``persistent_entropy``, ``max_life`` and ``life_top1..life_top10``; all
        in filtration units except the count and the entropy. Every value is 0
        for an empty diagram.
    """
    p = finite_pairs(pairs)
    b, d = p[:, 0], p[:, 1]
    life, mid = d - b, (b + d) / 2

    def stat(fn, x):
        return float(fn(x)) if x.size else 0.0

    out = {
        "n_points": float(p.shape[0]),
        "mean_birth": stat(np.mean, b), "std_birth": stat(np.std, b),
        "mean_death": stat(np.mean, d), "std_death": stat(np.std, d),
        "median_death": stat(np.median, d),
        "mean_life": stat(np.mean, life), "std_life": stat(np.std, life),
        "median_life": stat(np.median, life),
        "mean_midlife": stat(np.mean, mid), "std_midlife": stat(np.std, mid),
        "total_persistence": float(life.sum()),
        "persistent_entropy": persistent_entropy(p),
        "max_life": stat(np.max, life),
    }
    out.update({f"life_top{k + 1}": float(v) for k, v in enumerate(top_lifetimes(p))})
    return out
