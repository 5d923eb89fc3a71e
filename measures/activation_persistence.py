"""Persistence diagrams of neuron activations (Ballester et al. 2023)."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from measures.persistence.distance import correlation_distance
from measures.persistence.h0 import h0_diagram
from measures.persistence.rips import rips_h1_diagrams
from measures.persistence.sampling import argmax_counts, draw_neurons, importance_probabilities
from measures.persistence.summaries import STATISTICS, summary_statistics
from measures.registry import Diagram, MeasureParams, MeasureResult, register_measure

#: Most threads used for the H1 diagrams (each needs 5 to 9 GB at 3000 neurons).
MAX_THREADS = 2


class ActivationPersistenceParams(MeasureParams):
    """Parameters of :func:`activation_persistence` (defaults: Ballester et al. 2023)."""

    neurons: int = Field(3000, ge=1, description="neurons per diagram (all of them when fewer)")
    samples: int = Field(2000, ge=2, description="first rows of the train split used")
    dims: tuple[int, ...] = Field((0, 1), description="homology dimensions, a subset of {0, 1}")
    bootstraps: int = Field(20, ge=1, description="independent neuron draws, one diagram each")
    sampling: Literal["uniform", "importance"] = "importance"
    seed: int = 0
    layers: Literal["hidden", "all"] = Field("all", description="'hidden' leaves out 'output'")

    @field_validator("dims")
    @classmethod
    def _check_dims(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or not set(v) <= {0, 1} or len(set(v)) != len(v):
            raise ValueError(f"dims must be distinct values from {{0, 1}}, e.g. [0, 1]; got {list(v)}")
        return tuple(sorted(v))


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


@register_measure(providers=("activations",), params=ActivationPersistenceParams, version=1,
                  paper="Ballester et al. 2023, Predicting the generalization gap in neural "
                        "networks using topological data analysis")
def activation_persistence(params: ActivationPersistenceParams, *, activations: dict) -> MeasureResult:
    """Persistence diagrams of the correlation distance between sampled neurons.

    Ballester et al. 2023 (as their public code computes it): neurons of the
    chosen layers are pooled (columns concatenated in forward order;
    ``layers="all"`` includes the logits layer ``"output"``, as the paper uses
    every layer with weights), restricted to the first ``samples`` rows of the
    train split, and distances are in units of ``1 - |corr|``. Each of
    ``bootstraps`` draws takes ``min(neurons, M)`` distinct neurons of the M
    pooled ones, uniformly or by importance (see
    :mod:`measures.persistence.sampling`; seeded by ``seed``), and builds the
    Vietoris-Rips filtration of ``d(i, j) = 1 - |corr(a_i, a_j)|`` (float64,
    clipped to [0, 1]; constant neurons have correlation 0, distance 1:
    :func:`measures.persistence.distance.correlation_distance`). H0 comes from
    the minimum spanning tree (:func:`measures.persistence.h0.h0_diagram`),
    H1 from gudhi (Z/2 coefficients). When ``neurons >= M`` all draws are the
    same and are computed once.

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
        :data:`MAX_THREADS` diagrams at once (results do not depend on it). ``rows``: on layer ``"all"``, the
        mean over bootstraps of each summary of
        :func:`measures.persistence.summaries.summary_statistics` (finite
        points only, every value 0 for an empty diagram), named
        ``h{dim}_{statistic}``, e.g. ``h0_mean_death``, ``h1_persistent_entropy``.
        No single sign: the paper fits a linear model on these.

    Raises
    ------
    ValueError
        If the train split or the chosen layers are missing, a layer has fewer
        than ``samples`` rows, or activations are not finite.
    """
    layers = _pooled_layers(activations, params)
    n_total = sum(a.shape[1] for a in layers)
    if n_total == 0:
        raise ValueError("the chosen layers have no neurons")
    p = importance_probabilities(argmax_counts(layers)) if params.sampling == "importance" else None
    rng = np.random.default_rng(params.seed)
    draws = [draw_neurons(rng, n_total, params.neurons, p) for _ in range(params.bootstraps)]
    per_draw = _diagrams(layers, draws, params.dims, _n_threads(params.bootstraps))
    result = MeasureResult()
    for b, dgms in enumerate(per_draw):
        for dim in params.dims:
            result.diagrams.append(Diagram(layer="all", bootstrap=b, dim=dim, pairs=dgms[dim]))
    for dim in params.dims:
        stats = [summary_statistics(dgms[dim]) for dgms in per_draw]
        for name in STATISTICS:
            result.add("all", f"h{dim}_{name}", float(np.mean([s[name] for s in stats])))
    return result
