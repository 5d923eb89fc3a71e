"""Latent geometry graphs and the variation of a label signal over them (Lassance et al. 2020, team BrAIn).

A latent geometry graph (LGG) has one vertex per input and connects inputs
whose representations at a layer are similar; the label variation
``tr(Y^T L Y)`` with ``L`` a graph Laplacian is small when neighbours share
labels (graph signal processing's smoothness of the label signal ``Y``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Similarity = Literal["rbf", "cosine"]
Laplacian = Literal["normalized", "combinatorial"]


def similarity_matrix(H: np.ndarray, kind: Similarity = "rbf") -> np.ndarray:
    """Pairwise similarity of the L2-normalised rows of ``H``.

    Rows are scaled to unit norm (rows of norm below 1e-6 are left as they
    are, as ``tf.math.l2_normalize`` does). ``"rbf"``: ``exp(-gamma D)`` with
    ``D`` the squared Euclidean distances and ``gamma = 1 / (3 std(D))``, the
    population standard deviation over all ``n^2`` entries (the team's code).
    ``"cosine"``: the inner products clipped to [0, 1].

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_neurons)
    kind : {"rbf", "cosine"}

    Returns
    -------
    ndarray of shape (n_samples, n_samples), float64, symmetric

    Raises
    ------
    ValueError
        If ``kind`` is unknown, or for "rbf" when all distances are equal.
    """
    H = np.asarray(H, dtype=np.float64)
    V = H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-6)
    G = V @ V.T
    if kind == "cosine":
        return np.clip(G, 0.0, 1.0)
    if kind != "rbf":
        raise ValueError(f"similarity must be 'rbf' or 'cosine'; got {kind!r}")
    sq = np.diag(G)
    D = sq[:, None] - 2.0 * G + sq[None, :]
    spread = D.std()
    if not spread > 0:
        raise ValueError("the RBF similarity needs distinct pairwise distances; all are equal")
    return np.exp(-D / (3.0 * spread))


def knn_adjacency(W: np.ndarray, k: int = 1, weighted: bool = False, symmetrize: bool = False) -> np.ndarray:
    """Adjacency keeping, in each row, the entries at least the row's (k+1)-th largest similarity.

    The row's largest similarity is the vertex itself, so each vertex links
    to its ``k`` most similar others (more on ties); the diagonal is zeroed
    (the team's ``knn_tf``). Rows are out-neighbourhoods: the graph is
    directed unless ``symmetrize``, which keeps an edge present either way
    (``max(A, A^T)``).

    Parameters
    ----------
    W : ndarray of shape (n, n)
        Similarities, self-similarity maximal in each row.
    k : int, 1 <= k < n
    weighted : bool
        Edge weights ``W_ij`` instead of 1.
    symmetrize : bool

    Returns
    -------
    ndarray of shape (n, n), float64

    Raises
    ------
    ValueError
        If ``k`` is not in ``[1, n - 1]``.
    """
    n = W.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, n_samples - 1] = [1, {n - 1}]; got {k}")
    threshold = -np.partition(-W, k, axis=1)[:, k]
    A = (W >= threshold[:, None]).astype(np.float64)
    np.fill_diagonal(A, 0.0)
    if weighted:
        A *= W
    return np.maximum(A, A.T) if symmetrize else A


def label_variation(A: np.ndarray, Y: np.ndarray, laplacian: Laplacian = "normalized") -> float:
    """``tr(Y^T L Y)`` of the label signal ``Y`` on the graph ``A``.

    ``"normalized"``: ``L = I - D^(-1/2) A D^(-1/2)`` with ``D`` the row sums
    of ``A`` (the team's code); ``"combinatorial"``: ``L = D - A``, which for
    a symmetric ``A`` gives ``(1/2) sum_ij A_ij ||y_i - y_j||^2``.

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Non-negative adjacency with no empty row.
    Y : ndarray of shape (n, n_classes)
        One row per vertex: one-hot labels, or mixes of them.
    laplacian : {"normalized", "combinatorial"}

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If shapes disagree, a vertex has no neighbour (normalized), or the
        Laplacian is unknown.
    """
    Y = np.asarray(Y, dtype=np.float64)
    if A.shape != (len(Y), len(Y)):
        raise ValueError(f"A must be (n, n) for Y of shape {Y.shape}; got {A.shape}")
    degree = A.sum(axis=1)
    if laplacian == "combinatorial":
        L = np.diag(degree) - A
    elif laplacian == "normalized":
        if (degree <= 0).any():
            raise ValueError("the normalized Laplacian needs every vertex to have a neighbour")
        scale = 1.0 / np.sqrt(degree)
        L = np.eye(len(A)) - scale[:, None] * A * scale[None, :]
    else:
        raise ValueError(f"laplacian must be 'normalized' or 'combinatorial'; got {laplacian!r}")
    return float(np.einsum("ic,ij,jc->", Y, L, Y))
