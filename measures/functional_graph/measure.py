"""The ``functional_graph`` measure (Corneanu et al. CVPR 2019, 2020)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from measures.functional_graph.betti import betti_summaries, keep_persistent
from measures.functional_graph.graph import clique_persistence, layer_nodes, log_softmax, sample_nodes
from core.catalog import Statistic
from measures.registry import Diagram, MeasureParams, MeasureResult, register_measure


class FunctionalGraphParams(MeasureParams):
    """Parameters of :func:`functional_graph`; the papers' setting in brackets.

    Attributes
    ----------
    samples : int
        First rows of the split's measurement sample that make the activations
        [1000 images; the public code reads them from the test set].
    split : {"train", "test"}
        Measurement sample used; "train" needs no test data, the point of CVPR 2020.
    nodes_per_layer : int
        Most nodes kept per layer, drawn uniformly without replacement with
        ``seed`` [all: 1820 nodes for LeNet on MNIST]. Bounds the cost of
        dimension 2 (see Notes of :func:`functional_graph`).
    conv_nodes : {"units", "channels"}
        A conv layer's nodes: every unit (channel and position) ["units"], or
        one per channel averaged over positions.
    output : {"log_softmax", "logits", "exclude"}
        How the logits layer enters ["log_softmax", the code's LeNet output].
    graph : {"network", "layer"}
        One graph over all layers ["network"] or one per layer.
    dims : tuple of int
        Homology dimensions, from {0, 1, 2, 3} [2020: life and midlife of
        dimension 1; 2019: Betti curves of dimensions 1 to 3].
    max_distance : float in (0, 1]
        Last filtration value, in ``1 - |corr|`` [0.4, the DIPHA sparsification].
    min_persistence : float
        Pairs of persistence ``<= min_persistence`` are left out of the
        summaries [0.02; 0.01 in some scripts].
    betti_range : (float, float)
        Filtration range ``[lo, hi]`` of the Betti curve summaries, ``hi <=
        max_distance`` [0.05 to 0.4].
    essential : {"keep", "drop"}
        Whether classes still alive at ``max_distance`` count in the summaries:
        "keep" gives the Betti numbers of the truncated complex; "drop"
        reproduces the code, whose reader keeps DIPHA's finite pairs only (it
        writes essential classes under dimension ``-k - 1``) ["drop"].
    seed : int
        Seed of the node draw.
    """

    samples: int = Field(1000, ge=3, description="first rows of the split's measurement sample")
    split: Literal["train", "test"] = "train"
    nodes_per_layer: int = Field(500, ge=1, description="most nodes sampled from one layer")
    conv_nodes: Literal["units", "channels"] = "units"
    output: Literal["log_softmax", "logits", "exclude"] = "log_softmax"
    graph: Literal["network", "layer"] = "network"
    dims: tuple[int, ...] = Field((1, 2), description="homology dimensions, a subset of {0, 1, 2, 3}")
    max_distance: float = Field(0.4, gt=0.0, le=1.0, description="last filtration value, in 1 - |corr|")
    min_persistence: float = Field(0.02, ge=0.0)
    betti_range: tuple[float, float] = (0.05, 0.4)
    essential: Literal["keep", "drop"] = "keep"
    seed: int = 0

    @field_validator("dims")
    @classmethod
    def _check_dims(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or not set(v) <= {0, 1, 2, 3} or len(set(v)) != len(v):
            raise ValueError(f"dims must be distinct values from {{0, 1, 2, 3}}, e.g. [1, 2]; got {list(v)}")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _check_range(self) -> FunctionalGraphParams:
        lo, hi = self.betti_range
        if not 0.0 <= lo < hi <= self.max_distance:
            raise ValueError(f"betti_range must satisfy 0 <= lo < hi <= max_distance = {self.max_distance}; "
                             f"got [{lo}, {hi}]")
        return self


def _layers(activations: dict, weights: dict, params: FunctionalGraphParams) -> dict[str, np.ndarray]:
    """Node activations per layer (first ``samples`` rows), before node sampling."""
    if params.split not in activations:
        raise ValueError(f"activations need a {params.split!r} split; got splits {sorted(activations)}")
    out = {}
    for name, a in activations[params.split].items():
        if name == "output" and params.output == "exclude":
            continue
        a = np.asarray(a)
        if a.ndim != 2 or a.shape[0] < params.samples:
            raise ValueError(f"layer {name!r}: expected activations of shape (n_samples >= {params.samples}, "
                             f"n_neurons), got {a.shape}; lower the measure's 'samples' or enlarge the "
                             f"measurement sample ({params.split}_samples)")
        a = a[: params.samples]
        if not np.isfinite(a).all():
            raise ValueError(f"layer {name!r} has non-finite activations in its first {params.samples} rows")
        if name == "output" and params.output == "log_softmax":
            a = log_softmax(a)
        W = weights.get(name)
        n_channels = W.shape[0] if W is not None and np.ndim(W) > 2 else None
        out[name] = layer_nodes(a, n_channels, params.conv_nodes)
    if not out:
        raise ValueError(f"no layer left with output={params.output!r}; layers: {list(activations[params.split])}")
    return out


DECLARED_STATISTICS = (
    Statistic("h1_life", None, families=("functional_graph",)),
    Statistic("h1_midlife", None, families=("functional_graph",)),
    Statistic("h[0-9]_*", None, "both"),
    Statistic("n_nodes", None, "both"),
)


@register_measure(providers=("activations", "weights"), params=FunctionalGraphParams, version=2,
                  statistics=DECLARED_STATISTICS, paper="Corneanu et al. CVPR 2019, What does it mean to learn in deep networks?; "
                        "Corneanu et al. CVPR 2020, Computing the testing error without a testing set")
def functional_graph(params: FunctionalGraphParams, *, activations: dict, weights: dict) -> MeasureResult:
    """Persistent homology of the functional graph of a network (Corneanu et al. 2019, 2020).

    Nodes are the units of every layer with weights (conv units per channel
    and position, or one per channel, see :class:`FunctionalGraphParams`);
    at most ``nodes_per_layer`` per layer are drawn uniformly (seeded by
    ``seed``, layer by layer in forward order). The edge weight is the
    absolute Pearson correlation of two nodes' activations over the first
    ``samples`` inputs, the filtration value ``1 - |corr|`` (both papers'
    functional graph), and the clique complex of the graph is filtered up to
    ``max_distance`` (:func:`measures.functional_graph.graph.clique_persistence`).
    The Betti curve ``beta_k(eps)`` of dimension ``k`` is the number of
    ``k``-cavities alive at ``eps``; it is reproduced exactly from the stored
    diagram by :func:`measures.functional_graph.betti.betti_curve` after
    dropping pairs of persistence ``<= min_persistence``.

    Parameters
    ----------
    params : FunctionalGraphParams
    activations : dict[str, dict[str, ndarray of shape (n_samples, n_neurons)]]
        Post-activation outputs per split and layer (``"output"``: logits).
    weights : dict[str, ndarray]
        Per layer, read only for the number of output channels of conv layers.

    Returns
    -------
    MeasureResult
        ``diagrams``: one :class:`Diagram` per graph and dimension in ``dims``
        (layer ``"all"`` for ``graph="network"``, else the layer's name;
        bootstrap 0), every pair of persistence > 0 in distance units,
        ``death = inf`` for classes alive at ``max_distance``. ``rows`` on the
        same layer, named ``h{k}_{summary}`` for the summaries of
        :func:`measures.functional_graph.betti.betti_summaries` (life, midlife,
        Betti peak, peak position, area, numbers of pairs; pairs of persistence
        ``<= min_persistence``, and essential classes with ``essential="drop"``,
        left out) and ``n_nodes``. No single sign. Units: ``life``, ``midlife``,
        ``betti_peak_position`` in distance units ``1 - |corr|`` (dimensionless,
        in [0, ``max_distance``]); ``betti_area`` in Betti number times distance;
        ``n_pairs``, ``n_essential``, ``betti_peak`` and ``n_nodes`` are counts.

    Raises
    ------
    ValueError
        If the split is missing, a layer is not 2-D, has fewer than ``samples``
        rows or non-finite activations, no layer is left, or, with
        ``conv_nodes="channels"``, a conv output's units are not a multiple of
        its channels.

    Notes
    -----
    Cost grows with the number of edges below ``max_distance`` (the cliques
    that dimension 2 needs), not only with the number of nodes. Measured on 2
    shared CPU cores, dims (1, 2), ``max_distance`` 0.4: LeNet on digits (300
    nodes) 0.15 s per checkpoint; synthetic rank-5 ReLU activations with 6 %
    of edges below 0.4, 1000 nodes 0.4 s, 2000 nodes 2.4 s (1.1 GB peak).
    Differences from the public code, kept on purpose: activations in float64
    (the code casts them to float16), Betti summaries computed exactly from the
    diagram (the code reads the curve at the event nearest to each of 200 grid
    points), gudhi instead of DIPHA (same diagrams, Z/2).

    References
    ----------
    Corneanu, Madadi, Escalera, Martinez, "What does it mean to learn in deep networks? And, how
    does one detect adversarial attacks?", CVPR 2019 (functional graph, Betti curves, their peak
    and area). Corneanu, Escalera, Martinez, "Computing the testing error without a testing set",
    CVPR 2020 (life and midlife of the persistence diagram, regressed on the gap).
    """
    layers = _layers(activations, weights, params)
    rng = np.random.default_rng(params.seed)
    nodes = {name: X[:, sample_nodes(rng, X.shape[1], params.nodes_per_layer)] for name, X in layers.items()}
    if params.graph == "network":
        graphs = {"all": np.concatenate([np.asarray(X, dtype=np.float64) for X in nodes.values()], axis=1)}
    else:
        graphs = nodes
    result = MeasureResult()
    for name, X in graphs.items():
        diagrams = clique_persistence(X, params.dims, params.max_distance)
        result.add(name, "n_nodes", X.shape[1])
        for k in params.dims:
            result.diagrams.append(Diagram(layer=name, bootstrap=0, dim=k, pairs=diagrams[k]))
            kept = keep_persistent(diagrams[k], params.min_persistence)
            if params.essential == "drop":
                kept = kept[np.isfinite(kept[:, 1])]
            for stat, value in betti_summaries(kept, *params.betti_range).items():
                result.add(name, f"h{k}_{stat}", value)
    return result
