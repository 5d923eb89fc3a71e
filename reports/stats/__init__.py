"""The statistics the report kinds compute, in plain numpy / scipy / scikit-learn / statsmodels.

- :mod:`reports.stats.regression`: cross-validated R², 5x2cv t and F tests, OLS
  (Ballester et al. 2023).
- :mod:`reports.stats.kendall`: Kendall's tau and the granulated coefficients
  (Jiang et al. 2020).
- :mod:`reports.stats.cmi`: the PGDL conditional mutual information score.
- :mod:`reports.stats.ranks`: block ranks, Friedman and Iman-Davenport (Demšar 2006).
- :mod:`reports.stats.posthoc`: Nemenyi, Wilcoxon-Holm, cliques of methods.
- :mod:`reports.stats.clusters`: K-means of a summary with the gap.
- :mod:`reports.stats.robust`: the robust sign-error (Dziugaite et al. 2020).
- :mod:`reports.stats.multitest`: Holm and Benjamini-Hochberg adjusted p-values.
- :mod:`reports.stats.bootstrap`: percentile bootstrap intervals (Kendall's tau, a mean).

The two array checks every kind uses are here.
"""

from __future__ import annotations

import numpy as np


def is_constant(v: np.ndarray) -> bool:
    """True when ``v`` (shape (n,)) is empty or constant up to rounding (1e-12 relative)."""
    return v.size == 0 or float(np.ptp(v)) <= 1e-12 * max(1.0, float(np.max(np.abs(v))))


def standardise(X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` (shape (n_runs, n_features)) to mean 0, std 1 (ddof=0)."""
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
