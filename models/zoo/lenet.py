"""``lenet``: the LeNet that Corneanu et al. (CVPR 2019, 2020) train on MNIST."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from models.architectures import ModelParams, register_model

if TYPE_CHECKING:
    from torch import nn

    from models._network import Network


class LeNetParams(ModelParams):
    """``lenet``: two 5x5 conv blocks, one hidden dense layer, the classifier.

    Attributes
    ----------
    conv1_filters, conv2_filters : int
        Channels of the two convolutions (10 and 20 in Corneanu et al.'s code).
    fc_units : int
        Units of the hidden dense layer ``fc1`` (50).
    dropout : float in [0, 1)
        Channel dropout (``Dropout2d``) on conv2's output (0.5).
    padding : {"auto", "valid", "same"}
        ``"valid"`` (no padding) is the paper's network on 28x28 and 32x32
        inputs; ``"same"`` pads the 5x5 convolutions by 2 so that small inputs
        such as 8x8 digits fit; ``"auto"`` picks ``"valid"`` when the input's
        smaller side is at least 16 pixels and ``"same"`` otherwise.
    """

    conv1_filters: int = Field(10, ge=1)
    conv2_filters: int = Field(20, ge=1)
    fc_units: int = Field(50, ge=1)
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    padding: Literal["auto", "valid", "same"] = "auto"


@register_model(params=LeNetParams, paper="Corneanu et al. CVPR 2019/2020 (dnn-topology LeNet)",
                input_ndims=(3,))
def lenet(params: LeNetParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """LeNet of Corneanu et al. CVPR 2019, *What does it mean to learn in deep networks?*.

    The network of their public code (``models/lenet.py``, the PyTorch MNIST
    example, smaller than LeCun's LeNet-5 with 6/16/120/84 units), as four
    blocks whose outputs are the layers the paper builds functional graphs on:

    - ``conv1``: conv 5x5 (C -> 10) -> max pool 2 -> ReLU
    - ``conv2``: conv 5x5 (10 -> 20) -> Dropout2d(0.5) -> max pool 2 -> ReLU
    - ``fc1``: linear (20 * h * w -> 50) -> ReLU
    - ``output``: linear (50 -> n_classes)

    On 1x28x28 inputs ``fc1`` has 320 inputs and on 32x32 inputs 500, as in
    the paper's code. Max pooling and ReLU commute, so the order of the code
    (pool, then ReLU) is kept. Inputs ``(C, H, W)`` with any ``C``; small
    inputs (e.g. 1x8x8 digits) get "same" padding (see :class:`LeNetParams`).

    Raises
    ------
    ValueError
        If the input is too small for two conv + pool stages (under 4x4 with
        "same" padding, under 16x16 with "valid").
    """
    from torch import nn

    from models._network import Block, Network

    c, h, w = input_shape
    padding = params.padding if params.padding != "auto" else ("valid" if min(h, w) >= 16 else "same")
    pad = 2 if padding == "same" else 0
    for _ in range(2):  # two conv 5x5 + max pool 2 stages
        h, w = (h + 2 * pad - 4) // 2, (w + 2 * pad - 4) // 2
    if min(h, w) < 1:
        raise ValueError(f"lenet with {padding!r} padding needs inputs of at least "
                         f"{16 if pad == 0 else 4}x{16 if pad == 0 else 4} pixels; got {tuple(input_shape)}")
    conv2_post: list[nn.Module] = [nn.Dropout2d(params.dropout)] if params.dropout else []
    blocks = {
        "conv1": Block(nn.Conv2d(c, params.conv1_filters, 5, padding=pad), nn.Sequential(nn.MaxPool2d(2), nn.ReLU())),
        "conv2": Block(nn.Conv2d(params.conv1_filters, params.conv2_filters, 5, padding=pad),
                       nn.Sequential(*conv2_post, nn.MaxPool2d(2), nn.ReLU())),
        "fc1": Block(nn.Linear(params.conv2_filters * h * w, params.fc_units), nn.ReLU(), flatten_input=True),
        "output": Block(nn.Linear(params.fc_units, n_classes)),
    }
    return Network(blocks)
