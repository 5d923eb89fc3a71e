"""``vgg``: the VGG-like family of the PGDL competition's task 1 (CIFAR-10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from models.architectures import ModelParams, register_model

if TYPE_CHECKING:
    from torch import nn

    from models._network import Block, Network


class VGGParams(ModelParams):
    """``vgg``: conv blocks of 3x3 convolutions, max pooling, dense layers.

    Attributes
    ----------
    conv_blocks : int
        Number of conv blocks (PGDL task 1: 1 or 3).
    convs_per_block : int
        3x3 convolutions per block (VGG's two).
    last_filters : int
        Filters of the last block (PGDL: 256 or 512); each earlier block has
        half the filters of the next, so 3 blocks ending at 512 have
        128, 256, 512.
    dense_layers : int
        Dense layers after the convolutions, the classifier included (PGDL:
        1 or 2): 1 is the classifier alone, 2 adds one hidden layer of
        ``dense_width`` units.
    dense_width : int
        Units of each hidden dense layer.
    dropout : float in [0, 1)
        Dropout after every conv block and every hidden dense layer (PGDL: 0 or 0.5).
    batch_norm : bool
        Batch norm after every convolution and hidden dense layer (convolutions then have no bias).
    """

    conv_blocks: int = Field(3, ge=1, le=6)
    convs_per_block: int = Field(2, ge=1, le=8)
    last_filters: int = Field(512, ge=1)
    dense_layers: int = Field(2, ge=1, le=4)
    dense_width: int = Field(512, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    batch_norm: bool = False

    @model_validator(mode="after")
    def _filters_halve(self) -> "VGGParams":
        if self.last_filters % 2 ** (self.conv_blocks - 1):
            raise ValueError(f"last_filters must be divisible by 2**(conv_blocks - 1) = {2 ** (self.conv_blocks - 1)} "
                             f"so that filters halve block by block; got last_filters={self.last_filters}")
        return self


def _post(bn: type[nn.Module] | None, channels: int, *tail: nn.Module) -> nn.Sequential:
    from torch import nn

    return nn.Sequential(*([bn(channels)] if bn else []), nn.ReLU(), *tail)


@register_model(params=VGGParams, paper="Jiang et al. 2020, NeurIPS 2020 competition PGDL, task 1 (VGG-like)",
                input_ndims=(3,))
def vgg(params: VGGParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """VGG-like network of the PGDL competition's task 1 (Jiang et al. 2020, arXiv 2012.07976).

    ``conv_blocks`` blocks, each ``convs_per_block`` x (conv 3x3, padding 1 ->
    [BN] -> ReLU) and a 2x2 max pool closing the block, then [Dropout]; the
    filters double from block to block up to ``last_filters``. Then
    ``dense_layers - 1`` hidden dense layers (linear -> [BN] -> ReLU ->
    [Dropout]) and the linear classifier. Blocks are named ``conv1`` ...
    (one per convolution), ``fc1`` ... and ``output``.

    The PGDL files describe each model as a Keras layer list; the hyperparameter
    grid (conv blocks {1, 3}, last filters {256, 512}, dropout {0, 0.5}, dense
    layers {1, 2}) maps onto these params, and widths not fixed by the grid
    (``convs_per_block``, ``dense_width``) are params so that a model's
    ``config.json`` can be matched. The per-block layout and the place of the
    dropout layers follow the VGG convention; check them against a model's
    ``config.json`` before reproducing a particular PGDL model.

    Raises
    ------
    ValueError
        If the input is smaller than ``2**conv_blocks`` pixels on a side.
    """
    from torch import nn

    from models._network import Block, Network

    c, h, w = input_shape
    side = 2 ** params.conv_blocks
    if min(h, w) < side:
        raise ValueError(f"vgg with {params.conv_blocks} conv blocks halves the input {params.conv_blocks} times: "
                         f"it needs at least {side}x{side} pixels; got {tuple(input_shape)}")
    bn2d = nn.BatchNorm2d if params.batch_norm else None
    bn1d = nn.BatchNorm1d if params.batch_norm else None

    def drop() -> list[nn.Module]:
        return [nn.Dropout(params.dropout)] if params.dropout else []

    blocks: dict[str, Block] = {}
    for b in range(params.conv_blocks):
        width = params.last_filters // 2 ** (params.conv_blocks - 1 - b)
        for k in range(params.convs_per_block):
            tail = [nn.MaxPool2d(2), *drop()] if k == params.convs_per_block - 1 else []
            conv = nn.Conv2d(c, width, 3, padding=1, bias=not params.batch_norm)
            blocks[f"conv{len(blocks) + 1}"] = Block(conv, _post(bn2d, width, *tail))
            c = width
        h, w = h // 2, w // 2
    n_in = c * h * w
    for i in range(params.dense_layers - 1):
        blocks[f"fc{i + 1}"] = Block(nn.Linear(n_in, params.dense_width, bias=not params.batch_norm),
                                     _post(bn1d, params.dense_width, *drop()), flatten_input=i == 0)
        n_in = params.dense_width
    blocks["output"] = Block(nn.Linear(n_in, n_classes), flatten_input=params.dense_layers == 1)
    return Network(blocks)
