"""Choosing which neurons enter a persistence diagram (Ballester et al. 2023).

Neurons are pooled over layers: neuron ``k`` of the pool is column ``k - o_l``
of layer ``l``, where ``o_l`` is the number of columns of the layers before it
(in the provider's forward order).

Importance sampling (``model/sampling_activations_strategies/
sample_activations_by_importance.py`` of Ballester's code): over N inputs and M
pooled neurons, let ``count_i`` be the number of inputs for which neuron ``i``
has the largest ``|activation|`` (first neuron of the pool on ties) and K the
number of neurons with ``count_i > 0``. Then

    p_i = count_i / (N + 1)              if count_i > 0,
    p_i = 1 / ((M - K) (N + 1))          otherwise,

which sums to 1 when K < M. A draw takes ``n`` distinct neurons with these
probabilities (numpy's sequential weighted sampling without replacement: the
same distribution as the code's ``np.random.choice(..., replace=False, p=p)``,
though not the same stream). Where that code fails, here: when K = M the
vector (then summing to N / (N + 1)) is renormalised, and when ``n >= M``
every neuron is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def argmax_counts(layers: Sequence[np.ndarray]) -> np.ndarray:
    """How often each pooled neuron has the largest ``|activation|`` of an input.

    Parameters
    ----------
    layers : sequence of ndarray of shape (n_samples, n_neurons_l)
        Activations of each layer on the same inputs.

    Returns
    -------
    counts : ndarray of shape (sum_l n_neurons_l,), int64
        Sums to ``n_samples``; ties go to the first neuron in pool order.
    """
    offsets = np.cumsum([0] + [a.shape[1] for a in layers])
    n = layers[0].shape[0]
    best_val = np.full(n, -np.inf)
    best_idx = np.zeros(n, dtype=np.int64)
    for off, a in zip(offsets[:-1], layers):
        if a.shape[1] == 0:
            continue
        absa = np.abs(a)
        idx = np.argmax(absa, axis=1)
        val = absa[np.arange(n), idx].astype(np.float64)
        better = val > best_val  # strict: an earlier layer keeps ties
        best_val[better] = val[better]
        best_idx[better] = off + idx[better]
    return np.bincount(best_idx, minlength=int(offsets[-1])).astype(np.int64)


def importance_probabilities(counts: np.ndarray) -> np.ndarray:
    """Ballester et al.'s sampling probabilities from the argmax counts.

    Parameters
    ----------
    counts : ndarray of shape (n_neurons,)
        Output of :func:`argmax_counts`; ``N = counts.sum()`` inputs.

    Returns
    -------
    p : ndarray of shape (n_neurons,), float64
        Positive, sums to 1 (see the module docstring for the formula).
    """
    counts = np.asarray(counts, dtype=np.float64)
    M, N = counts.size, counts.sum()
    is_max = counts > 0
    K = int(is_max.sum())
    p = np.where(is_max, counts / (N + 1), 1.0 / (max(M - K, 1) * (N + 1)))
    return p / p.sum()


def draw_neurons(rng: np.random.Generator, n_total: int, n: int,
                 p: np.ndarray | None = None) -> np.ndarray:
    """``min(n, n_total)`` distinct pooled-neuron indices, sorted.

    Uniform when ``p`` is None, else weighted by ``p`` without replacement;
    all neurons (no randomness used) when ``n >= n_total``.
    """
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=n, replace=False, p=p))
