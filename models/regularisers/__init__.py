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
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel, ConfigDict

from core.registry import Registry

if TYPE_CHECKING:
    import torch


class RegulariserParams(BaseModel):
    """Base of every regulariser's parameter model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Regulariser:
    """A registered regulariser."""

    name: str
    fn: Callable[[RegulariserParams, dict[str, torch.Tensor]], torch.Tensor]
    params: type[RegulariserParams]
    version: int
    paper: str
    needs_activations: bool = True


#: Every registered regulariser; found by importing every module of :mod:`models.regularisers`.
REGULARISERS: Registry["Regulariser"] = Registry("regulariser", search=("models.regularisers",))


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
        REGULARISERS.add(key, Regulariser(key, fn, params, version, paper, needs_activations))
        return fn

    return decorator


def get_regulariser(name: str) -> Regulariser:
    """Return the registered regulariser ``name``.

    Raises
    ------
    core.errors.UnknownNameError
        With the closest registered names when ``name`` is unknown.
    """
    return REGULARISERS.get(name)


def list_regularisers(pattern: str = "*") -> list[str]:
    """Names of the registered regularisers matching a shell-style ``pattern``."""
    return REGULARISERS.list(pattern)
