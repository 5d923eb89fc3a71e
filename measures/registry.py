"""Measure registry: one function per generalization measure, registered by name.

A measure declares the *providers* it needs (a closed vocabulary, see
:data:`PROVIDERS`), a frozen pydantic model of its parameters, a ``version``
(bumping it marks stored rows stale) and the *statistics* it writes
(:class:`core.catalog.Statistic`: name or pattern, scope, report families and,
where it has a sign, ``higher_is_better``: ``True`` when larger values predict
*better* generalization, i.e. a smaller generalization gap).

The runner computes each provider once per run and checkpoint and calls every
measure with the providers it asked for as keyword arguments::

    @register_measure(providers=("weights",), params=WeightSpectrumParams,
                      version=1, paper="Jaegerman et al. 2021",
                      statistics=(Statistic("mean_stable_rank", families=("weight_spectrum",)), ...))
    def weight_spectrum(params, *, weights):
        ...
        return MeasureResult(rows=[("fc1", "stable_rank", 3.2), ...])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.catalog import Statistic
from core.registry import Registry

#: Providers a measure may ask for. Each is computed once per run and checkpoint.
#:
#: ``weights``        dict[str, ndarray]: weight of every layer with weights, in forward
#:                    order; Linear ``(out, in)``, Conv ``(out, in, kh, kw)``; float64.
#: ``init_weights``   the same dict for the run's network at initialisation (epoch 0,
#:                    rebuilt from the run's seed, which is how training began).
#: ``activations``    dict[split, dict[str, ndarray of shape (n_samples, n_neurons)]]:
#:                    post-activation output of every layer with weights (the last one is
#:                    the logits layer ``"output"``), flattened, float32, on the fixed
#:                    measurement sample; split in {"train", "test"}.
#: ``preactivations`` same layout: the Linear/Conv output before batch norm and the
#:                    nonlinearity (Galanti et al. 2023's embeddings).
#: ``logits``         dict[split, ndarray of shape (n_samples, n_classes)], float32.
#: ``inputs``         dict[split, Tensor of shape (n_samples, *input_shape)], float32: the
#:                    fixed measurement sample itself (for measures that perturb or mix
#:                    inputs and run the ``model``).
#: ``labels``         dict[split, ndarray of shape (n_samples,)], int64; the labels the
#:                    network was trained on (noisy labels included) for "train".
#: ``history``        dict[split, dict[str, ndarray of shape (n_epochs + 1,)]]: the run's
#:                    per-epoch ``"epoch"``, ``"loss"`` and ``"accuracy"`` (fraction), epoch 0
#:                    being the network at initialisation; split in {"train", "val", "test"}.
#: ``model``          the ``torch.nn.Module`` in eval mode, on the CPU.
#: ``data``           the run's :class:`models.data.DataSplits`.
PROVIDERS = ("weights", "init_weights", "activations", "preactivations", "logits", "inputs", "labels",
             "history", "model", "data")


class MeasureParams(BaseModel):
    """Base of every measure's parameter model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Diagram:
    """One persistence diagram.

    Parameters
    ----------
    layer : str
        Layer name, or ``"all"`` when neurons are pooled over layers.
    bootstrap : int
        Index of the bootstrap draw (0 when there is a single draw).
    dim : int
        Homology dimension.
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)`` in filtration units (here, distance 1 - |corr|, in [0, 1]);
        ``death`` is ``inf`` for essential classes.
    """

    layer: str
    bootstrap: int
    dim: int
    pairs: np.ndarray


@dataclass
class MeasureResult:
    """What a measure returns.

    ``rows`` are ``(layer, statistic, value)`` triples stored in the ``measures``
    table; ``layer`` is a layer name or ``"all"`` for a network-level value.
    ``diagrams`` are stored, pair by pair, in the ``diagrams`` table.
    """

    rows: list[tuple[str, str, float]] = field(default_factory=list)
    diagrams: list[Diagram] = field(default_factory=list)

    def add(self, layer: str, statistic: str, value: float) -> None:
        """Append one ``(layer, statistic, value)`` row."""
        self.rows.append((str(layer), str(statistic), float(value)))


@dataclass(frozen=True)
class Measure:
    """A registered measure."""

    name: str
    fn: Callable[..., MeasureResult]
    params: type[MeasureParams]
    providers: tuple[str, ...]
    version: int
    paper: str
    statistics: tuple[Statistic, ...] = ()
    permutation_invariant: bool = False

    @property
    def higher_is_better(self) -> bool | None:
        """The sign shared by every declared statistic, or None when they differ or have none."""
        signs = {s.higher_is_better for s in self.statistics}
        return signs.pop() if len(signs) == 1 else None

    @property
    def summary(self) -> str:
        """First line of the measure's docstring."""
        doc = (self.fn.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def __call__(self, params: MeasureParams, **providers: Any) -> MeasureResult:
        return self.fn(params, **{k: providers[k] for k in self.providers})


#: Every registered measure; found by importing every module of :mod:`measures`.
MEASURES: Registry[Measure] = Registry("measure", search=("measures",))


def register_measure(
    *,
    providers: tuple[str, ...],
    params: type[MeasureParams],
    version: int,
    paper: str,
    statistics: tuple[Statistic, ...],
    permutation_invariant: bool = False,
    name: str | None = None,
) -> Callable[[Callable[..., MeasureResult]], Callable[..., MeasureResult]]:
    """Register a measure function under its name (or ``name``).

    Parameters
    ----------
    providers : tuple of str
        The inputs the measure is called with, from :data:`PROVIDERS`.
    params : type of MeasureParams
        Its frozen parameter model (the manifest entry's keys).
    version : int
        Bumping it marks stored rows stale.
    paper : str
        The paper (and equation) it implements.
    statistics : tuple of Statistic
        Every statistic it writes (exact names or patterns), with its sign,
        scope and report families; a row matching none breaks its contract.
    permutation_invariant : bool
        True when relabelling the hidden units of a layer (permuting a layer's
        output neurons and the next layer's inputs: the same function) leaves
        every value unchanged; the contract tests check it.
    name : str, optional
        Registered name; default the function's name.

    Raises
    ------
    ValueError
        If a provider is not in :data:`PROVIDERS`, no statistic is declared, or the name is taken.
    """

    def decorator(fn: Callable[..., MeasureResult]) -> Callable[..., MeasureResult]:
        key = name or fn.__name__
        unknown = [p for p in providers if p not in PROVIDERS]
        if unknown:
            raise ValueError(f"measure {key!r} asks for unknown providers {unknown}; known: {PROVIDERS}")
        if not statistics:
            raise ValueError(f"measure {key!r} declares no statistics; list what it writes in statistics=(...)")
        MEASURES.add(key, Measure(key, fn, params, tuple(providers), version, paper, tuple(statistics),
                                  permutation_invariant))
        return fn

    return decorator


def get_measure(name: str) -> Measure:
    """Return the registered measure ``name``.

    Raises
    ------
    core.errors.UnknownNameError
        With the closest registered names when ``name`` is unknown.
    """
    return MEASURES.get(name)


def list_measures(pattern: str = "*") -> list[str]:
    """Names of the registered measures matching a shell-style ``pattern``."""
    return MEASURES.list(pattern)
