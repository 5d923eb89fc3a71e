"""Kendall's rank correlation of a measure with the gap: tau-a, tau-b and granulated.

Jiang et al. 2020, *Fantastic generalization measures and where to find them*
(ICLR), Section 4:

- Eq. (3): over the set T of models, tau(T) = 1/(|T|(|T|-1)) sum over ordered
  pairs of distinct models of sign(mu_1 - mu_2) sign(g_1 - g_2), with mu the
  measure and g the generalization gap. A tied pair counts 0 and stays in the
  denominator: this is Kendall's tau-a, equal to scipy's tau-b when neither
  variable has ties.
- Eq. (4): the granulated coefficient of hyperparameter axis i,
  psi_i = (1/m_i) sum over the m_i cells of the other axes of tau over the
  models of the cell (which differ only in axis i).
- Eq. (5): Psi = (1/n) sum_i psi_i over the n axes.

Kendall's tau-b, tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)) (ties
corrected; scipy's), is :func:`kendall_tau_b`; :func:`kendall_tau` gives both.
A positive tau means the measure grows with the gap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class KendallResult:
    """Kendall's tau between a measure and the gap.

    Attributes
    ----------
    tau : float
        Jiang et al. 2020 Eq. (3) (tau-a), in [-1, 1]; NaN with fewer than 2 runs.
    tau_b : float
        scipy's tau-b (ties corrected); NaN when either input is constant.
    p : float
        Two-sided p-value of scipy's test of no association. Its statistic is
        n_c - n_d, the numerator of both tau-a and tau-b, so it tests either.
    n : int
        Number of runs.
    """

    tau: float
    tau_b: float
    p: float
    n: int


def check_measure_gap(measure, gap, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """``measure`` and ``gap`` as float arrays of shape (n_runs,), both finite.

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
    gap : array-like of shape (n_runs,)
    caller : str
        Name of the function checking, for the error message.

    Returns
    -------
    x, y : ndarray of shape (n_runs,)

    Raises
    ------
    ValueError
        Shapes differ or are not 1-D; a value is not finite.
    """
    x = np.asarray(measure, dtype=float)
    y = np.asarray(gap, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"{caller} expects 'measure' and 'gap' of the same shape (n_runs,). "
                         f"Got {x.shape} and {y.shape} instead.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"The 'measure' and 'gap' parameters of {caller} must be finite. "
                         f"Drop runs with missing values first.")
    return x, y


def _tied_pairs(v: np.ndarray) -> int:
    _, counts = np.unique(v, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def kendall_tau(measure, gap) -> KendallResult:
    """Kendall's tau of Jiang et al. 2020 Eq. (3), with scipy's tau-b and p-value.

    tau = (n_c - n_d) / (n (n - 1) / 2) (tau-a): n_c, n_d concordant and discordant
    pairs, tied pairs counted in the denominator. It is obtained from scipy's
    tau-b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)) as
    tau_b sqrt((n_0 - n_1)(n_0 - n_2)) / n_0, with n_0 = n(n-1)/2 and n_1, n_2 the
    pairs tied in the measure and in the gap.

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
        The measure of each run.
    gap : array-like of shape (n_runs,)
        Generalization gap of each run (train - test accuracy).

    Returns
    -------
    KendallResult

    Raises
    ------
    ValueError
        Shapes differ or are not 1-D; a value is not finite.
    """
    x, y = check_measure_gap(measure, gap, "kendall_tau")
    n = x.size
    if n < 2:
        return KendallResult(float("nan"), float("nan"), float("nan"), n)
    n0 = n * (n - 1) // 2
    n1, n2 = _tied_pairs(x), _tied_pairs(y)
    if n1 == n0 or n2 == n0:  # one variable constant: every pair tied, Eq. (3) gives 0
        return KendallResult(0.0, float("nan"), float("nan"), n)
    tau_b, p = kendall_tau_b(x, y)
    tau = tau_b * float(np.sqrt(float(n0 - n1) * float(n0 - n2))) / n0
    return KendallResult(float(np.clip(tau, -1.0, 1.0)), tau_b, p, n)


def kendall_tau_b(measure, gap) -> tuple[float, float]:
    """Kendall's tau-b between a measure and the gap, and its two-sided p-value (scipy).

    tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)): concordant minus discordant
    pairs, corrected for the pairs n_1, n_2 tied in either variable (n_0 = n(n-1)/2).
    Without ties it equals the tau of Jiang et al. 2020 Eq. (3) (:func:`kendall_tau`).

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
    gap : array-like of shape (n_runs,)
        Generalization gap of each run (train - test accuracy).

    Returns
    -------
    tau_b : float
        In [-1, 1]; NaN when either input is constant.
    p : float
        Two-sided p-value of scipy's test of no association.

    Raises
    ------
    ValueError
        Shapes differ or are not 1-D; a value is not finite.
    """
    from scipy import stats as sps

    x, y = check_measure_gap(measure, gap, "kendall_tau_b")
    res = sps.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)


def _sign_tau(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Mean of sign(x_a - x_b) sign(y_a - y_b) over the pairs selected by ``mask`` (n, n)."""
    s = np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])
    return float(s[mask].mean())


@dataclass(frozen=True)
class GranulatedKendall:
    """Granulated Kendall coefficients (Jiang et al. 2020 Eq. (4)-(5)).

    Attributes
    ----------
    psi : dict of str to float
        psi_i per axis (NaN when no cell of the axis holds a pair).
    n_cells : dict of str to int
        Cells of the other axes that hold at least one pair differing in axis i
        (the m_i that divides Eq. (4)).
    n_pairs : dict of str to int
        Unordered pairs of runs that differ only in axis i, over all cells.
    Psi : float
        Mean of the defined psi_i (Eq. (5)); NaN when none is defined.
    """

    psi: dict[str, float]
    n_cells: dict[str, int]
    n_pairs: dict[str, int]
    Psi: float


def encode_axes(axes: Mapping[str, Sequence], n_runs: int) -> dict[str, np.ndarray]:
    """Integer codes of each axis' values (equal values, equal codes).

    Parameters
    ----------
    axes : mapping of str to sequence of length n_runs
        Axis name -> the value of each run (numbers, text, lists, None...);
        values are compared through their canonical JSON text.
    n_runs : int

    Returns
    -------
    dict of str to ndarray of shape (n_runs,)

    Raises
    ------
    ValueError
        An axis does not hold one value per run.
    """
    codes = {}
    for name, values in axes.items():
        values = list(values)
        if len(values) != n_runs:
            raise ValueError(f"Axis {name!r} must hold one value per run ({n_runs}). "
                             f"Got {len(values)} values instead.")
        text = [json.dumps(v, sort_keys=True) for v in values]
        codes[name] = np.unique(np.asarray(text, dtype=str), return_inverse=True)[1].reshape(-1)
    return codes


def granulated_kendall(measure, gap, axes: Mapping[str, Sequence]) -> GranulatedKendall:
    """psi_i for every hyperparameter axis and their mean Psi (Jiang et al. 2020 Eq. (4)-(5)).

    For axis i the runs are grouped into cells with equal values of every other
    axis. In each cell, tau is the mean of sign(mu_a - mu_b) sign(g_a - g_b) over
    the pairs of runs whose value of axis i differs; psi_i is the mean over the
    cells that hold such a pair. With one run per configuration and a complete
    grid (the paper's design), every pair of a cell differs in axis i and every
    cell counts, which is Eq. (4) exactly. Otherwise: pairs of replicates (same
    configuration, other seed) are left out, since they do not differ in axis i,
    and cells without any pair are left out of m_i. A tied pair counts 0, as in
    Eq. (3), so a measure constant within every cell gets psi_i = 0.

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
    gap : array-like of shape (n_runs,)
        Generalization gap (train - test accuracy).
    axes : mapping of str to sequence of length n_runs
        Sweep axis -> each run's value (see :func:`encode_axes`).

    Returns
    -------
    GranulatedKendall

    Raises
    ------
    ValueError
        Shapes differ; a value is not finite; an axis has the wrong length; no axis given.
    """
    x, y = check_measure_gap(measure, gap, "granulated_kendall")
    if not axes:
        raise ValueError("The 'axes' parameter of granulated_kendall must name at least one "
                         "hyperparameter axis. Got none.")
    codes = encode_axes(axes, x.size)
    names = list(codes)
    grid = np.column_stack([codes[a] for a in names]) if x.size else np.empty((0, len(names)))
    psi, n_cells, n_pairs = {}, {}, {}
    for i, name in enumerate(names):
        others = np.delete(grid, i, axis=1)
        cell = (np.unique(others, axis=0, return_inverse=True)[1].reshape(-1)
                if others.shape[1] else np.zeros(x.size, dtype=int))
        taus, pairs = [], 0
        for c in np.unique(cell):
            idx = np.flatnonzero(cell == c)
            v = grid[idx, i]
            differ = v[:, None] != v[None, :]
            if not differ.any():
                continue
            taus.append(_sign_tau(x[idx], y[idx], differ))
            pairs += int(differ.sum()) // 2
        psi[name] = float(np.mean(taus)) if taus else float("nan")
        n_cells[name], n_pairs[name] = len(taus), pairs
    defined = [v for v in psi.values() if not np.isnan(v)]
    return GranulatedKendall(psi, n_cells, n_pairs,
                             float(np.mean(defined)) if defined else float("nan"))
