"""Betti curves and their summaries (Corneanu et al. CVPR 2019, 2020).

The Betti curve of a persistence diagram is the number of classes alive at
each filtration value, ``beta(eps) = #{(b, d) : b <= eps < d}``; its
summaries are what the two papers compare across epochs and networks: the
average life and midlife of the classes (CVPR 2020, the inputs of the linear
map to the generalization gap) and the height and position of the curve's peak
and the area under it (CVPR 2019).
"""

from __future__ import annotations

import numpy as np

#: Summaries of one diagram, in the order they are emitted (see :func:`betti_summaries`).
SUMMARIES = ("n_pairs", "n_essential", "life", "midlife", "betti_peak", "betti_peak_position", "betti_area")


def check_pairs(pairs: np.ndarray) -> np.ndarray:
    """A persistence diagram as a float64 ``(n_pairs, 2)`` array, checked.

    Parameters
    ----------
    pairs : array-like of shape (n_pairs, 2)
        ``(birth, death)``; ``death`` may be ``inf`` (a class alive at the end
        of the filtration).

    Raises
    ------
    ValueError
        If the shape is not ``(n_pairs, 2)``, a birth is not finite, a death is
        NaN or a death is smaller than its birth.
    """
    P = np.asarray(pairs, dtype=np.float64)
    if P.size == 0:
        P = P.reshape(0, 2)
    if P.ndim != 2 or P.shape[1] != 2:
        raise ValueError(f"a persistence diagram must have shape (n_pairs, 2); got shape {P.shape}")
    if not np.isfinite(P[:, 0]).all() or np.isnan(P[:, 1]).any():
        raise ValueError("a persistence diagram needs finite births and non-NaN deaths")
    if (P[:, 1] < P[:, 0]).any():
        raise ValueError(f"deaths must be >= births; pair {P[np.argmax(P[:, 1] < P[:, 0])].tolist()} is not")
    return P


def keep_persistent(pairs: np.ndarray, min_persistence: float) -> np.ndarray:
    """The pairs whose persistence ``death - birth`` is strictly above ``min_persistence``.

    Corneanu et al.'s code drops the short-lived classes (persistence 0.01 or
    0.02) before every summary; essential classes (``death = inf``) are kept.
    """
    P = check_pairs(pairs)
    return P[(P[:, 1] - P[:, 0]) > min_persistence]


def betti_curve(pairs: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Betti numbers ``beta(eps) = #{(b, d) : b <= eps < d}`` of a diagram.

    Parameters
    ----------
    pairs : array-like of shape (n_pairs, 2)
        ``(birth, death)`` in filtration units; ``death`` may be ``inf``.
    eps : array-like of shape (n_values,)
        Filtration values (here distances ``1 - |corr|``).

    Returns
    -------
    beta : ndarray of shape (n_values,), int64
        The rank of the homology of the complex at each ``eps`` (right-continuous:
        a class counts from its birth on and no longer at its death).

    Raises
    ------
    ValueError
        As :func:`check_pairs`.
    """
    P = check_pairs(pairs)
    eps = np.asarray(eps, dtype=np.float64)
    born = np.searchsorted(np.sort(P[:, 0]), eps, side="right")
    dead = np.searchsorted(np.sort(P[:, 1]), eps, side="right")
    return (born - dead).astype(np.int64)


def betti_summaries(pairs: np.ndarray, lo: float, hi: float) -> dict[str, float]:
    """Summaries of one diagram and of its Betti curve on ``[lo, hi]``.

    Parameters
    ----------
    pairs : array-like of shape (n_pairs, 2)
        ``(birth, death)`` in filtration units (already filtered by persistence).
    lo, hi : float
        Filtration range of the Betti curve (Corneanu et al.'s code: 0.05 to 0.4).

    Returns
    -------
    dict
        - ``n_pairs``: number of classes; ``n_essential``: of them, alive at
          the end of the filtration (``death = inf``);
        - ``life``: mean of ``death - birth`` over the finite pairs, lambda of
          CVPR 2020 (filtration units);
        - ``midlife``: mean of ``(birth + death) / 2`` over the finite pairs, mu
          of CVPR 2020 (the public code's ``mean(death + birth / 2)`` misplaces
          the bracket; the paper's definition is used);
        - ``betti_peak``: ``max beta(eps)`` over ``[lo, hi]`` (the exact maximum
          of the step function, where the code reads it on a 200-point grid);
        - ``betti_peak_position``: the smallest ``eps`` in ``[lo, hi]`` where
          the peak is reached (epsilon_max of the code);
        - ``betti_area``: ``integral_lo^hi beta(eps) d eps`` (exact; the code sums
          the curve on its grid).

        ``life`` and ``midlife`` are left out when there is no finite pair and
        ``betti_peak_position`` when the peak is 0: they are undefined there.

    Raises
    ------
    ValueError
        If ``lo >= hi`` or the diagram is malformed (:func:`check_pairs`).
    """
    if not lo < hi:
        raise ValueError(f"the Betti curve range must have lo < hi; got [{lo}, {hi}]")
    P = check_pairs(pairs)
    b, d = P[:, 0], P[:, 1]
    out = {"n_pairs": float(len(P)), "n_essential": float(np.isinf(d).sum())}
    finite = np.isfinite(d)
    if finite.any():
        out["life"] = float(np.mean(d[finite] - b[finite]))
        out["midlife"] = float(np.mean((b[finite] + d[finite]) / 2.0))
    # beta only rises at births, so its maximum on [lo, hi] is reached at lo or at a birth inside.
    candidates = np.unique(np.concatenate([[lo], b[(b > lo) & (b <= hi)]]))
    values = betti_curve(P, candidates)
    out["betti_peak"] = float(values.max())
    if values.max() > 0:
        out["betti_peak_position"] = float(candidates[np.argmax(values)])
    out["betti_area"] = float(np.clip(np.minimum(d, hi) - np.maximum(b, lo), 0.0, None).sum())
    return {k: out[k] for k in SUMMARIES if k in out}
