"""K-means clusters of persistence summaries together with the generalization gap.

Ballester et al. 2023/24, *Predicting the generalization gap in neural networks
using topological data analysis* (Neurocomputing 2024; arXiv 2203.12330), the
exploratory clustering: for one bootstrapped persistence summary at a time,
the points (summary, gap) of the networks of a task are split by
``KMeans(n_clusters=2, random_state=0)`` on the raw values (no scaling; the
public code, ``cluster_experiments.py``, with scikit-learn 1.3 whose default
``n_init`` was 10). The clusters they found follow the networks' depth, and
they then correlate summaries and gap within each depth.

Standardising the columns first (``standardise=True``) is offered because the
raw clustering depends on the units of the summary: a summary in [0, 0.01]
against a gap in [0, 0.5] is clustered by the gap alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Clusters:
    """K-means clusters of runs, numbered by increasing mean gap.

    Attributes
    ----------
    labels : ndarray of shape (n_runs,)
        Cluster of each run, 0 .. n_clusters - 1; cluster 0 has the smallest mean gap.
    centers : ndarray of shape (n_clusters, n_summaries + 1)
        Cluster centres in the clustered space (the gap last; standardised units
        when ``standardise`` was set).
    mean_gap : ndarray of shape (n_clusters,)
        Mean generalization gap of each cluster (in the gap's units).
    sizes : ndarray of shape (n_clusters,)
        Runs per cluster.
    inertia : float
        Sum of squared distances to the closest centre (clustered space).
    """

    labels: np.ndarray
    centers: np.ndarray
    mean_gap: np.ndarray
    sizes: np.ndarray
    inertia: float


def kmeans_summaries_gap(summaries, gap, n_clusters: int = 2, *, random_state: int = 0,
                         n_init: int = 10, standardise: bool = False) -> Clusters:
    """Cluster the points (summaries, gap) of the runs with K-means.

    Ballester et al. 2023: ``KMeans(n_clusters=2, random_state=0)`` on the 2-D
    points (one bootstrapped persistence summary, generalization gap), raw values.

    Parameters
    ----------
    summaries : array-like of shape (n_runs,) or (n_runs, n_summaries)
        Persistence summaries of each run (e.g. the bootstrap mean of the std of
        H0 deaths).
    gap : array-like of shape (n_runs,)
        Generalization gap (train - test accuracy).
    n_clusters : int, default 2
        k of K-means (2 in the paper).
    random_state : int, default 0
        Seed of the k-means++ initialisations (0 in the paper's code).
    n_init : int, default 10
        Initialisations kept the best of (scikit-learn 1.3's default, used by the paper).
    standardise : bool, default False
        Scale every column (summaries and gap) to mean 0 and standard deviation 1
        (ddof=0) before clustering; constant columns are only centred.

    Returns
    -------
    Clusters

    Raises
    ------
    ValueError
        Shapes do not match; a value is not finite; ``n_clusters`` is not in
        [1, n_runs]; ``n_init`` < 1.
    """
    from sklearn.cluster import KMeans

    X = np.asarray(summaries, dtype=float)
    y = np.asarray(gap, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"kmeans_summaries_gap expects summaries of shape (n_runs,) or "
                         f"(n_runs, n_summaries) and gap of shape (n_runs,). Got "
                         f"{np.shape(summaries)} and {y.shape} instead.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("The 'summaries' and 'gap' parameters of kmeans_summaries_gap must be "
                         "finite. Drop runs with missing values first.")
    if not 1 <= int(n_clusters) <= y.size:
        raise ValueError(f"The 'n_clusters' parameter of kmeans_summaries_gap must be an int in "
                         f"the range [1, {y.size}] (the number of runs). Got {n_clusters} instead.")
    if int(n_init) < 1:
        raise ValueError(f"The 'n_init' parameter of kmeans_summaries_gap must be an int in the "
                         f"range [1, inf). Got {n_init} instead.")
    Z = np.column_stack([X, y])
    if standardise:
        sd = Z.std(axis=0)
        Z = (Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    km = KMeans(n_clusters=int(n_clusters), random_state=random_state, n_init=int(n_init)).fit(Z)
    raw = km.labels_
    mean_gap = np.array([y[raw == k].mean() if np.any(raw == k) else np.nan
                         for k in range(int(n_clusters))])
    order = np.argsort(mean_gap, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels = rank[raw]
    return Clusters(labels=labels, centers=km.cluster_centers_[order], mean_gap=mean_gap[order],
                    sizes=np.bincount(labels, minlength=int(n_clusters)),
                    inertia=float(km.inertia_))
