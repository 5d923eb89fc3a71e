"""Percentile bootstrap confidence intervals (Efron and Tibshirani 1993, Ch. 13).

The statistic is recomputed on ``n_boot`` resamples drawn with replacement
(seeded: the same seed gives the same interval); the interval at ``level`` is
the (1 - level)/2 and (1 + level)/2 quantiles of those values.

- :func:`bootstrap_kendall`: Kendall's tau of a measure with the gap (Jiang et
  al. 2020 Eq. (3)), runs resampled in pairs (measure, gap).
- :func:`bootstrap_mean`: the mean of a few scores, e.g. the 10 held-out R² of
  a 5x2 cross-validation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reports.stats.kendall import check_measure_gap

#: Most elements of one block of resampled pair matrices (memory bound).
_BLOCK = 4_000_000


class Interval(NamedTuple):
    """A confidence interval; NaN ends when it could not be computed."""

    low: float
    high: float


_NAN = Interval(float("nan"), float("nan"))


def percentile_interval(values, level: float) -> Interval:
    """The ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of ``values`` (shape (n_boot,); NaN ignored)."""
    if not 0 < level < 1:
        raise ValueError(f"The 'level' parameter must be a float in the range (0, 1). Got {level!r} instead.")
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return _NAN
    low, high = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return Interval(float(low), float(high))


def _check_n_boot(n_boot: int, caller: str) -> None:
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"The 'n_boot' parameter of {caller} must be an int in the range [1, inf). "
                         f"Got {n_boot!r} instead.")


def bootstrap_kendall(measure, gap, *, n_boot: int = 1000, level: float = 0.95,
                      random_state: int = 0) -> Interval:
    """Percentile bootstrap interval of Kendall's tau (Jiang et al. 2020 Eq. (3)) of a measure with the gap.

    Each resample draws n runs with replacement, keeping each run's (measure,
    gap) together; its tau is the mean of sign(mu_a - mu_b) sign(g_a - g_b) over
    the ordered pairs of *different* runs of the resample (two copies of one run
    carry no order, so they are left out rather than counted as ties, which
    would pull tau towards 0 by about 1/n). A measure that orders the gaps
    perfectly gets the interval (1, 1).

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
    gap : array-like of shape (n_runs,)
        Generalization gap of each run (train - test accuracy).
    n_boot : int
        Resamples.
    level : float
        Confidence level, in (0, 1).
    random_state : int
        Seed of ``numpy.random.default_rng``: every resample's runs are drawn at
        once, as ``integers(0, n_runs, size=(n_boot, n_runs))``.

    Returns
    -------
    Interval
        NaN ends with fewer than 3 runs.

    Raises
    ------
    ValueError
        Shapes differ or are not 1-D; a value is not finite; ``n_boot`` < 1; ``level`` outside (0, 1).
    """
    x, y = check_measure_gap(measure, gap, "bootstrap_kendall")
    _check_n_boot(n_boot, "bootstrap_kendall")
    n = x.size
    if n < 3:
        percentile_interval([], level)  # checks level
        return _NAN
    prod = np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])
    idx = np.random.default_rng(random_state).integers(0, n, size=(n_boot, n))
    taus = np.empty(n_boot)
    step = max(1, _BLOCK // (n * n))
    for start in range(0, n_boot, step):
        block = idx[start:start + step]
        pairs = prod[block[:, :, None], block[:, None, :]].sum(axis=(1, 2))
        different = (block[:, :, None] != block[:, None, :]).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            taus[start:start + step] = np.where(different > 0, pairs / different, np.nan)
    return percentile_interval(taus, level)


def bootstrap_mean(scores, *, n_boot: int = 1000, level: float = 0.95, random_state: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of ``scores``.

    Parameters
    ----------
    scores : array-like of shape (n_scores,)
        E.g. the held-out R² of each fold of a repeated cross-validation.
        Such folds share runs, so they are not independent: the interval is
        narrower than one over new samples of runs would be.
    n_boot : int
    level : float
        Confidence level, in (0, 1).
    random_state : int
        Seed of ``numpy.random.default_rng`` (``integers(0, n_scores, size=(n_boot, n_scores))``).

    Returns
    -------
    Interval
        NaN ends when no score is finite.
    """
    _check_n_boot(n_boot, "bootstrap_mean")
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s)]
    if not s.size:
        percentile_interval([], level)
        return _NAN
    idx = np.random.default_rng(random_state).integers(0, s.size, size=(n_boot, s.size))
    return percentile_interval(s[idx].mean(axis=1), level)
