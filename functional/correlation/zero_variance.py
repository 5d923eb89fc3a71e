"""The zero-variance rule: which neurons have no correlation with any other.

One definition for the numpy and the torch correlations
(:mod:`functional.correlation.arrays`, :mod:`functional.correlation.tensors`),
so that a measure and a regulariser never disagree on which neurons are dead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["zero_variance_mask"]

A = TypeVar("A", np.ndarray, "torch.Tensor")


def _constant(col_max: A, col_min: A) -> A:
    """The rule itself: a column is constant when its maximum equals its minimum.

    Exact, with no tolerance: any variation, however small relative to the
    activation's scale, keeps a neuron live (the correlations rescale each
    column, so a tolerance would depend on units that do not matter).
    """
    return col_max == col_min


def zero_variance_mask(X: A) -> A:
    """Neurons whose activation is constant over the samples.

    Parameters
    ----------
    X : ndarray or Tensor of shape (n_samples, n_neurons)
        Activations of ``n_neurons`` neurons on ``n_samples`` inputs (any
        real dtype).

    Returns
    -------
    mask : ndarray or BoolTensor of shape (n_neurons,)
        Of the kind of ``X``: ``True`` where ``max == min`` over the samples
        (dead or constant neuron; exact test, no tolerance), and everywhere
        when there are no samples. A tensor's mask is computed without
        gradient, on its device.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D.
    """
    import torch

    if not isinstance(X, torch.Tensor):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"activations must be a matrix of shape (n_samples, n_neurons); "
                         f"got shape {tuple(X.shape)}")
    if isinstance(X, torch.Tensor):
        with torch.no_grad():
            if X.shape[0] == 0:
                return torch.ones(X.shape[1], dtype=torch.bool, device=X.device)
            return _constant(X.amax(dim=0), X.amin(dim=0))
    if X.shape[0] == 0:
        return np.ones(X.shape[1], dtype=bool)
    return _constant(X.max(axis=0), X.min(axis=0))
