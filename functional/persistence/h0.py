"""0-dimensional persistence of a Vietoris-Rips filtration from its minimum spanning tree.

For a finite metric space every point is born at 0, and the deaths of the
0-dimensional persistence diagram are exactly the edge weights of a minimum
spanning tree (Kruskal's algorithm is the union-find elder rule). A dense
Prim's algorithm in numpy is O(n^2) time and O(n) extra memory, faster than
any TDA library for this one dimension.
"""

from __future__ import annotations

import numpy as np


def check_distance_matrix(D: np.ndarray, where: str = "distance matrix") -> np.ndarray:
    """Validate a dense distance matrix and return it as a float64 array.

    Parameters
    ----------
    D : ndarray of shape (n_points, n_points)
        Symmetric, non-negative, finite.
    where : str
        Name used in error messages.

    Raises
    ------
    ValueError
        If ``D`` is not square, or has non-finite entries (naming the first
        offending rows: a NaN distance silently corrupts every persistence engine).
    """
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"{where} must be a square matrix of shape (n_points, n_points); got shape {D.shape}")
    bad = ~np.isfinite(D)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])[:10].tolist()
        n_nan = int(np.isnan(D).sum())
        raise ValueError(f"{where} has {n_nan} NaN and {int(bad.sum()) - n_nan} infinite entries (rows {rows}"
                         f"{'...' if bad.any(axis=1).sum() > 10 else ''}): the activations they come from hold NaN "
                         "or infinite values (a diverged network: lower the learning rate or clip gradients); "
                         "dead or constant neurons are not the cause, they get distance 1")
    return D


def mst_edges(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum spanning tree of a complete graph by dense Prim's algorithm.

    Parameters
    ----------
    D : ndarray of shape (n_points, n_points)
        Symmetric finite distances; the diagonal is ignored. Zero distances
        (duplicated points) are kept as edges of weight 0, unlike
        ``scipy.sparse.csgraph.minimum_spanning_tree``, which drops them.

    Returns
    -------
    edges : ndarray of shape (n_points - 1, 2), int64
        ``(i, j)`` endpoints of each tree edge, in the order Prim adds them.
    weights : ndarray of shape (n_points - 1,), float64
        ``D[i, j]`` of each edge.

    Raises
    ------
    ValueError
        If ``D`` is not a finite square matrix.
    """
    D = check_distance_matrix(D)
    n = D.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = D[0].copy()
    parent = np.zeros(n, dtype=np.int64)
    best[0] = np.inf
    edges = np.empty((n - 1, 2), dtype=np.int64)
    weights = np.empty(n - 1)
    for k in range(n - 1):
        j = int(np.argmin(best))
        edges[k] = (parent[j], j)
        weights[k] = D[parent[j], j]
        in_tree[j] = True
        best[j] = np.inf
        closer = (D[j] < best) & ~in_tree
        best[closer] = D[j][closer]
        parent[closer] = j
    return edges, weights


def h0_diagram(D: np.ndarray) -> np.ndarray:
    """0-dimensional persistence diagram of the Vietoris-Rips filtration of ``D``.

    Parameters
    ----------
    D : ndarray of shape (n_points, n_points)
        Finite symmetric distances.

    Returns
    -------
    pairs : ndarray of shape (n_points, 2)
        ``(0, death)`` for the ``n_points - 1`` finite classes, sorted by death,
        then ``(0, inf)`` for the essential class. Zero-length bars (duplicated
        points) are kept, so there are always ``n_points - 1`` finite pairs.

    Raises
    ------
    ValueError
        If ``D`` is not a finite square matrix.
    """
    _, w = mst_edges(D)
    deaths = np.concatenate([np.sort(w), [np.inf]])
    return np.column_stack([np.zeros_like(deaths), deaths])
