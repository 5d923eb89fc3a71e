"""Team BrAIn, PGDL third: variation of mixed-up labels over a neighbour graph of penultimate representations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from core.catalog import Statistic
from functional.network import forward_to, predict, resolve_layer, split_inputs, split_labels
from measures.pgdl.latent_graph import Laplacian, Similarity, knn_adjacency, label_variation, similarity_matrix
from measures.registry import MeasureParams, MeasureResult, register_measure

if TYPE_CHECKING:
    import torch

#: Vertices per graph in the submission (its per-class count is this over the number of classes).
GRAPH_SIZE = 500


class BrainParams(MeasureParams):
    """Parameters of :func:`brain` (defaults: the team's final submission, "VPM" with one graph)."""

    split: str = Field("train", description="split of the inputs and labels measured")
    layer: str | None = Field(None, description="block whose activation builds the graph; None: the one "
                              "before 'output' (the penultimate representation)")
    samples_per_class: int | None = Field(None, ge=1, description=f"None: {GRAPH_SIZE} // n_classes")
    graphs: int = Field(1, ge=1, description="independent graphs; their median is reported")
    k: int = Field(1, ge=1, description="neighbours per vertex")
    mixup_alpha: float = Field(2.0, ge=0.0, description="Beta(alpha, alpha) mixing weights; 0: no mixup")
    similarity: Similarity = "rbf"
    weighted: bool = Field(False, description="edges weighted by similarity (the submission: binary)")
    symmetrize: bool = Field(False, description="undirected graph (the submission: directed)")
    laplacian: Laplacian = "normalized"
    seed: int = 0


def mixup(x: torch.Tensor, Y: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """Input mixup with one random partner and one weight per sample (Zhang et al. 2018).

    ``x'_i = l_i x_i + (1 - l_i) x_p(i)`` and ``Y'_i = l_i Y_i + (1 - l_i)
    Y_p(i)`` with ``p`` a random permutation and ``l_i ~ Beta(alpha,
    alpha)`` (all 1 when ``alpha`` is 0), drawn in that order.

    Parameters
    ----------
    x : Tensor of shape (n, *input_shape)
    Y : ndarray of shape (n, n_classes)
    alpha : float (>= 0)
    rng : numpy Generator

    Returns
    -------
    (Tensor of shape (n, *input_shape), ndarray of shape (n, n_classes))
    """
    import torch

    perm = rng.permutation(len(x))
    lam = rng.beta(alpha, alpha, size=len(x)) if alpha > 0 else np.ones(len(x))
    lx = torch.as_tensor(lam, dtype=x.dtype).view(-1, *([1] * (x.ndim - 1)))
    return lx * x + (1 - lx) * x[torch.from_numpy(perm)], lam[:, None] * Y + (1 - lam[:, None]) * Y[perm]


def balanced_draw(y: np.ndarray, n_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``per_class`` indices of each class in ``[0, n_classes)``, without replacement, class by class."""
    parts = []
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        parts.append(members[rng.permutation(members.size)[:per_class]])
    return np.concatenate(parts)


DECLARED_STATISTICS = (Statistic("label_variation", False, families=("pgdl_winners",)),)


@register_measure(providers=("model", "inputs", "labels"), params=BrainParams, version=2,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper="Lassance et al. 2020, Ranking deep learning generalization using label variation in "
                        "latent geometry graphs (PGDL third, team BrAIn)")
def brain(params: BrainParams, *, model, inputs: dict, labels: dict) -> MeasureResult:
    """Label variation of mixed-up inputs on a k-nearest-neighbour graph of their penultimate representations.

    Team BrAIn's PGDL score, "Variation of the Penultimate layer with Mixup"
    (VPM; Lassance et al. 2020, arXiv 2011.12737; the team's submission
    ``complexity``): a class-balanced draw of ``samples_per_class`` inputs
    per class is mixed up (:func:`mixup`, weights ``Beta(mixup_alpha,
    mixup_alpha)``); the mixes' activations at the layer, flattened and
    L2-normalised, give similarities
    (:func:`~measures.pgdl.latent_graph.similarity_matrix`), a
    ``k``-nearest-neighbour graph
    (:func:`~measures.pgdl.latent_graph.knn_adjacency`) and the variation
    ``tr(Y^T L Y)`` of the mixed one-hot labels
    (:func:`~measures.pgdl.latent_graph.label_variation`), divided by
    ``4 n`` for ``n`` vertices (the code divides by the constant
    ``2 * 2 * 500``, the same for 10 classes) and clipped below at 0 as the
    code does. Negative values arise only from a directed graph with the
    normalised Laplacian when ties give vertices unequal degrees; the code's
    upper clip, 1000, cannot bind (with the default graph the value is at
    most 1/4). The row ``("all", "label_variation")`` is the median over
    ``graphs`` graphs; higher means neighbours disagree more and predicts a
    larger gap (``higher_is_better`` False).

    The defaults are the submission's: ``mixup_alpha = 2``, RBF similarity,
    ``k = 1``, a directed binary graph, the normalised Laplacian and one
    graph. The paper builds its graphs from a similarity, a threshold to the
    nearest neighbours, a symmetrisation and a normalisation; the
    alternatives are params. A class with fewer samples than asked
    contributes all it has, an absent class nothing. Cost: one forward pass
    to the layer per vertex and ``O(n^2)`` memory per graph (``n`` about
    500). Deterministic given ``seed``.

    Parameters
    ----------
    params : BrainParams
    model : Network
        Returns logits of shape (batch, n_classes).
    inputs : dict[str, Tensor of shape (n_samples, *input_shape)]
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels in ``[0, n_classes)``.

    Returns
    -------
    MeasureResult
        One row, ``("all", "label_variation")``: dimensionless (squared
        differences of mixed one-hot labels per vertex), >= 0, at most 1/4 with
        the default graph. No diagrams.

    Raises
    ------
    ValueError
        If the split is missing, the inputs are empty or not finite, the labels
        are not integers, not one per input or outside the network's classes,
        the layer is unknown (or, by default, the network has no block before
        ``"output"``), the graph has no more than ``k`` vertices, all pairwise
        distances are equal (RBF similarity), or a vertex has no neighbour
        (normalised Laplacian, possible with weighted cosine edges).

    References
    ----------
    Lassance, Bethune, Bontonou, Hamidouche, Gripon, "Ranking deep learning generalization using
    label variation in latent geometry graphs", arXiv 2011.12737 (2020), PGDL third place: the
    latent geometry graph and the label variation ``tr(Y^T L Y)``. Zhang, Cisse, Dauphin,
    Lopez-Paz, "mixup: Beyond empirical risk minimization", ICLR 2018.
    """
    import torch

    x = split_inputs(inputs, params.split, "brain")
    y = split_labels(labels, params.split, len(x), "brain")
    layer = resolve_layer(model, params.layer, "penultimate")
    n_classes = int(predict(model, x[:1]).shape[1])
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"brain: labels must be in [0, {n_classes}) for a network of {n_classes} classes; "
                         f"got [{y.min()}, {y.max()}]")
    per_class = params.samples_per_class or max(1, GRAPH_SIZE // n_classes)
    values = []
    for rng in np.random.default_rng(params.seed).spawn(params.graphs):
        idx = balanced_draw(y, n_classes, per_class, rng)
        onehot = np.eye(n_classes)[y[idx]]
        x_mix, Y = mixup(x[torch.from_numpy(idx)], onehot, params.mixup_alpha, rng)
        H = forward_to(model, x_mix, layer).flatten(1).double().numpy()
        A = knn_adjacency(similarity_matrix(H, params.similarity), params.k, params.weighted, params.symmetrize)
        values.append(max(0.0, label_variation(A, Y, params.laplacian) / (4.0 * len(idx))))
    result = MeasureResult()
    result.add("all", "label_variation", float(np.median(values)))  # a network score; the layer is a param
    return result
