"""The seven image augmentations of Aithal et al. 2021 (team Always Generalize), in PyTorch.

Each reproduces the TensorFlow operation the team's submission calls, on a
batch of images of shape (n, channels, height, width) with pixel values in
[0, 1] (the submission's input range): ``tf.image.flip_left_right``,
``tf.image.random_saturation``, ``tf.image.central_crop`` followed by
``tf.image.resize_with_pad``, ``tf.image.sobel_edges``,
``tf.image.adjust_brightness`` and the team's random erasing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _check_images(x: torch.Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (n, channels, height, width); got {tuple(x.shape)}")


def flip_left_right(x: torch.Tensor) -> torch.Tensor:
    """Mirror the columns: ``out[..., w] = x[..., W - 1 - w]``; shape (n, C, H, W) kept."""
    _check_images(x)
    return x.flip(-1)


def adjust_saturation(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Scale the HSV saturation of RGB images by ``factor``, clipped to [0, 1] (``tf.image.adjust_saturation``).

    Hue and value are kept, so every channel moves away from (or towards)
    the pixel's maximum: ``out = V - r * (V - x)`` with ``V`` the channel
    maximum, ``S = (V - min) / V`` and ``r = min(factor, 1 / S)`` (pixels
    with ``S = 0`` or ``V <= 0`` are unchanged). One-channel images are
    returned unchanged: the submission converts them to RGB and back, where
    saturation is zero (up to TensorFlow's grey weights summing to 0.9999).

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W), C in {1, 3}, values in [0, 1]
    factor : float (>= 0)

    Raises
    ------
    ValueError
        If ``C`` is not 1 or 3, or ``factor`` is negative.
    """
    import torch

    _check_images(x)
    if factor < 0:
        raise ValueError(f"saturation factor must be >= 0; got {factor}")
    if x.shape[1] == 1:
        return x.clone()
    if x.shape[1] != 3:
        raise ValueError(f"saturation needs RGB (3 channels) or grey (1 channel) images; got {x.shape[1]} channels")
    v = x.amax(dim=1, keepdim=True)
    spread = v - x.amin(dim=1, keepdim=True)
    positive = (v > 0) & (spread > 0)
    s = torch.where(positive, spread / torch.where(positive, v, torch.ones_like(v)), torch.zeros_like(v))
    ratio = torch.where(positive, torch.clamp(1.0 / torch.where(positive, s, torch.ones_like(s)), max=factor),
                        torch.ones_like(s))
    return v - ratio * (v - x)


def central_crop_resize(x: torch.Tensor, fraction: float = 0.9) -> torch.Tensor:
    """Keep the central ``fraction`` of each side, then resize back with padding to the original size.

    ``tf.image.central_crop``: ``start = int((H - H * fraction) / 2)`` rows
    (likewise columns) are cut on each side. ``tf.image.resize_with_pad``:
    the crop is resized bilinearly (half-pixel centres, no antialiasing) by
    ``1 / max(h / H, w / W)`` to ``floor`` of its scaled sides and placed
    ``floor`` of half the leftover from the top-left corner, zeros around.

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
    fraction : float in (0, 1]

    Returns
    -------
    Tensor of shape (n, C, H, W)

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1].
    """
    import torch.nn.functional as F

    _check_images(x)
    if not 0 < fraction <= 1:
        raise ValueError(f"crop fraction must be in (0, 1]; got {fraction}")
    H, W = x.shape[-2:]
    top, left = int((H - H * fraction) / 2), int((W - W * fraction) / 2)
    crop = x[..., top:H - top, left:W - left]
    h, w = crop.shape[-2:]
    ratio = max(w / W, h / H)
    rh, rw = math.floor(h / ratio), math.floor(w / ratio)
    resized = F.interpolate(crop, size=(rh, rw), mode="bilinear", align_corners=False)
    pt, pl = max(0, math.floor((H - h / ratio) / 2)), max(0, math.floor((W - w / ratio) / 2))
    out = x.new_zeros(x.shape)
    out[..., pt:pt + rh, pl:pl + rw] = resized
    return out


def sobel_dx(x: torch.Tensor) -> torch.Tensor:
    """Horizontal Sobel response, per channel, mapped to ``dx / 4 + 0.5`` (the submission's fourth augmentation).

    ``tf.image.sobel_edges(x)[..., 1]``: cross-correlation with
    ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` after reflect padding (edge
    pixels not repeated) of one pixel. Shape (n, C, H, W) kept; H, W >= 2.
    """
    import torch
    import torch.nn.functional as F

    _check_images(x)
    kernel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype)
    channels = x.shape[1]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    dx = F.conv2d(padded, kernel.expand(channels, 1, 3, 3).contiguous(), groups=channels)
    return dx / 4.0 + 0.5


def adjust_brightness(x: torch.Tensor, delta: float = 0.5) -> torch.Tensor:
    """``x + delta`` on every pixel, unclipped (``tf.image.adjust_brightness`` on float images)."""
    _check_images(x)
    return x + delta


def random_erase(x: torch.Tensor, rng: np.random.Generator, sl: float = 0.02, sh: float = 0.4,
                 r1: float = 0.3) -> torch.Tensor:
    """Set one random rectangle of every image to 0 (black), the submission's ``random_erase_np_v2``.

    Per image, with ``A = H * W``: ``lo = round(sqrt(sl * A * r1))``,
    ``hi = round(sqrt(sh * A / r1))``; the rectangle's height is drawn from
    ``[lo, min(hi, H))`` and its width from ``[lo, min(hi, W))``, its top row
    from ``[0, H - height)`` and left column from ``[0, W - width)``
    (all uniform integers, upper bounds excluded), in that order.

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
    rng : numpy Generator
    sl, sh, r1 : float
        Area bounds (fractions of ``A``) and aspect parameter of the submission.

    Returns
    -------
    Tensor of shape (n, C, H, W)

    Raises
    ------
    ValueError
        If the images are too small for the bounds (``min(hi, side) <= lo``).
    """
    _check_images(x)
    H, W = x.shape[-2:]
    lo = int(np.round(np.sqrt(sl * H * W * r1)))
    hi = int(np.round(np.sqrt(sh * H * W / r1)))
    if min(hi, H) <= lo or min(hi, W) <= lo:
        raise ValueError(f"images of {H}x{W} pixels are too small to erase rectangles of side >= {lo}")
    out = x.clone()
    for img in out:
        h, w = int(rng.integers(lo, min(hi, H))), int(rng.integers(lo, min(hi, W)))
        top, left = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
        img[:, top:top + h, left:left + w] = 0.0
    return out
