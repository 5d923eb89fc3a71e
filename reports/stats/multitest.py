"""Multiple-testing corrections for a report that tests many statistics at once.

A report that tests every measure statistic (or every statistic at every epoch)
finds some p < 0.05 by chance alone. Two standard corrections, from
``statsmodels.stats.multitest.multipletests``:

- Holm (1979), *A simple sequentially rejective multiple test procedure*: the
  k-th smallest of m p-values becomes max over j <= k of min(1, (m - j + 1) p_(j));
  it controls the family-wise error rate (the chance of any false rejection).
- Benjamini and Hochberg (1995), *Controlling the false discovery rate*: the
  k-th smallest becomes min over j >= k of min(1, m p_(j) / j); it controls the
  expected share of false rejections among the rejections.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class AdjustedP(NamedTuple):
    """Adjusted p-values, aligned with the raw ones (NaN where the raw one is NaN)."""

    holm: np.ndarray
    bh: np.ndarray


def adjust_pvalues(p) -> AdjustedP:
    """Holm and Benjamini-Hochberg adjusted p-values of one family of tests.

    Parameters
    ----------
    p : array-like of shape (n_tests,)
        Raw p-values; NaN (a test not made) is left out of the family and stays NaN.

    Returns
    -------
    AdjustedP
        ``holm`` and ``bh``, arrays of shape (n_tests,) in [0, 1].

    Raises
    ------
    ValueError
        ``p`` is not 1-D, or a p-value lies outside [0, 1].
    """
    p = np.asarray(p, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"adjust_pvalues expects p-values of shape (n_tests,). Got shape {p.shape} instead.")
    tested = ~np.isnan(p)
    if np.any((p[tested] < 0) | (p[tested] > 1)):
        raise ValueError(f"The p-values of adjust_pvalues must lie in [0, 1]. Got {p[tested].tolist()} instead.")
    holm, bh = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    if tested.any():
        from statsmodels.stats.multitest import multipletests  # not on import: listing the kinds stays cheap

        holm[tested] = multipletests(p[tested], method="holm")[1]
        bh[tested] = multipletests(p[tested], method="fdr_bh")[1]
    return AdjustedP(holm, bh)
