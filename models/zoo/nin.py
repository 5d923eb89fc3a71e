"""``nin``: the Network-in-Network family of the PGDL competition's task 2 (SVHN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from models.architectures import ModelParams, register_model

if TYPE_CHECKING:
    from torch import nn

    from models._network import Block, Network


class NiNParams(ModelParams):
    """``nin``: groups of one 3x3 and two 1x1 convolutions, global average pooling.

    Attributes
    ----------
    conv_layers : int
        Convolutions in all, the classifier's 1x1 convolution included; a
        multiple of 3 (PGDL task 2: 6, 9 or 12).
    width : int
        Channels of every convolution but the classifier (Lin et al.'s 192).
    dropout : float in [0, 1)
        Dropout after every group but the last (PGDL: 0, 0.25 or 0.5).
    batch_norm : bool
        Batch norm after every convolution but the classifier (which keeps its bias).
    """

    conv_layers: int = Field(9, ge=3, le=30, multiple_of=3)
    width: int = Field(192, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    batch_norm: bool = True


@register_model(params=NiNParams, paper="Jiang et al. 2020, NeurIPS 2020 competition PGDL, task 2 "
                "(Network-in-Network, Lin et al. ICLR 2014)", input_ndims=(3,))
def nin(params: NiNParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """Network-in-Network of the PGDL competition's task 2 (Jiang et al. 2020; Lin et al. 2014).

    ``conv_layers / 3`` groups ("mlpconv" layers), each a 3x3 convolution
    followed by two 1x1 convolutions, every convolution -> [BN] -> ReLU, and
    [Dropout] after every group but the last. The 3x3 convolution of every
    group after the first has stride 2 (it halves the resolution; the network
    has no pooling layer). The last group's second 1x1 convolution is the
    classifier, block ``output``: it maps to ``n_classes`` channels, and global
    average pooling of those maps gives the logits. Blocks are named
    ``conv1`` ... ``conv{conv_layers - 1}`` and ``output``; the recorded
    pre-activation of ``output`` is the class maps (n_classes x h x w), its
    activation the pooled logits.
    """

    from torch import nn

    from models._network import Block, Network

    def post(*tail: nn.Module) -> nn.Sequential:
        return nn.Sequential(*([nn.BatchNorm2d(params.width)] if params.batch_norm else []), nn.ReLU(), *tail)

    c = input_shape[0]
    blocks: dict[str, Block] = {}
    n_groups = params.conv_layers // 3
    for g in range(n_groups):
        last = g == n_groups - 1
        blocks[f"conv{3 * g + 1}"] = Block(nn.Conv2d(c, params.width, 3, stride=1 if g == 0 else 2, padding=1,
                                                     bias=not params.batch_norm), post())
        blocks[f"conv{3 * g + 2}"] = Block(nn.Conv2d(params.width, params.width, 1, bias=not params.batch_norm),
                                           post())
        if not last:
            blocks[f"conv{3 * g + 3}"] = Block(nn.Conv2d(params.width, params.width, 1, bias=not params.batch_norm),
                                               post(*([nn.Dropout(params.dropout)] if params.dropout else [])))
        c = params.width
    blocks["output"] = Block(nn.Conv2d(params.width, n_classes, 1),
                             nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    return Network(blocks)
