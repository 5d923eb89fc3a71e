"""Regulariser registry: penalties on a mini-batch's activations added to the loss.

A regulariser is a function ``fn(params, activations) -> Tensor`` where
``activations`` is an ordered ``dict[str, Tensor of shape (batch, n_neurons)]``
of the post-activation outputs of every layer with weights (flattened; the last
entry is the logits layer ``"output"``), recorded during the training forward
pass with gradients. The training loop adds ``weight * fn(params, activations)``
to the loss and stores the unweighted value per epoch as the metric
``regulariser``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from pydantic import BaseModel, ConfigDict

from runner.errors import unknown_name


class RegulariserParams(BaseModel):
    """Base of every regulariser's parameter model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class RegulariserSpec:
    """A registered regulariser."""

    name: str
    fn: Callable[[RegulariserParams, dict[str, torch.Tensor]], torch.Tensor]
    params: type[RegulariserParams]
    version: int
    paper: str
    needs_activations: bool = True


_REGISTRY: dict[str, RegulariserSpec] = {}


def register_regulariser(*, params: type[RegulariserParams], version: int, paper: str,
                         needs_activations: bool = True, name: str | None = None):
    """Register a regulariser function under its name (or ``name``).

    Raises
    ------
    ValueError
        If the name is already registered.
    """

    def decorator(fn):
        key = name or fn.__name__
        if key in _REGISTRY:
            raise ValueError(f"regulariser {key!r} is already registered")
        _REGISTRY[key] = RegulariserSpec(key, fn, params, version, paper, needs_activations)
        return fn

    return decorator


def get_regulariser(name: str) -> RegulariserSpec:
    """Return the registered regulariser ``name``.

    Raises
    ------
    KeyError
        With the closest registered names when ``name`` is unknown.
    """
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(unknown_name("regulariser", name, _REGISTRY))
    return _REGISTRY[name]


def list_regularisers() -> list[str]:
    """Names of the registered regularisers."""
    _load_all()
    return sorted(_REGISTRY)


def _load_all() -> None:
    from models.regularisers import basic, decorrelation, topological  # noqa: F401
