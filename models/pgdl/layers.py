"""Keras's ``padding="same"`` in PyTorch: TensorFlow pads the odd pixel after (bottom, right), PyTorch symmetrically.

For ``n`` input pixels, kernel ``k`` and stride ``s``, TensorFlow's output has
``ceil(n / s)`` pixels and ``total = max((ceil(n / s) - 1) s + k - n, 0)`` pixels
of padding, ``total // 2`` before and the rest after: a 3x3 convolution with
stride 2 on 32 pixels pads (0, 1), which no ``nn.Conv2d(padding=...)`` can.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``padding="same"`` along one axis: (before, after).

    ``out = ceil(size / stride)``, ``total = max((out - 1) * stride + kernel - size, 0)``,
    ``before = total // 2``, ``after = total - before``.
    """
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class KerasConv2d(nn.Conv2d):
    """``nn.Conv2d`` with Keras's ``padding="same"`` (asymmetric where TensorFlow pads asymmetrically)."""

    def __init__(self, *args, same: bool = False, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        self.same = same

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            (top, bottom), (left, right) = (same_padding(n, k, s) for n, k, s in
                                            zip(x.shape[-2:], self.kernel_size, self.stride))
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", padding=same (Keras)" if self.same else "")


class KerasMaxPool2d(nn.Module):
    """Keras's ``MaxPooling2D(padding="same")``: padded with -inf as TensorFlow pads."""

    def __init__(self, pool: tuple[int, int], stride: tuple[int, int]):
        super().__init__()
        self.pool, self.stride = pool, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = (same_padding(n, k, s) for n, k, s in zip(x.shape[-2:], self.pool, self.stride))
        return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=-torch.inf), self.pool, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.pool}, stride={self.stride}, padding=same (Keras)"
