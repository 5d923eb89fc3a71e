"""Persistence diagrams of neuron activations (Ballester et al. 2023)."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from functional.persistence.distance import correlation_distance
from functional.persistence.h0 import h0_diagram
from functional.persistence.representations import representation_statistics
from functional.persistence.rips import rips_h1_diagrams
from functional.persistence.sampling import argmax_counts, draw_neurons, importance_probabilities
from functional.persistence.summaries import extra_statistics, summary_statistics
from core.catalog import Statistic
from measures.registry import Diagram, MeasureParams, MeasureResult, register_measure

#: Most threads used for the H1 diagrams (each needs 5 to 9 GB at 3000 neurons).
MAX_THREADS = 2


class ActivationPersistenceParams(MeasureParams):
    """Parameters of :func:`activation_persistence`; defaults are Ballester et al. 2023's.

    Sources in their public code (rballeba/PredictingGeneralizationGapUsingPersistentHomology):
    ``neurons=3000``, ``samples=2000``, ``bootstraps=20`` and ``dims=(0, 1)`` are
    the arguments of ``compute_persistence_diagrams`` in the readme
    (``3000 2000 20 1``: neurons, inputs, diagrams per model, maximum homology
    dimension); ``sampling="importance"`` is ``activation_sampling_method`` in
    ``model/conf.py``; ``layers="all"`` is ``compute_activations`` in
    ``model/neural_networks.py`` (every layer with weights, the last included,
    ``num_skipped_layers = 0``); ``resamples=1000`` is
    ``perform_bootstraping_sample`` in ``extract_statistics_from_persistence_diagrams.py``.
    """

    neurons: int = Field(3000, ge=1, description="neurons per diagram (all of them when fewer)")
    samples: int = Field(2000, ge=2, description="first rows of the train split used")
    dims: tuple[int, ...] = Field((0, 1), description="homology dimensions, a subset of {0, 1}")
    bootstraps: int = Field(20, ge=1, description="independent neuron draws, one diagram each")
    sampling: Literal["uniform", "importance"] = "importance"
    seed: int = Field(0, description="seed of the neuron draws and of the bootstrap resamples")
    layers: Literal["hidden", "all"] = Field("all", description="'hidden' leaves out 'output'")
    resamples: int = Field(1000, ge=0, description="bootstrap resamples of the diagrams' summaries; "
                                                   "0: their plain mean (the limit)")
    extra_statistics: bool = Field(False, description="also the summaries the paper does not use")
    landscapes: int = Field(0, ge=0, description="persistence landscapes per dimension (0: none)")
    landscape_resolution: int = Field(100, ge=2, description="landscape samples on [0, 1]")
    betti_resolution: int = Field(0, ge=0, description="Betti curve samples on [0, 1] (0: none)")
    image_resolution: int = Field(0, ge=0, description="persistence image pixels per axis (0: none)")
    image_bandwidth: float = Field(0.05, gt=0, description="persistence image kernel std (distance units)")

    @field_validator("dims")
    @classmethod
    def _check_dims(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or not set(v) <= {0, 1} or len(set(v)) != len(v):
            raise ValueError(f"dims must be distinct values from {{0, 1}}, e.g. [0, 1]; got {list(v)}")
        return tuple(sorted(v))

    @field_validator("betti_resolution", "image_resolution")
    @classmethod
    def _check_resolution(cls, v: int) -> int:
        if v == 1:
            raise ValueError("a resolution must be 0 (left out) or at least 2; got 1")
        return v


def _pooled_layers(activations: dict, params: ActivationPersistenceParams) -> list[np.ndarray]:
    if "train" not in activations:
        raise ValueError(f"activations need a 'train' split; got splits {sorted(activations)}")
    train = activations["train"]
    names = [k for k in train if params.layers == "all" or k != "output"]
    if not names:
        raise ValueError(f"no layer to pool with layers={params.layers!r}; layers: {list(train)}")
    out = []
    for name in names:
        a = np.asarray(train[name])
        if a.ndim != 2 or a.shape[0] < params.samples:
            raise ValueError(f"layer {name!r}: expected activations of shape (n_samples >= {params.samples}, "
                             f"n_neurons), got {a.shape}; lower the measure's 'samples' or enlarge the "
                             "measurement sample")
        a = a[: params.samples]
        if not np.isfinite(a).all():
            raise ValueError(f"layer {name!r} has non-finite activations in its first {params.samples} rows")
        out.append(a)
    return out


def _n_threads(bootstraps: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_THREADS, cpus, bootstraps))


def _gather(layers: list[np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Columns ``idx`` (sorted pooled indices) of the pooled activations, float64."""
    offsets = np.cumsum([0] + [a.shape[1] for a in layers])
    parts = []
    for l, a in enumerate(layers):
        lo, hi = np.searchsorted(idx, [offsets[l], offsets[l + 1]])
        parts.append(np.asarray(a[:, idx[lo:hi] - offsets[l]], dtype=np.float64))
    return np.concatenate(parts, axis=1)


def _diagrams(layers: list[np.ndarray], draws: list[np.ndarray], dims: tuple[int, ...],
              n_jobs: int) -> list[dict[int, np.ndarray]]:
    """One {dim: pairs} per draw, identical draws computed once."""
    keys = {d.tobytes(): d for d in draws}
    done: dict[bytes, dict[int, np.ndarray]] = {}
    todo = list(keys)
    for start in range(0, len(todo), n_jobs):
        chunk = todo[start:start + n_jobs]
        Ds = [correlation_distance(_gather(layers, keys[k])) for k in chunk]
        h1 = rips_h1_diagrams(Ds, n_jobs=n_jobs) if 1 in dims else [None] * len(Ds)
        for k, D, p1 in zip(chunk, Ds, h1):
            h0 = h0_diagram(D)
            done[k] = {0: h0[h0[:, 1] > h0[:, 0]], 1: p1}
    return [done[d.tobytes()] for d in draws]


def bootstrap_weights(n_diagrams: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Weight of each diagram in the mean of ``resamples`` bootstrap means.

    Ballester et al.'s ``perform_bootstraping_sample``: draw ``resamples``
    samples of ``n_diagrams`` indices with replacement, average the summaries
    of each sample, then average these means; that equals ``sum_b w_b v_b``
    with ``w_b = count_b / (resamples * n_diagrams)``, ``count_b`` the times
    diagram ``b`` was drawn. Its expectation is the plain mean, returned when
    ``resamples == 0``.

    Parameters
    ----------
    n_diagrams : int
    resamples : int
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray of shape (n_diagrams,)
        Non-negative, summing to 1.
    """
    if resamples == 0:
        return np.full(n_diagrams, 1.0 / n_diagrams)
    draws = rng.integers(0, n_diagrams, size=(resamples, n_diagrams))
    return np.bincount(draws.ravel(), minlength=n_diagrams) / draws.size


def _summaries(pairs: np.ndarray, params: ActivationPersistenceParams) -> dict[str, float]:
    out = summary_statistics(pairs)
    if params.extra_statistics:
        out.update(extra_statistics(pairs))
    out.update(representation_statistics(
        pairs, landscapes=params.landscapes, landscape_resolution=params.landscape_resolution,
        betti_resolution=params.betti_resolution, image_resolution=params.image_resolution,
        image_bandwidth=params.image_bandwidth))
    return out


#: Ballester et al. 2023's headline persistence summaries (H0 and H1), the report family's predictors.
PERSISTENCE_HEADLINE = ("h0_std_death", "h0_mean_death", "h1_std_birth",
                        "h1_std_death", "h1_mean_birth", "h1_mean_death")

DECLARED_STATISTICS = (
    *(Statistic(name, None, families=("activation_persistence",)) for name in PERSISTENCE_HEADLINE),
    Statistic("h[0-9]_*", None),  # every summary and vectorisation, per homology dimension
)


@register_measure(providers=("activations",), params=ActivationPersistenceParams, version=2,
                  statistics=DECLARED_STATISTICS, paper="Ballester et al. 2023, Predicting the generalization gap in neural "
                        "networks using topological data analysis")
def activation_persistence(params: ActivationPersistenceParams, *, activations: dict) -> MeasureResult:
    """Persistence diagrams of the correlation distance between sampled neurons.

    Ballester et al. 2023 (Neurocomputing 2024, arXiv 2203.12330), as their
    public code computes it (paths in
    rballeba/PredictingGeneralizationGapUsingPersistentHomology):

    1. Neurons: the post-activation outputs of the chosen layers, flattened and
       pooled in forward order (``model/neural_networks.py``: every layer with
       weights; ``layers="all"`` includes the logits ``"output"``).
    2. Inputs: the first ``samples`` rows of the train split. The measurement
       sample is already a seeded random draw of the train split, as the
       code's ``take_random_sample_dataset`` (shuffle, seed 1, then take).
    3. Draws: each of ``bootstraps`` draws takes ``min(neurons, M)`` distinct
       neurons of the M pooled ones (numpy's weighted sampling without
       replacement) by importance (``sample_activations_by_importance.py``,
       see :mod:`functional.persistence.sampling`) or uniformly; all draws use
       the same inputs. Seeded by ``seed`` (the code uses numpy's unseeded
       global state). When ``neurons >= M`` every neuron is used (the code
       raises) and the identical diagrams are computed once.
    4. Distance ``d(i, j) = 1 - |corr(a_i, a_j)|``
       (``absolute_correlation_dissimilarity.py``; float64, clipped to [0, 1];
       constant neurons at distance 1:
       :func:`functional.persistence.distance.correlation_distance`).
    5. Vietoris-Rips persistence in dimensions ``dims``, Z/2 coefficients, no
       filtration cap (``ripser_parallel(maxdim=1)`` with no threshold): H0
       from the minimum spanning tree (:func:`functional.persistence.h0.h0_diagram`),
       H1 from gudhi (truncated at the enclosing radius, which is exact).
    6. Summaries per diagram and dimension
       (:mod:`functional.persistence.summaries`, finite points only), then the
       mean of ``resamples`` bootstrap means over the diagrams
       (:func:`bootstrap_weights`; one set of resamples shared by every
       statistic, where the code draws anew for each summary).

    Parameters
    ----------
    params : ActivationPersistenceParams
    activations : dict[str, dict[str, ndarray of shape (n_samples, n_neurons)]]
        Post-activation outputs per split and layer; only ``"train"`` is read.

    Returns
    -------
    MeasureResult
        ``diagrams``: one :class:`Diagram` per bootstrap and dimension on layer
        ``"all"``, pairs in distance units (dimensionless, [0, 1]); H0 holds
        ``(0, death)`` points and one ``(0, inf)``, H1 only finite points;
        zero-length points (duplicated neurons, |corr| = 1) are left out in
        both, as Ripser, giotto-ph and gudhi do. Threads: up to
        :data:`MAX_THREADS` diagrams at once (results do not depend on it).
        ``rows`` on layer ``"all"``, named ``h{dim}_{statistic}``: the paper's
        summaries (:data:`functional.persistence.summaries.STATISTICS`, e.g.
        ``h0_std_death``, ``h1_persistent_entropy``, ``h1_pooling_vector_01``,
        ``h0_complex_polynomial_re_01``); with ``extra_statistics`` also
        :data:`functional.persistence.summaries.EXTRA_STATISTICS`; with
        ``landscapes``, ``betti_resolution`` or ``image_resolution`` the
        components of :mod:`functional.persistence.representations` (e.g.
        ``h1_landscape_k1_007``, ``h1_betti_curve_012``,
        ``h1_persistence_image_b003_p017``). No single sign: the paper fits a
        linear model on these. Units: births, deaths, lives, midlives, their
        standard deviations, pooling vectors and landscapes in distance units
        (dimensionless, [0, 1]); ``persistent_entropy`` in nats; Betti curves
        are counts; complex-polynomial coefficients are sums of products of
        distances (dimensionless).

    Raises
    ------
    ValueError
        If the train split is missing, ``layers`` leaves no layer, a layer is
        not 2-D or has fewer than ``samples`` rows, activations are not finite,
        or the chosen layers have no neurons.

    References
    ----------
    Ballester, Arnal Clemente, Casacuberta, Madadi, Corneanu, Escalera, "Predicting the
    generalization gap in neural networks using topological data analysis", Neurocomputing
    (2024), arXiv 2203.12330: importance sampling of neurons, distance ``1 - |corr|``,
    Vietoris-Rips H0/H1 diagrams and their summaries (steps 1-6 above).
    Rucco et al. 2016 (persistent entropy); Bonis et al. 2016 (persistence pooling vector);
    Di Fabio and Ferri 2015 (complex polynomials of type T).
    """
    layers = _pooled_layers(activations, params)
    n_total = sum(a.shape[1] for a in layers)
    if n_total == 0:
        raise ValueError("the chosen layers have no neurons")
    p = importance_probabilities(argmax_counts(layers)) if params.sampling == "importance" else None
    rng = np.random.default_rng(params.seed)
    draws = [draw_neurons(rng, n_total, params.neurons, p) for _ in range(params.bootstraps)]
    per_draw = _diagrams(layers, draws, params.dims, _n_threads(params.bootstraps))
    weights = bootstrap_weights(params.bootstraps, params.resamples, np.random.default_rng([params.seed, 1]))
    result = MeasureResult()
    for b, dgms in enumerate(per_draw):
        for dim in params.dims:
            result.diagrams.append(Diagram(layer="all", bootstrap=b, dim=dim, pairs=dgms[dim]))
    for dim in params.dims:
        cache: dict[int, dict[str, float]] = {}  # identical draws share one pairs array
        for d in per_draw:
            if id(d[dim]) not in cache:
                cache[id(d[dim])] = _summaries(d[dim], params)
        stats = [cache[id(d[dim])] for d in per_draw]
        for name in stats[0]:
            result.add("all", f"h{dim}_{name}", float(np.dot(weights, [s[name] for s in stats])))
    return result
