"""The conditional mutual information score of a measure (PGDL; Jiang et al. 2020).

Jiang et al. 2020, *NeurIPS 2020 Competition: Predicting Generalization in Deep
Learning* (arXiv 2012.07976), Section 4, after the conditional independence
test of *Fantastic generalization measures* (ICLR 2020). Over ordered pairs
(a, b) of distinct models:

- V_g = 1[g_a > g_b]: the gap orders the pair; V_mu = 1[mu_a > mu_b]: the
  measure orders it the same way (ties count as "not greater", as in the
  competition's scoring program);
- U_S = the values of the hyperparameters in S for both models of the pair;
- score(S) = I(V_mu; V_g | U_S) / H(V_g | U_S), in [0, 1] (bits over bits);
- the score of the measure is the minimum of score(S) over the conditioning
  sets S: the competition takes every pair of two distinct hyperparameters
  (|S| = 2); *Fantastic* takes every S with |S| <= 2.

The competition's scoring program (google-research ``pgdl``) differs in two
details kept out of here: it also counts each model paired with itself, and it
averages I and H over the values of U_S without weighting by their frequency
(the same thing on a complete grid without self-pairs). It reports 100 x score.
The score ignores the measure's sign: V_mu and 1 - V_mu carry the same information.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reports.stats.kendall import check_measure_gap, encode_axes


def _entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total > 0, counts / total, 0.0)
        h = -np.where(p > 0, p * np.log2(p), 0.0)
    return h.sum(axis=axis)


def conditional_mutual_information(x, y, z) -> tuple[float, float]:
    """I(X; Y | Z) and H(Y | Z) of discrete samples, in bits.

    I(X; Y | Z) = sum_z p(z) sum_{x, y} p(x, y | z) log2 p(x, y | z) / (p(x | z) p(y | z))
    = H(X | Z) - H(X | Y, Z), with the probabilities the empirical frequencies.

    Parameters
    ----------
    x, y, z : array-like of shape (n_samples,)
        Discrete labels (any hashable values castable to a NumPy array).

    Returns
    -------
    cmi : float
        I(X; Y | Z) in bits (>= 0).
    h_y_given_z : float
        H(Y | Z) in bits.

    Raises
    ------
    ValueError
        The three inputs are not 1-D of one length, or empty.
    """
    x, y, z = (np.asarray(v) for v in (x, y, z))
    if not (x.ndim == y.ndim == z.ndim == 1 and x.size == y.size == z.size):
        raise ValueError(f"conditional_mutual_information expects x, y, z of one shape "
                         f"(n_samples,). Got {x.shape}, {y.shape}, {z.shape} instead.")
    if x.size == 0:
        raise ValueError("conditional_mutual_information needs at least one sample. Got none.")
    xi, yi, zi = (np.unique(v, return_inverse=True)[1].reshape(-1) for v in (x, y, z))
    shape = (zi.max() + 1, xi.max() + 1, yi.max() + 1)
    flat = np.ravel_multi_index((zi, xi, yi), shape)
    table = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(float)
    return _cmi_from_table(table)


def _cmi_from_table(table: np.ndarray) -> tuple[float, float]:
    """(I(X;Y|Z), H(Y|Z)) in bits from counts of shape (n_z, n_x, n_y)."""
    n_z = table.sum(axis=(1, 2))
    p_z = n_z / n_z.sum()
    h_x = _entropy_bits(table.sum(axis=2))
    h_y = _entropy_bits(table.sum(axis=1))
    h_xy = _entropy_bits(table.reshape(table.shape[0], -1))
    cmi = float(np.dot(p_z, h_x + h_y - h_xy))
    return max(cmi, 0.0), float(np.dot(p_z, h_y))


@dataclass(frozen=True)
class CMIScore:
    """The CMI score of a measure and what it was minimised over.

    Attributes
    ----------
    score : float
        min over S of I(V_mu; V_g | U_S) / H(V_g | U_S), in [0, 1]; NaN when no
        conditioning set is usable.
    argmin : tuple of str
        The conditioning set S attaining the minimum (empty tuple for S = {}).
    by_subset : dict of tuple of str to float
        score(S) for each conditioning set tried (NaN when H(V_g | U_S) = 0:
        the hyperparameters of the pair decide which model has the larger gap).
    n_pairs : int
        Ordered pairs of distinct models.
    """

    score: float
    argmin: tuple[str, ...]
    by_subset: dict[tuple[str, ...], float]
    n_pairs: int


def cmi_score(measure, gap, axes: Mapping[str, Sequence],
              subset_sizes: Sequence[int] = (2,)) -> CMIScore:
    """The PGDL conditional mutual information score of a measure.

    See the module docstring for the definition (arXiv 2012.07976, Section 4).

    Parameters
    ----------
    measure : array-like of shape (n_runs,)
    gap : array-like of shape (n_runs,)
        Generalization gap (train - test accuracy).
    axes : mapping of str to sequence of length n_runs
        Hyperparameter axis -> each run's value (compared by canonical JSON text).
    subset_sizes : sequence of int, default (2,)
        Sizes of the conditioning sets S: ``(2,)`` is the competition's score,
        ``(0, 1, 2)`` the one of *Fantastic generalization measures*. Sizes
        larger than the number of axes give no set.

    Returns
    -------
    CMIScore

    Raises
    ------
    ValueError
        Shapes differ or are not 1-D; a value is not finite; a size is negative.
    """
    x, y = check_measure_gap(measure, gap, "cmi_score")
    if any(int(s) < 0 for s in subset_sizes):
        raise ValueError(f"The 'subset_sizes' parameter of cmi_score must hold ints in the "
                         f"range [0, inf). Got {list(subset_sizes)} instead.")
    codes = encode_axes(axes, x.size)
    a, b = np.nonzero(~np.eye(x.size, dtype=bool))  # ordered pairs of distinct runs
    v_mu = (x[a] > x[b]).astype(int)
    v_g = (y[a] > y[b]).astype(int)
    by_subset: dict[tuple[str, ...], float] = {}
    for size in sorted({int(s) for s in subset_sizes}):
        for subset in itertools.combinations(list(codes), size):
            u, n_u = np.zeros(a.size, dtype=np.int64), 1
            for name in subset:  # mixed-radix code of (value of a, value of b) per axis
                k = int(codes[name].max()) + 1 if x.size else 1
                u, n_u = (u * k + codes[name][a]) * k + codes[name][b], n_u * k * k
                if n_u > max(a.size, 1 << 20):  # renumber the slices that occur
                    u = np.unique(u, return_inverse=True)[1].reshape(-1)
                    n_u = int(u.max()) + 1 if u.size else 1
            if a.size == 0:
                by_subset[subset] = float("nan")
                continue
            table = np.bincount(4 * u + 2 * v_mu + v_g, minlength=4 * n_u).reshape(n_u, 2, 2)
            cmi, h = _cmi_from_table(table)
            by_subset[subset] = cmi / h if h > 1e-12 else float("nan")
    defined = {s: v for s, v in by_subset.items() if not np.isnan(v)}
    if not defined:
        return CMIScore(float("nan"), (), by_subset, int(a.size))
    best = min(defined, key=lambda s: (defined[s], s))
    return CMIScore(float(defined[best]), best, by_subset, int(a.size))
