"""Comparing several methods over many blocks by their ranks (Demšar 2006).

``scores`` is always an array of shape ``(n_blocks, n_methods)``: one row per
block (a data set, or a network configuration), one column per method (a
classifier, or a regulariser setting). Within each block the methods are ranked,
1 for the best, ties sharing the average of the ranks they span.

Implemented from J. Demšar, *Statistical comparisons of classifiers over multiple
data sets*, JMLR 7 (2006) 1-30, Section 3.2.2: ranks within blocks, the Friedman
test (chi²_F) and its Iman-Davenport F variant. The post-hoc tests that follow a
rejection are in :mod:`reports.stats.posthoc`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test and its Iman-Davenport F variant.

    Attributes
    ----------
    chi2, p_chi2 : float
        Friedman's statistic chi²_F (corrected for ties, as scipy computes it) and
        its p-value under chi² with ``n_methods - 1`` degrees of freedom.
    f, p_f : float
        Iman-Davenport's F_F and its p-value under F with ``n_methods - 1`` and
        ``(n_methods - 1)(n_blocks - 1)`` degrees of freedom.
    n_blocks, n_methods : int
    """

    chi2: float
    p_chi2: float
    f: float
    p_f: float
    n_blocks: int
    n_methods: int


def check_scores(scores, *, where: str = "scores", min_blocks: int = 2,
                 min_methods: int = 2) -> np.ndarray:
    """``scores`` as a finite float array of shape ``(n_blocks, n_methods)``.

    Raises
    ------
    ValueError
        If ``scores`` is not 2-D, holds NaN or infinities, or has fewer than
        ``min_blocks`` rows or ``min_methods`` columns.
    """
    a = np.asarray(scores, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"{where} must be a 2-D array of shape (n_blocks, n_methods). "
                         f"Got an array of shape {a.shape} instead.")
    if a.shape[0] < min_blocks or a.shape[1] < min_methods:
        raise ValueError(f"{where} must have at least {min_blocks} blocks (rows) and "
                         f"{min_methods} methods (columns). Got shape {a.shape} instead.")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{where} must be finite. Got {a[tuple(bad)]} at block {bad[0]}, "
                         f"method {bad[1]}.")
    return a


def block_ranks(scores, *, higher_is_better: bool = True) -> np.ndarray:
    """Rank the methods within each block: 1 = best, ties get their average rank.

    Parameters
    ----------
    scores : array-like of shape (n_blocks, n_methods)
    higher_is_better : bool
        True for accuracies, False for errors or generalization gaps.

    Returns
    -------
    ndarray of shape (n_blocks, n_methods)
        Ranks in ``[1, n_methods]``; each row sums to ``n_methods (n_methods + 1) / 2``.
    """
    from scipy import stats

    a = check_scores(scores, min_blocks=1)
    return stats.rankdata(-a if higher_is_better else a, method="average", axis=1)


def average_ranks(scores, *, higher_is_better: bool = True) -> np.ndarray:
    """Average rank of each method over the blocks (Demšar 2006, R_j).

    Returns
    -------
    ndarray of shape (n_methods,)
    """
    return block_ranks(scores, higher_is_better=higher_is_better).mean(axis=0)


def friedman_statistic(avg_ranks, n_blocks: int) -> float:
    """Friedman's chi²_F from the average ranks, without tie correction.

    chi²_F = 12 N / (k (k + 1)) * (sum_j R_j² - k (k + 1)² / 4)  (Demšar 2006, Sec. 3.2.2).

    Parameters
    ----------
    avg_ranks : array-like of shape (n_methods,)
    n_blocks : int
        N, the number of blocks the ranks were averaged over.
    """
    r = np.asarray(avg_ranks, dtype=float)
    k = r.size
    return float(12.0 * n_blocks / (k * (k + 1)) * (np.sum(r ** 2) - k * (k + 1) ** 2 / 4.0))


def iman_davenport(chi2: float, n_blocks: int, n_methods: int) -> tuple[float, float]:
    """Iman and Davenport's F_F = (N - 1) chi²_F / (N (k - 1) - chi²_F) and its p-value.

    F_F follows F with ``k - 1`` and ``(k - 1)(N - 1)`` degrees of freedom (Demšar 2006,
    Sec. 3.2.2). When every block ranks the methods the same way, chi²_F reaches
    ``N (k - 1)`` and F_F is infinite (p = 0).
    """
    from scipy import stats

    n, k = n_blocks, n_methods
    denom = n * (k - 1) - chi2
    if denom <= 1e-12 * max(1.0, n * (k - 1)):
        return math.inf, 0.0
    f = (n - 1) * chi2 / denom
    return float(f), float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))


def friedman_test(scores) -> FriedmanResult:
    """Friedman's test of "all methods perform alike" and the Iman-Davenport F.

    Parameters
    ----------
    scores : array-like of shape (n_blocks, n_methods)
        At least 2 blocks and 3 methods.

    Returns
    -------
    FriedmanResult
        When every block ties all methods, chi²_F = F_F = 0 and both p-values are 1.

    Raises
    ------
    ValueError
        See :func:`check_scores`.
    """
    from scipy import stats

    a = check_scores(scores, min_blocks=2, min_methods=3)
    n, k = a.shape
    if np.all(np.ptp(a, axis=1) == 0):
        return FriedmanResult(0.0, 1.0, 0.0, 1.0, n, k)
    chi2, p = stats.friedmanchisquare(*a.T)
    f, p_f = iman_davenport(float(chi2), n, k)
    return FriedmanResult(float(chi2), float(p), f, p_f, n, k)
