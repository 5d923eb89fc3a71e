"""Nodes, correlation distances and clique-complex persistence of a functional graph.

Corneanu et al. (CVPR 2019, 2020; public code ``dnn-topology``): every unit of
the chosen layers is a node, activations are recorded over a fixed set of
inputs, the edge between two nodes is weighted by the absolute Pearson
correlation of their activations, and the graph is filtered by the distance
``1 - |corr|`` (``graph.py: adjacency``, written for DIPHA as ``1 - adj``).
The persistent homology of the clique (flag, Vietoris-Rips) complex of that
weighted graph, truncated at ``max_distance`` (their DIPHA step
``full_to_sparse_distance_matrix 0.4``), is computed here with gudhi.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from functional.persistence.distance import correlation_distance

if TYPE_CHECKING:
    pass


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log_softmax`` in float64 (what the code's LeNet returns as its last layer).

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
        Logits.
    """
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def layer_nodes(a: np.ndarray, n_channels: int | None, conv_nodes: str) -> np.ndarray:
    """Activations of one layer's nodes.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_units)
        The layer's flattened output (a conv output flattened channel-major,
        ``(C, H, W)`` to ``C*H*W`` units).
    n_channels : int or None
        Output channels of a conv layer; None for a dense layer.
    conv_nodes : {"units", "channels"}
        ``"units"``: every unit of a conv output (channel and position) is a
        node, as Corneanu et al.'s code does for LeNet; ``"channels"``: one
        node per channel, its activation averaged over positions (the code
        averages the units of a group into one node for large networks,
        ``adjacency_set_correlation``).

    Returns
    -------
    ndarray of shape (n_samples, n_nodes)

    Raises
    ------
    ValueError
        If ``n_units`` is not a multiple of ``n_channels``.
    """
    if conv_nodes == "units" or n_channels is None:
        return a
    if a.shape[1] % n_channels:
        raise ValueError(f"a conv output of {a.shape[1]} units cannot be split into {n_channels} channels")
    return np.asarray(a, dtype=np.float64).reshape(a.shape[0], n_channels, -1).mean(axis=2)


def sample_nodes(rng: np.random.Generator, n_nodes: int, cap: int) -> np.ndarray:
    """Sorted indices of ``min(cap, n_nodes)`` nodes drawn uniformly without replacement (all when ``n_nodes <= cap``)."""
    if n_nodes <= cap:
        return np.arange(n_nodes)
    return np.sort(rng.choice(n_nodes, size=cap, replace=False))


#: Persistence (distance units) at or below which a pair counts as zero-length: rounding of float64
#: correlations, far below any distance between distinct correlation values of real activations.
ZERO_LENGTH = 1e-12


def clique_persistence(X: np.ndarray, dims: Sequence[int], max_distance: float) -> dict[int, np.ndarray]:
    """Persistence diagrams of the clique complex of the correlation graph of ``X``.

    The filtration value of an edge is ``d(i, j) = 1 - |corr(x_i, x_j)|``
    (:func:`functional.persistence.distance.correlation_distance`: float64,
    a constant node has correlation 0 with all others, i.e. ``nan_to_num`` as
    the code does); a clique enters at the largest distance among its edges;
    only edges with ``d <= max_distance`` enter. Homology with Z/2
    coefficients by gudhi's Vietoris-Rips persistence (edge collapse, exact).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_nodes)
        Node activations.
    dims : sequence of int
        Homology dimensions.
    max_distance : float in (0, 1]
        Last filtration value (their DIPHA sparsification threshold, 0.4).

    Returns
    -------
    dict of int to ndarray of shape (n_pairs, 2)
        ``(birth, death)`` in distance units (dimensionless, ``[0, max_distance]``);
        a class still alive at ``max_distance`` has ``death = inf``;
        zero-length pairs are not reported.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D with at least 2 samples or is not finite.
    """
    from gudhi.sklearn.rips_persistence import RipsPersistence

    D = correlation_distance(X)
    n = D.shape[0]
    if n < 2:  # a single node: one component, nothing else
        return {k: np.array([[0.0, np.inf]]) if k == 0 and n == 1 else np.empty((0, 2)) for k in dims}
    engine = RipsPersistence(homology_dimensions=list(dims), threshold=max_distance,
                             input_type="full distance matrix", homology_coeff_field=2, n_jobs=1)
    diagrams = engine.fit_transform([D])[0]
    out = {}
    for k, p in zip(dims, diagrams):
        p = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        # Pairs born and killed at one filtration value that rounding of the correlations split by
        # a few ulps (a cycle born at 0.5 and filled at 0.5 + 1e-16) are zero-length pairs too.
        out[k] = p[~(p[:, 1] - p[:, 0] <= ZERO_LENGTH)]
    return out
