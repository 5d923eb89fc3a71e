"""The Always Generalize augmentations against colorsys, scipy.ndimage and closed forms."""

import colorsys

import numpy as np
import pytest
import torch
from scipy import ndimage

from measures.pgdl import augmentations as aug


def test_flip_and_brightness():
    x = torch.arange(6, dtype=torch.float32).view(1, 1, 2, 3)
    np.testing.assert_array_equal(aug.flip_left_right(x)[0, 0], [[2, 1, 0], [5, 4, 3]])
    np.testing.assert_array_equal(aug.adjust_brightness(x, 0.5), x + 0.5)  # no clipping above 1


@pytest.mark.parametrize("factor", [0.0, 0.6, 1.3, 4.0])
def test_saturation_matches_colorsys(factor):
    # Reference: the standard library's HSV conversion, saturation scaled and clipped to [0, 1].
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2, 3, 4, 5)).astype(np.float32)
    x[0, :, 0, 0] = 0.5  # a grey pixel (saturation 0)
    x[1, :, 0, 0] = 0.0  # a black pixel
    want = np.empty_like(x)
    for n, i, j in np.ndindex(2, 4, 5):
        h, s, v = colorsys.rgb_to_hsv(*x[n, :, i, j])
        want[n, :, i, j] = colorsys.hsv_to_rgb(h, min(1.0, s * factor), v)
    np.testing.assert_allclose(aug.adjust_saturation(torch.from_numpy(x), factor), want, atol=1e-6)


def test_saturation_channels():
    grey = torch.rand(2, 1, 3, 3)
    torch.testing.assert_close(aug.adjust_saturation(grey, 1.5), grey)
    with pytest.raises(ValueError, match="3 channels"):
        aug.adjust_saturation(torch.rand(1, 2, 3, 3), 1.5)


def test_central_crop_resize_closed_form():
    # 20x20 column ramp (value = column): crop fraction 0.9 cuts int((20 - 18) / 2) = 1 pixel per side, leaving
    # columns 1..18; bilinear resizing 18 -> 20 with half-pixel centres samples source column 0.9 j - 0.05,
    # clamped to [0, 17], so output column j holds 1 + clip(0.9 j - 0.05, 0, 17) on every row.
    x = torch.arange(20, dtype=torch.float32).expand(1, 1, 20, 20).contiguous()
    j = np.arange(20)
    want = np.broadcast_to(1 + np.clip(0.9 * j - 0.05, 0, 17), (20, 20))
    np.testing.assert_allclose(aug.central_crop_resize(x, 0.9)[0, 0], want, atol=1e-5)


def test_central_crop_resize_pads_non_square():
    # 10x20: crop int((10-9)/2)=0 rows, int((20-18)/2)=1 column per side -> 10x18; ratio max(18/20, 10/10) = 1:
    # kept at 10x18, placed floor((20 - 18) / 2) = 1 column from the left, zero columns 0 and 19.
    x = torch.rand(1, 2, 10, 20)
    out = aug.central_crop_resize(x, 0.9)
    torch.testing.assert_close(out[..., 1:19], x[..., 1:19])
    assert out[..., [0, 19]].abs().sum() == 0


def test_sobel_matches_scipy():
    # Reference: scipy's correlation with mirror boundary (edge pixel not repeated), as TensorFlow's REFLECT.
    x = np.random.default_rng(1).uniform(0, 1, (2, 3, 6, 7)).astype(np.float32)
    kernel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    want = np.stack([np.stack([ndimage.correlate(x[n, c].astype(np.float64), kernel, mode="mirror")
                               for c in range(3)]) for n in range(2)]) / 4 + 0.5
    np.testing.assert_allclose(aug.sobel_dx(torch.from_numpy(x)), want, atol=1e-5)


def test_random_erase_one_rectangle_within_bounds():
    x = torch.ones(20, 3, 32, 32)
    out = aug.random_erase(x, np.random.default_rng(0))
    lo, hi = 2, 32  # round(sqrt(0.02 * 1024 * 0.3)) = 2, min(round(sqrt(0.4 * 1024 / 0.3)) = 37, 32)
    for img in out:
        rows, cols = np.nonzero((img == 0).all(dim=0).numpy())
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert lo <= h < hi and lo <= w < hi
        assert (img == 0).sum() == 3 * h * w  # a full rectangle, every channel, nothing else
    torch.testing.assert_close(out, aug.random_erase(x, np.random.default_rng(0)))  # seeded
    with pytest.raises(ValueError, match="too small"):
        # lo = round(sqrt(0.02 * 100 * 0.3)) = 1 = min(hi, H = 1): no room for a height
        aug.random_erase(torch.ones(1, 1, 1, 100), np.random.default_rng(0))
