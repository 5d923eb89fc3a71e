"""The trivial regulariser (no penalty)."""

from __future__ import annotations

import torch

from models.regularisers import RegulariserParams, register_regulariser


class NoParams(RegulariserParams):
    """``none`` takes no parameters."""


@register_regulariser(params=NoParams, version=1, paper="-", needs_activations=False)
def none(params: NoParams, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """No regularisation: a constant zero penalty."""
    return torch.zeros(())
