"""The Davies-Bouldin index of representations grouped by class, and the pooling that precedes it.

Natekar and Sharma 2020 (team Interpex, PGDL winner) score how well a layer
separates the classes with the Davies-Bouldin index (Davies and Bouldin 1979)
of its representations, taking each class as a cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def davies_bouldin_index(X: np.ndarray, y: np.ndarray, q: float = 1.0) -> float:
    """Davies-Bouldin index of the points ``X`` clustered by their labels ``y``.

    Davies and Bouldin 1979 (their dispersion ``S_i`` with exponent ``q``,
    Euclidean separation ``M_ij``, ``R_ij`` and the mean of the worst
    ``R_ij``), as Natekar and Sharma 2020 use it (their code is
    scikit-learn's ``davies_bouldin_score``): with ``mu_i`` the centroid of
    class ``i``,
    ``S_i = (mean_{x in i} ||x - mu_i||^q)^(1/q)`` (``q = 1``: the mean
    Euclidean distance to the centroid, scikit-learn's choice),
    ``M_ij = ||mu_i - mu_j||``, ``R_ij = (S_i + S_j) / M_ij`` and
    ``DB = mean_i max_{j != i} R_ij``. Lower is better separated; in units of
    ratios of distances (dimensionless). As in scikit-learn, the index is 0
    when every ``S_i`` or every ``M_ij`` is (numerically) zero, and a pair of
    coincident centroids contributes ``R_ij = 0`` rather than infinity.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_neurons)
        Representations, one row per sample.
    y : ndarray of shape (n_samples,)
        Class of each row (any hashable integers).
    q : float, default 1
        Exponent of the within-class scatter ``S_i`` (>= 1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, ``q < 1``, or the number of
        classes is not in ``[2, n_samples - 1]`` (scikit-learn's rule).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"expected X of shape (n_samples, n_neurons) and y of shape (n_samples,); "
                         f"got X {X.shape} and y {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X has non-finite values")
    if not q >= 1:
        raise ValueError(f"q must be >= 1; got {q}")
    classes, idx = np.unique(y, return_inverse=True)
    k, n = classes.size, y.size
    if not 1 < k < n:
        raise ValueError(f"the Davies-Bouldin index needs between 2 and n_samples - 1 = {n - 1} classes; "
                         f"got {k} classes")
    counts = np.bincount(idx, minlength=k).astype(np.float64)
    centroids = np.zeros((k, X.shape[1]))
    np.add.at(centroids, idx, X)
    centroids /= counts[:, None]
    dist = np.linalg.norm(X - centroids[idx], axis=1)
    scatter = (np.bincount(idx, weights=dist**q, minlength=k) / counts) ** (1.0 / q)
    sep = np.linalg.norm(centroids[:, None, :] - centroids[None, :, :], axis=2)
    if np.allclose(scatter, 0) or np.allclose(sep, 0):
        return 0.0
    sep[sep == 0] = np.inf
    ratios = (scatter[:, None] + scatter[None, :]) / sep
    return float(np.mean(np.max(ratios, axis=1)))


def pooled_features(h: torch.Tensor, pool: int) -> np.ndarray:
    """Max-pool feature maps over non-overlapping ``pool``-wide windows, then flatten.

    Keras ``MaxPooling2D(pool_size=(pool, pool))`` with its default stride
    and "valid" padding (windows that do not fit are dropped), as Natekar and
    Sharma apply before the Davies-Bouldin index. Dense representations, and
    ``pool <= 1``, are only flattened.

    Parameters
    ----------
    h : Tensor of shape (n_samples, channels, *spatial) or (n_samples, n_neurons)
        ``spatial`` is (length,) or (height, width).
    pool : int

    Returns
    -------
    ndarray of shape (n_samples, n_pooled), float64

    Raises
    ------
    ValueError
        If a spatial side is smaller than ``pool`` or ``h`` has more than two
        spatial dimensions.
    """
    import torch.nn.functional as F

    if pool > 1 and h.ndim > 2:
        spatial = tuple(h.shape[2:])
        if len(spatial) > 2:
            raise ValueError(f"pooling takes feature maps with 1 or 2 spatial dimensions; got shape {tuple(h.shape)}")
        if min(spatial) < pool:
            raise ValueError(f"feature maps of spatial size {spatial} are smaller than the pool size {pool}")
        h = (F.max_pool1d if len(spatial) == 1 else F.max_pool2d)(h, pool)
    return h.flatten(1).double().numpy()
