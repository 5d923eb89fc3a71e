"""The residual block of :mod:`models.zoo.resnet` (torch), imported when a ResNet is built."""

from __future__ import annotations

import torch
from torch import nn

from models._network import Block


class ResidualBlock(Block):
    """A ResNet basic block as one :class:`~models.architectures.Block`.

    ``pre = bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)`` and ``post = post_module(pre)``
    (a ReLU, followed by global average pooling in the last block).

    The Block contract asks for one layer with weights: ``layer`` is the
    block's first convolution ``conv1``. A residual block has no single layer
    whose output is its pre-activation, so ``pre`` is the block's output
    before its final ReLU (the sum of the residual branch and the shortcut):
    the same neurons as ``post``, one value per channel and position. The
    other convolutions, ``conv2`` and the 1x1 projection ``shortcut`` (present
    when the block changes resolution or width), are reported by
    :meth:`extra_weight_layers`, so :meth:`Network.weight_layers` lists them as
    ``"<block>.conv2"`` and ``"<block>.shortcut"`` after ``"<block>"`` (conv1).

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    stride : int
        Stride of ``conv1`` and of the shortcut projection.
    post : nn.Module
        Applied to ``pre``.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, post: nn.Module):
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), post)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.bn1(self.layer(x)))
        pre = self.bn2(self.conv2(h)) + (x if self.shortcut is None else self.shortcut(x))
        return pre, self.post(pre)

    def extra_weight_layers(self) -> dict[str, nn.Module]:
        layers: dict[str, nn.Module] = {"conv2": self.conv2}
        if self.shortcut is not None:
            layers["shortcut"] = self.shortcut[0]
        return layers
