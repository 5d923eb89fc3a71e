"""Correlation distance between neurons in numpy, float64: d(i, j) = 1 - |corr(a_i, a_j)|.

The filtration used by Ballester et al. 2023 (and by Corneanu et al. 2019) on
the activations of neurons over a fixed sample of inputs; the measures'
form (the differentiable form for training is
:mod:`functional.correlation.tensors`). The traps handled explicitly here:

* ``np.corrcoef`` returns finite garbage (off by up to 1.0), not NaN, for a
  constant non-zero column, and NaN for a constant zero column. Here a neuron
  whose activation is constant over the sample (e.g. a dead ReLU; the rule
  of :func:`functional.correlation.zero_variance_mask`) has correlation 0
  with every other neuron, so it sits at distance 1 from all of them, itself
  included; this is what Ballester's code gets from ``nan_to_num`` on the
  NaN correlations.
* The result is exactly symmetric, clipped to [0, 1], with a zero diagonal and
  no NaN, so every persistence engine reads it correctly.
* Distances below :data:`ZERO_TOL` are set to exactly 0: the float64 rounding
  error of a correlation over a few thousand samples is about 1e-13, so
  duplicated (or negated, or affinely related) neurons would otherwise land
  at 0 or at 1e-16 depending on the order of the sums, and zero-length
  persistence pairs would come and go with the neuron order.
"""

from __future__ import annotations

import numpy as np

from functional.correlation.zero_variance import zero_variance_mask

__all__ = ["ZERO_TOL", "correlation_distance", "zero_variance_mask"]

#: Distances at or below this are rounding error of |corr| = 1 and are set to 0.
ZERO_TOL = 1e-12


def correlation_distance(X: np.ndarray) -> np.ndarray:
    """Distance ``1 - |Pearson correlation|`` between the columns of ``X``.

    Computed in float64 (centring, normalisation and the Gram product), then
    clipped to [0, 1], with distances ``<= ZERO_TOL`` set to 0. Zero-variance
    neurons (see :func:`zero_variance_mask`) are given correlation 0 with every
    neuron, hence distance 1 to every other neuron (two constant neurons
    included); the diagonal is 0 for all neurons.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_neurons)
        Activations, any real dtype; ``n_samples >= 2``.

    Returns
    -------
    D : ndarray of shape (n_neurons, n_neurons), float64
        Symmetric, entries in [0, 1] (dimensionless), zero diagonal.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, has fewer than 2 samples, or has non-finite
        entries (naming the first offending neurons).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"activations must have shape (n_samples, n_neurons); got shape {X.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"correlation needs at least 2 samples; got {X.shape[0]}")
    finite = np.isfinite(X).all(axis=0)
    if not finite.all():
        bad = np.flatnonzero(~finite)[:10].tolist()
        raise ValueError(f"activations have non-finite values in neurons {bad} "
                         f"({int((~finite).sum())} neurons in all); fix the network or the provider")
    Z = X.astype(np.float64, copy=True)
    Z -= Z.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    const = zero_variance_mask(X) | (norms == 0.0)
    norms[const] = 1.0
    Z /= norms
    Z[:, const] = 0.0
    C = Z.T @ Z
    D = 1.0 - np.abs(C)
    D = 0.5 * (D + D.T)
    np.clip(D, 0.0, 1.0, out=D)
    D[D <= ZERO_TOL] = 0.0
    np.fill_diagonal(D, 0.0)
    return D
