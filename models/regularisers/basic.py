"""The trivial regulariser (no penalty)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.regularisers import RegulariserParams, register_regulariser

if TYPE_CHECKING:
    import torch


class NoParams(RegulariserParams):
    """``none`` takes no parameters."""


@register_regulariser(params=NoParams, version=1, paper="-", needs_activations=False)
def none(params: NoParams, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """No regularisation: a constant zero penalty."""
    import torch

    return torch.zeros(())
