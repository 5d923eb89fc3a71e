"""``resnet``: torchvision's ResNet-18 adapted to 32x32 inputs, as a chain of blocks."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from models.architectures import Block, ModelParams, Network, register_model


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


class ResNetParams(ModelParams):
    """``resnet``: a CIFAR-style ResNet of basic blocks (ResNet-18 by default).

    Attributes
    ----------
    width : int
        Channels of the stem and the first stage; stage ``s`` has ``width * 2**s`` (64: ResNet-18).
    blocks_per_stage : tuple of int
        Basic blocks in each stage ((2, 2, 2, 2): ResNet-18; (1, 1, 1, 1) is a ResNet-10).
    """

    width: int = Field(64, ge=1)
    blocks_per_stage: tuple[Annotated[int, Field(ge=1)], ...] = Field((2, 2, 2, 2), min_length=1, max_length=6)


@register_model(params=ResNetParams, paper="He et al. CVPR 2016 (torchvision resnet18, 3x3 stem for 32x32 inputs)",
                input_ndims=(3,))
def resnet(params: ResNetParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """torchvision's ``resnet18`` (He et al. 2016) adapted to 32x32 inputs.

    As torchvision's, except the stem: a 3x3 convolution with stride 1 and no
    max pool, instead of a 7x7 convolution with stride 2 and a max pool (the
    usual CIFAR adaptation). Blocks: ``conv1`` (conv 3x3 -> BN -> ReLU), one
    :class:`ResidualBlock` per basic block named after torchvision's modules
    (``layer1_0``, ``layer1_1``, ... ``layer4_1``; stages after the first
    start with stride 2), the last of them followed by global average pooling,
    and ``output`` (linear). Initialisation as torchvision's: Kaiming normal
    (fan out, ReLU) for convolutions, batch norm weight 1 and bias 0, the
    default for the linear layer.

    ``record`` keys are the block names; :meth:`Network.weight_layers` adds
    each residual block's ``conv2`` and ``shortcut`` convolutions.
    """
    c_in, width = input_shape[0], params.width
    blocks: dict[str, Block] = {
        "conv1": Block(nn.Conv2d(c_in, width, 3, padding=1, bias=False),
                       nn.Sequential(nn.BatchNorm2d(width), nn.ReLU())),
    }
    c = width
    for s, n_blocks in enumerate(params.blocks_per_stage):
        c_out = width * 2 ** s
        for i in range(n_blocks):
            last = s == len(params.blocks_per_stage) - 1 and i == n_blocks - 1
            post = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1)) if last else nn.ReLU()
            blocks[f"layer{s + 1}_{i}"] = ResidualBlock(c, c_out, 2 if s > 0 and i == 0 else 1, post)
            c = c_out
    blocks["output"] = Block(nn.Linear(c, n_classes), flatten_input=True)
    net = Network(blocks)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net
