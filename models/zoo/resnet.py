"""``resnet``: torchvision's ResNet-18 adapted to 32x32 inputs, as a chain of blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from models.architectures import ModelParams, register_model

if TYPE_CHECKING:
    from models._network import Block, Network


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
    from torch import nn

    from models._network import Block, Network
    from models.zoo._resnet_blocks import ResidualBlock

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


def __getattr__(name: str):
    """:class:`ResidualBlock` lives in :mod:`models.zoo._resnet_blocks` (torch), imported when asked for."""
    if name == "ResidualBlock":
        from models.zoo._resnet_blocks import ResidualBlock

        return ResidualBlock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
