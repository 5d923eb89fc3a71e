"""The :class:`Network` every architecture builds, a chain of named :class:`Block` s.

Kept apart from :mod:`models.architectures` (the registry and the parameter
models) so that reading a manifest does not import torch; the builders import
this module when they build.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class Block(nn.Module):
    """One layer with weights followed by what acts on its output.

    Parameters
    ----------
    layer : nn.Linear or nn.Conv1d or nn.Conv2d
        The layer whose ``weight`` the weight measures read.
    post : nn.Module
        Applied to the layer's output (batch norm, nonlinearity, pooling).
    flatten_input : bool
        Flatten the input to ``(batch, -1)`` first (an MLP on images, or the
        classifier head after convolutions).
    """

    def __init__(self, layer: nn.Module, post: nn.Module | None = None, flatten_input: bool = False):
        super().__init__()
        self.layer = layer
        self.post = post if post is not None else nn.Identity()
        self.flatten_input = flatten_input

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.flatten_input:
            x = x.flatten(1)
        pre = self.layer(x)
        return pre, self.post(pre)

    def extra_weight_layers(self) -> dict[str, nn.Module]:
        """Layers with weights other than ``layer`` (none here; a residual block has some)."""
        return {}


class Network(nn.Module):
    """A chain of named blocks; the last is ``"output"`` (the logits).

    ``forward(x)`` returns logits of shape (batch, n_classes). With ``record``
    (a dict), it also stores ``record["pre"][name]`` and ``record["post"][name]``
    for every block, flattened to (batch, n_neurons), gradients kept.
    """

    def __init__(self, blocks: dict[str, Block]):
        super().__init__()
        if list(blocks)[-1] != "output":
            raise ValueError(f"the last block must be named 'output'; got {list(blocks)}")
        self.blocks = nn.ModuleDict(blocks)

    def forward(self, x: torch.Tensor, record: dict | None = None) -> torch.Tensor:
        for name, block in self.blocks.items():
            pre, x = block(x)
            if record is not None:
                record.setdefault("pre", {})[name] = pre.flatten(1)
                record.setdefault("post", {})[name] = x.flatten(1)
        return x

    def weight_layers(self) -> dict[str, nn.Module]:
        """Every layer with weights, in forward order.

        Each block's ``layer`` under the block's name, followed by the block's
        other layers with weights (:meth:`Block.extra_weight_layers`) under
        ``"<block>.<key>"``; for a plain chain the keys are the block names.
        """
        layers: dict[str, nn.Module] = {}
        for name, block in self.blocks.items():
            layers[name] = block.layer
            layers.update({f"{name}.{key}": m for key, m in block.extra_weight_layers().items()})
        return layers


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid,
}
