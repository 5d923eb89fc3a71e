"""Post-hoc tests after a Friedman test: which methods differ (Demšar 2006).

``scores`` is an array of shape ``(n_blocks, n_methods)`` and average ranks are
those of :mod:`reports.stats.ranks` (1 for the best method of a block).
Implemented from J. Demšar, *Statistical comparisons of classifiers over multiple
data sets*, JMLR 7 (2006) 1-30, Section 3.2.2: the Nemenyi test and its critical
difference (CD, with q_alpha of Table 5), the critical-difference diagram's
cliques (Figure 1); and, as the alternative that Benavoli, Corani and Mangili
(*Should we really use post-hoc tests based on mean-ranks?*, JMLR 17 (2016))
recommend, pairwise Wilcoxon signed-rank tests with Holm's correction.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reports.stats.ranks import check_scores

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class PairwiseResult:
    """Pairwise Wilcoxon signed-rank tests with Holm's step-down correction.

    Attributes
    ----------
    pairs : list of (int, int)
        Method indices ``(i, j)``, ``i < j``, in lexicographic order.
    statistic : ndarray of shape (n_pairs,)
        Wilcoxon's T (the smaller signed-rank sum), NaN when the two methods
        score the same on every block.
    p : ndarray of shape (n_pairs,)
        Two-sided p-values (1.0 for methods that never differ).
    p_holm : ndarray of shape (n_pairs,)
        Holm-adjusted p-values over the ``n_pairs`` tests.
    reject : ndarray of bool of shape (n_pairs,)
        ``p_holm < alpha``.
    """

    pairs: list[tuple[int, int]]
    statistic: np.ndarray
    p: np.ndarray
    p_holm: np.ndarray
    reject: np.ndarray


def nemenyi_q(n_methods: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical value q_alpha (Demšar 2006, Table 5).

    The studentized range statistic's ``1 - alpha`` quantile for ``n_methods`` groups
    and infinite degrees of freedom, divided by sqrt(2): 1.960, 2.343, 2.569, ...
    for k = 2, 3, 4, ... at alpha = 0.05.

    Raises
    ------
    ValueError
        ``n_methods`` < 2 or ``alpha`` outside (0, 1).
    """
    from scipy import stats

    if n_methods < 2 or not 0 < alpha < 1:
        raise ValueError(f"nemenyi_q needs n_methods >= 2 and alpha in (0, 1). "
                         f"Got n_methods={n_methods}, alpha={alpha} instead.")
    return float(stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2))


def critical_difference(n_methods: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference CD = q_alpha sqrt(k (k + 1) / (6 N)) (Demšar 2006).

    Two methods whose average ranks differ by at least CD differ significantly.

    Parameters
    ----------
    n_methods : int
        k, at least 2.
    n_blocks : int
        N, at least 1.
    alpha : float

    Returns
    -------
    float
        In units of average rank.
    """
    if n_blocks < 1:
        raise ValueError(f"critical_difference needs n_blocks >= 1. Got {n_blocks} instead.")
    k = n_methods
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n_blocks))


def nemenyi_pvalues(avg_ranks, n_blocks: int) -> np.ndarray:
    """Pairwise Nemenyi p-values from the average ranks.

    z = |R_i - R_j| / sqrt(k (k + 1) / (6 N)); p = P(Q > sqrt(2) z) for Q the studentized
    range of k groups with infinite degrees of freedom.

    Returns
    -------
    ndarray of shape (n_methods, n_methods)
        Symmetric, ones on the diagonal.
    """
    from scipy import stats

    r = np.asarray(avg_ranks, dtype=float)
    k = r.size
    z = np.abs(r[:, None] - r[None, :]) / math.sqrt(k * (k + 1) / (6.0 * n_blocks))
    p = stats.studentized_range.sf(z * math.sqrt(2), k, np.inf)
    np.fill_diagonal(p, 1.0)
    return np.minimum(p, 1.0)


def wilcoxon_holm(scores, alpha: float = 0.05) -> PairwiseResult:
    """Wilcoxon signed-rank test on every pair of methods, Holm-corrected.

    ``scipy.stats.wilcoxon`` (two-sided, zero differences dropped as Wilcoxon
    proposed, exact or normal as scipy chooses) on the paired scores of methods
    i and j over the blocks; ``statsmodels`` ``multipletests(method='holm')``.

    Parameters
    ----------
    scores : array-like of shape (n_blocks, n_methods)
    alpha : float
        Family-wise error rate of the Holm procedure.

    Returns
    -------
    PairwiseResult
    """
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    a = check_scores(scores)
    pairs = list(itertools.combinations(range(a.shape[1]), 2))
    stat = np.full(len(pairs), np.nan)
    p = np.ones(len(pairs))
    for n, (i, j) in enumerate(pairs):
        if np.any(a[:, i] != a[:, j]):
            res = stats.wilcoxon(a[:, i], a[:, j])
            stat[n], p[n] = res.statistic, res.pvalue
    reject, p_holm, _, _ = multipletests(p, alpha=alpha, method="holm")
    return PairwiseResult(pairs, stat, p, p_holm, reject)


def cliques(avg_ranks, different) -> list[tuple[int, ...]]:
    """Maximal runs of methods, in average-rank order, no two of which differ.

    These are the bars of a critical-difference diagram (Demšar 2006, Figure 1).

    Parameters
    ----------
    avg_ranks : array-like of shape (n_methods,)
    different : array-like of bool of shape (n_methods, n_methods)
        ``different[i, j]``: methods i and j differ significantly.

    Returns
    -------
    list of tuple of int
        Method indices of each clique of two or more methods, best rank first;
        cliques ordered by their best member. A method that differs from all its
        neighbours is in no clique.
    """
    r = np.asarray(avg_ranks, dtype=float)
    d = np.asarray(different, dtype=bool)
    if d.shape != (r.size, r.size):
        raise ValueError(f"'different' must have shape ({r.size}, {r.size}) to match "
                         f"avg_ranks. Got {d.shape} instead.")
    order = np.argsort(r, kind="stable")
    spans = []
    for start in range(r.size):
        stop = start
        while stop + 1 < r.size and not d[order[stop + 1], order[start:stop + 1]].any():
            stop += 1
        if stop > start and not any(a <= start and stop <= b for a, b in spans):
            spans.append((start, stop))
    return [tuple(int(m) for m in order[a:b + 1]) for a, b in spans]


def cd_cliques(avg_ranks, cd: float) -> list[tuple[int, ...]]:
    """Cliques of methods whose average ranks lie within less than ``cd`` of each other.

    See :func:`cliques`; Nemenyi: methods differ when their average ranks differ by at
    least the critical difference.
    """
    r = np.asarray(avg_ranks, dtype=float)
    return cliques(r, np.abs(r[:, None] - r[None, :]) >= cd)
