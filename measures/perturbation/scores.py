"""Gi-score and Pal-score of a perturbation response curve (Schiff, Quanz, Das and Chen 2021, Sec. 3).

A perturbation response (PR) curve gives a network's accuracy ``A(t)`` at
perturbation magnitudes ``t``, normalised here to ``[0, 1]``. Schiff et al.
read it as an income distribution: the magnitudes are the population and the
accuracy at each magnitude is its income. The *perturbation cumulative
density* (PCD) is the share of the total accuracy held up to magnitude ``t``::

    PCD(t) = int_0^t A(s) ds / int_0^1 A(s) ds,

the analogue of a Lorenz curve. A network whose accuracy does not change
under the perturbation (the paper's idealised, invariant network) has the line
of equality ``PCD(t) = t``; the more the accuracy concentrates at small
perturbations, the further the PCD bows above that line.

- Gi-score (Gini coefficient, area between the two curves over the area under
  the line of equality): ``Gi = 2 int_0^1 (PCD(t) - t) dt = 1 - 2 tbar``,
  ``tbar = int t A(t) dt / int A(t) dt`` being the accuracy-weighted mean
  magnitude (integration by parts). 0 for a flat curve, ``1 - s`` for a step
  that falls to zero at ``s``, in ``(-1, 1)``, positive when accuracy decreases
  with the perturbation.
- Pal-score (Palma ratio, share of the richest 10 % over the share of the
  poorest 40 %): with accuracy falling with the magnitude, the richest tenth
  is the smallest tenth of magnitudes and the poorest 40 % the largest, so
  ``Pal = PCD(0.1) / (1 - PCD(0.6))``; 0.25 for a flat curve, growing as the
  network loses accuracy under the perturbation.

The PCD is normalised by the curve's own area, so that, as for a Lorenz
curve, it runs from (0, 0) to (1, 1) and the Gi-score depends on the shape of
the curve only; the level of the accuracy loss is the measure's separate
``accuracy_drop`` row. The Pal-score, a ratio of two shares, is the same
whatever the normalisation. The sampled curve is taken piecewise linear
between its points (the trapezoidal reading of the PR curve); every integral
here is exact for it.
"""

from __future__ import annotations

import numpy as np

#: Population shares of the Palma ratio: the richest tenth over the poorest 40 %.
RICHEST, POOREST = 0.1, 0.4


def check_curve(magnitudes, accuracy) -> tuple[np.ndarray, np.ndarray]:
    """The curve as float64 arrays, magnitudes normalised to [0, 1].

    Parameters
    ----------
    magnitudes : array_like of shape (n_points,)
        Strictly increasing perturbation magnitudes, ``n_points >= 2``, any unit.
    accuracy : array_like of shape (n_points,)
        Accuracy (a fraction, >= 0) at each magnitude.

    Returns
    -------
    t : ndarray of shape (n_points,)
        ``(magnitudes - magnitudes[0]) / (magnitudes[-1] - magnitudes[0])``.
    accuracy : ndarray of shape (n_points,)

    Raises
    ------
    ValueError
        If the arrays are not 1-D of one length >= 2, not finite, the
        magnitudes not strictly increasing, an accuracy negative, or the area
        under the curve zero (no accuracy to distribute).
    """
    a = np.asarray(magnitudes, dtype=np.float64)
    acc = np.asarray(accuracy, dtype=np.float64)
    if a.ndim != 1 or acc.shape != a.shape or a.size < 2:
        raise ValueError(f"a PR curve needs 1-D magnitudes and accuracies of one length >= 2; "
                         f"got shapes {a.shape} and {acc.shape}")
    if not (np.isfinite(a).all() and np.isfinite(acc).all()):
        raise ValueError("a PR curve must be finite")
    if np.any(np.diff(a) <= 0):
        raise ValueError(f"PR curve magnitudes must be strictly increasing; got {a.tolist()}")
    if np.any(acc < 0):
        raise ValueError(f"PR curve accuracies must be >= 0; got minimum {acc.min()}")
    t = (a - a[0]) / (a[-1] - a[0])
    if _area(t, acc) <= 0:
        raise ValueError("the PR curve has zero area (accuracy 0 at every magnitude): its PCD is undefined")
    return t, acc


def _area(t: np.ndarray, acc: np.ndarray) -> float:
    return float(np.sum(np.diff(t) * (acc[1:] + acc[:-1]) / 2))


def perturbation_cumulative_density(magnitudes, accuracy, at) -> np.ndarray:
    """PCD, the share of the area under the PR curve up to normalised magnitude ``at``.

    Schiff et al. 2021, Sec. 3 (the curve of their Fig. 1, right).

    Parameters
    ----------
    magnitudes, accuracy : array_like of shape (n_points,)
        The PR curve (see :func:`check_curve`).
    at : float or array_like of shape (n_at,)
        Normalised magnitudes in [0, 1].

    Returns
    -------
    ndarray of shape (n_at,) (0-d for a scalar ``at``)
        In [0, 1], non-decreasing in ``at``; ``PCD(0) = 0`` and ``PCD(1) = 1``.

    Raises
    ------
    ValueError
        If the curve is invalid or ``at`` lies outside [0, 1].
    """
    t, acc = check_curve(magnitudes, accuracy)
    x = np.asarray(at, dtype=np.float64)
    if np.any((x < 0) | (x > 1)) or not np.isfinite(x).all():
        raise ValueError(f"PCD is defined on normalised magnitudes in [0, 1]; got {x}")
    cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * (acc[1:] + acc[:-1]) / 2)])
    k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
    h = t[k + 1] - t[k]
    d = x - t[k]
    slope = (acc[k + 1] - acc[k]) / h
    # the integral of the linear piece from t[k] to x
    partial = cum[k] + acc[k] * d + slope * d * d / 2
    return partial / cum[-1]


def gi_score(magnitudes, accuracy) -> float:
    """Gi-score: the Gini coefficient of the PR curve read as an income distribution.

    Schiff et al. 2021, Sec. 3: twice the area between the network's PCD
    and the idealised (invariant) network's line of equality,
    ``Gi = 2 int_0^1 (PCD(t) - t) dt = 1 - 2 int t A(t) dt / int A(t) dt``.

    Parameters
    ----------
    magnitudes, accuracy : array_like of shape (n_points,)
        The PR curve (see :func:`check_curve`).

    Returns
    -------
    float
        Dimensionless, in (-1, 1): 0 when the accuracy is the same at every
        magnitude, ``1 - s`` for a step from a constant to zero at ``s``;
        higher means accuracy is lost sooner under the perturbation.

    Raises
    ------
    ValueError
        If the curve is invalid (:func:`check_curve`).
    """
    t, acc = check_curve(magnitudes, accuracy)
    h = np.diff(t)
    mid = (t[1:] + t[:-1]) / 2
    # Simpson's rule is exact for the quadratic t * A(t) on each linear piece
    moment = np.sum(h / 6 * (t[:-1] * acc[:-1] + 4 * mid * (acc[:-1] + acc[1:]) / 2 + t[1:] * acc[1:]))
    return float(1.0 - 2.0 * moment / _area(t, acc))


def pal_score(magnitudes, accuracy, richest: float = RICHEST, poorest: float = POOREST) -> float:
    """Pal-score: the Palma ratio of the PR curve read as an income distribution.

    Schiff et al. 2021, Sec. 3: the share of the accuracy held by the
    ``richest`` fraction of magnitudes (the smallest perturbations) over the
    share held by the ``poorest`` fraction (the largest),
    ``Pal = PCD(richest) / (1 - PCD(1 - poorest))``.

    Parameters
    ----------
    magnitudes, accuracy : array_like of shape (n_points,)
        The PR curve (see :func:`check_curve`).
    richest, poorest : float
        Population shares, ``richest + poorest <= 1`` (Palma: 0.1 and 0.4).

    Returns
    -------
    float
        Dimensionless, >= 0; ``richest / poorest`` (0.25) for a flat curve,
        ``inf`` when no accuracy is left over the largest ``poorest`` magnitudes.

    Raises
    ------
    ValueError
        If the curve is invalid or the shares are not in (0, 1) with a sum <= 1.
    """
    if not (0 < richest < 1 and 0 < poorest < 1 and richest + poorest <= 1):
        raise ValueError(f"Palma shares need 0 < richest, poorest and richest + poorest <= 1; "
                         f"got richest={richest}, poorest={poorest}")
    top, bottom_start = perturbation_cumulative_density(magnitudes, accuracy, [richest, 1.0 - poorest])
    bottom = 1.0 - bottom_start
    return float(top / bottom) if bottom > 0 else float("inf")
