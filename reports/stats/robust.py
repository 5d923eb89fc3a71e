"""The robust sign-error of a generalization measure (Dziugaite et al. 2020).

Dziugaite, Drouin, Neal, Rajkumar, Caballero, Wang, Mitliagkas and Roy,
*In search of robust measures of generalization* (NeurIPS 2020), Section 3:
a measure C predicts that of two trained networks w, w' the one with the
larger C has the larger generalization gap g. Its sign-error on the pair is

    SE(w, w') = (1 - sign(C(w) - C(w')) sign(g(w) - g(w'))) / 2,

0 when C orders the pair as g does, 1 when the other way, 1/2 when C ties.
An environment e is a distribution over pairs; the sign-error in e is the
mean of SE over its pairs, and the *robust* sign-error is the worst case,
max over the environments, rather than the average: a measure is only as
good as the setting where it fails most. The environments here are the
paper's: the pairs of runs that differ in exactly one hyperparameter (sweep
axis) i, with every other axis at one fixed setting, one environment per
(i, setting of the other axes). As in the paper, pairs whose gaps differ by
too little to have an order are left out (``gap_tolerance``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reports.stats.kendall import check_measure_gap, encode_axes


@dataclass(frozen=True)
class RobustSignError:
    """The sign-error of a measure in every environment and the worst of them.

    Attributes
    ----------
    max : float
        The robust sign-error, max over environments, in [0, 1]; NaN when no
        environment holds a pair.
    mean : float
        Mean of the environments' sign-errors (each environment weighs the same).
    n_environments, n_pairs : int
        Environments with at least one pair; pairs over all of them.
    worst : str
        The environment of ``max``: ``"<axis> varies; <other>=<value>, ... (<n> pairs)"`` (the first on ties).
    by_environment : list of (str, str, float, int)
        ``(axis that varies, setting of the other axes, sign-error, pairs)`` per environment.
    """

    max: float
    mean: float
    n_environments: int
    n_pairs: int
    worst: str
    by_environment: list[tuple[str, str, float, int]]


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def robust_sign_error(measure, gap, axes: Mapping[str, Sequence], *, gap_tolerance: float = 0.0) -> RobustSignError:
    """Sign-error of a measure in each one-hyperparameter environment, and its worst case.

    Dziugaite et al. 2020 (NeurIPS), *In search of robust measures of
    generalization*, Section 3 (module docstring): for each axis i and each
    setting of the other axes, the mean of (1 - sign(dC) sign(dg)) / 2 over the
    pairs of runs with that setting whose values of axis i differ; the robust
    sign-error is the largest of these means. Replicates (runs of one
    configuration, other seeds) are never paired with each other.

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
        The measure of each run, oriented so that a larger value predicts a
        larger gap (multiply a measure that predicts the opposite by -1).
    gap : array-like of shape (n_runs,)
        Generalization gap of each run (train - test accuracy).
    axes : mapping of str to sequence of length n_runs
        Sweep axis -> each run's value (compared through their JSON text, see
        :func:`reports.stats.kendall.encode_axes`).
    gap_tolerance : float
        Pairs with |g(w) - g(w')| <= ``gap_tolerance`` are left out (the paper
        drops pairs whose gaps differ by less than their noise); the default 0
        leaves out only pairs with equal gaps, which have no order to predict.

    Returns
    -------
    RobustSignError

    Raises
    ------
    ValueError
        Shapes differ; a value is not finite; an axis has the wrong length; no
        axis given; ``gap_tolerance`` < 0.
    """
    x, y = check_measure_gap(measure, gap, "robust_sign_error")
    if not axes:
        raise ValueError("The 'axes' parameter of robust_sign_error must name at least one "
                         "hyperparameter axis. Got none.")
    if not gap_tolerance >= 0:
        raise ValueError(f"The 'gap_tolerance' parameter of robust_sign_error must be a float in the "
                         f"range [0, inf). Got {gap_tolerance!r} instead.")
    codes = encode_axes(axes, x.size)
    names = list(codes)
    values = {a: list(axes[a]) for a in names}
    error = (1.0 - np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])) / 2
    counted = np.triu(np.abs(y[:, None] - y[None, :]) > gap_tolerance, k=1)
    envs = []
    for name in names:
        others = [a for a in names if a != name]
        cells: dict[tuple, list[int]] = {}
        for run in range(x.size):
            cells.setdefault(tuple(int(codes[a][run]) for a in others), []).append(run)
        for key in sorted(cells):
            idx = np.array(cells[key])
            v = codes[name][idx]
            pairs = (v[:, None] != v[None, :]) & counted[np.ix_(idx, idx)]
            if pairs.any():
                setting = ", ".join(f"{a}={_text(values[a][idx[0]])}" for a in others) or "(no other axis)"
                envs.append((name, setting, float(error[np.ix_(idx, idx)][pairs].mean()), int(pairs.sum())))
    if not envs:
        return RobustSignError(float("nan"), float("nan"), 0, 0, "", [])
    errors = np.array([e[2] for e in envs])
    axis, setting, worst, n = envs[int(np.argmax(errors))]
    return RobustSignError(worst, float(errors.mean()), len(envs), sum(e[3] for e in envs),
                           f"{axis} varies; {setting} ({n} pair{'s' if n > 1 else ''})", envs)
