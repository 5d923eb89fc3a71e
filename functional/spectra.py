"""Statistics of one matrix's singular values and their aggregation over layers.

Definitions follow Jaegerman, Damouni, Hosseini and Plataniotis, "In search of probeable
generalization measures" (ICMLA 2021) as their code (GenProb, ``source/process.py`` and
``source/qualities.py``) computes them, and Hosseini and Plataniotis, "AdaS: Adaptive scheduling
of stochastic gradients" (arXiv 2006.06587: knowledge gain ``G_p`` and mapping condition ``kappa``;
their code is ``adas``/RMSGD ``metrics.py``).
"""

from __future__ import annotations

import numpy as np

#: Per-matrix statistics, in the order they are emitted.
STATISTICS = ("frobenius_norm", "spectral_norm", "stable_rank", "knowledge_gain", "normalized_rank",
              "spectral_entropy", "effective_rank", "condition_number", "inverse_condition_number",
              "stable_quality")

#: Aggregations over layers (GenProb ``qualities.agg`` L = 1..5) and the prefix of their statistic names.
AGGREGATION_PREFIX = {"mean": "mean", "rms": "rms", "geometric_mean": "gmean",
                      "weighted_mean": "wmean", "weighted_geometric_mean": "wgmean"}


def spectrum_statistics(s: np.ndarray, n: int, tol: float = 0.0) -> dict[str, float]:
    """Statistics of a spectrum ``sigma_1 >= sigma_2 >= ... >= 0``.

    Parameters
    ----------
    s : ndarray of shape (k,)
        Singular values, descending: all ``k = n`` of a matrix, or the ``k <= n`` kept by a
        low-rank estimate (EVBMF).
    n : int
        ``N = min(rows, cols)`` of the matrix, the normaliser of the knowledge gain and the
        normalised rank (GenProb transposes so that rows <= cols, then divides by the rows; AdaS/RMSGD
        divide by the rows before transposing, the channel count of the unfolding, which differs
        for a tall matrix).
    tol : float
        Singular values at or below ``tol`` count as zero (rank and smallest singular value).

    Returns
    -------
    dict
        ``frobenius_norm`` ``sqrt(sum sigma_i^2)``; ``spectral_norm`` ``sigma_1``;
        ``normalized_rank`` ``#{sigma_i > tol} / N`` (AdaS's "rank" of the EVBMF estimate);
        and, when ``sigma_1 > 0``:
        ``stable_rank`` ``sum sigma_i^2 / sigma_1^2`` (Rudelson and Vershynin 2007);
        ``knowledge_gain`` ``G = sum_i sigma_i / (N sigma_1)`` (AdaS's ``G_p`` with ``p = 1``, as GenProb
        computes it and calls it ``S``; ``G_2`` is ``stable_rank / N``);
        ``spectral_entropy`` ``H = -sum p_i ln p_i``, ``p_i = sigma_i / sum_j sigma_j``, nats (GenProb's
        "effective rank" ``ER``); ``effective_rank`` ``exp(H)`` (Roy and Vetterli 2007, Eq. 1);
        ``inverse_condition_number`` ``sigma_k / sigma_1``, ``sigma_k`` the smallest value, 0 when
        ``<= tol``; ``condition_number`` ``sigma_1 / sigma_k`` (AdaS's mapping condition ``kappa``), only
        when ``sigma_k > tol``; ``stable_quality`` ``SQ = arctan2(G, 1 - sigma_k / sigma_1)`` in radians
        (GenProb ``qualities.py``: ``arctan2(S, 1 - 1/C)``).
    """
    s = np.asarray(s, dtype=np.float64)
    rank = int(np.count_nonzero(s > tol))
    out = {"frobenius_norm": float(np.sqrt(np.sum(s**2))), "spectral_norm": float(s[0]) if s.size else 0.0,
           "normalized_rank": rank / n}
    if rank == 0:
        return out  # zero spectrum: every ratio is undefined
    smax = float(s[0])
    p = s[s > 0] / s.sum()
    entropy = float(-(p * np.log(p)).sum())
    smin = float(s[-1]) if s[-1] > tol else 0.0
    gain = float(np.sum(s / smax) / n)
    out.update(stable_rank=float(np.sum(s**2)) / smax**2, knowledge_gain=gain, spectral_entropy=entropy,
               effective_rank=float(np.exp(entropy)), inverse_condition_number=smin / smax,
               stable_quality=float(np.arctan2(gain, 1.0 - smin / smax)))
    if smin > 0.0:
        out["condition_number"] = smax / smin
    return out


def aggregate(values: np.ndarray, weights: np.ndarray, how: str) -> float:
    """One network-level value from per-matrix values (GenProb ``qualities.agg``).

    Parameters
    ----------
    values : ndarray of shape (n_matrices,)
        Non-negative per-matrix statistics.
    weights : ndarray of shape (n_matrices,)
        ``min(rows, cols)`` of each matrix (GenProb's ``in_weight``/``out_weight``), for the weighted ones.
    how : {"mean", "rms", "geometric_mean", "weighted_mean", "weighted_geometric_mean"}
        ``mean |x|`` (L1), ``sqrt(mean x^2)`` (L2: ``||x|| / sqrt(n)``), ``prod x^(1/n)`` (L3),
        ``sum w |x| / sum w`` (L4), ``prod x^(w / sum w)`` (L5).

    Raises
    ------
    ValueError
        If ``how`` is unknown.
    """
    x, w = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if how == "mean":
        return float(np.mean(np.abs(x)))
    if how == "rms":
        return float(np.sqrt(np.mean(x**2)))
    if how in ("geometric_mean", "weighted_geometric_mean"):
        w = np.ones_like(x) if how == "geometric_mean" else w
        with np.errstate(divide="ignore"):
            return float(np.exp(np.sum(w * np.log(np.abs(x))) / w.sum()))
    if how == "weighted_mean":
        return float(np.sum(w * np.abs(x)) / w.sum())
    raise ValueError(f"aggregation must be one of {sorted(AGGREGATION_PREFIX)}; got {how!r}")
