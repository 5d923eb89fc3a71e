"""PGDL Always Generalize: scoring by hand, a constructed network in closed form, standardised inputs."""

import numpy as np
import pytest
import torch
from torch import nn

from measures.pgdl.always_generalize import (
    AUGMENTATIONS,
    AlwaysGeneralizeParams,
    always_generalize,
    augmentation_scores,
)
from measures.registry import get_measure
from models.architectures import Block, Network


def linear_network(weight, bias):
    fc = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        fc.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        fc.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return Network({"output": Block(fc, flatten_input=True)}).eval()


def rows_of(result):
    return {stat: value for layer, stat, value in result.rows if layer == "all"}


def test_scores_by_hand():
    p = np.array([[0.7, 0.3], [0.4, 0.6]])
    aug1 = np.array([[0.6, 0.4], [0.55, 0.45]])  # sample 0 keeps class 0 (|0.7 - 0.6|); sample 1 flips
    aug2 = np.array([[0.2, 0.8], [0.1, 0.9]])  # sample 0 flips; sample 1 keeps class 1 (|0.6 - 0.9|)
    np.testing.assert_allclose(augmentation_scores(p, [aug1, aug2], (5.0, 7.0)), [0.1 + 7.0, 5.0 + 0.3])


def test_left_right_network_in_closed_form():
    # Grey 32x32 images, left half 1 and right half 0; logits (sum(left) - sum(right), -1). Original: logit 512,
    # confidence 1. Flip (penalty 6) and flip + saturation (12) move the mass right: the class changes. Saturation
    # leaves grey images unchanged; brightness adds the same to both halves; the crop stays symmetric with the
    # bright half on the left and erasing removes at most 31 x 16 < 512 left pixels: class kept, confidence ~1.
    # Sobel: columns 15 and 16 hold -0.5, all others 0.5, so both half sums are 224: logits (0, -1), class kept
    # with confidence sigmoid(1). Score per sample: 6 + 12 + 1 - sigmoid(1).
    w = np.zeros((2, 1024))
    w[0] = np.where(np.arange(1024) % 32 < 16, 1.0, -1.0)
    model = linear_network(w, [0.0, -1.0])
    x = torch.zeros(5, 1, 32, 32)
    x[..., :16] = 1.0
    got = rows_of(always_generalize(AlwaysGeneralizeParams(batch_size=2), model=model, inputs={"train": x}))
    assert got["augmentation_penalty"] == pytest.approx(18 + 1 - 1 / (1 + np.exp(-1)), abs=1e-6)
    assert {a: got[f"flip_rate_{a}"] for a in AUGMENTATIONS} == {
        "flip": 1.0, "saturation": 0.0, "crop": 0.0, "sobel": 0.0, "brightness": 0.0, "flip_saturation": 1.0,
        "erase": 0.0}


def test_constant_network_scores_zero():
    model = linear_network(np.zeros((3, 3 * 8 * 8)), [0.0, 1.0, 0.0])
    got = rows_of(get_measure("always_generalize")(AlwaysGeneralizeParams(), model=model,
                                                   inputs={"train": torch.rand(6, 3, 8, 8)}))
    assert got["augmentation_penalty"] == 0.0 and all(got[f"flip_rate_{a}"] == 0.0 for a in AUGMENTATIONS)


def test_standardised_inputs_are_mapped_back_to_pixels():
    # A network on pixels and the same network on standardised pixels (weights folded: W' = W std, b' = b + W mean)
    # must score alike when the measure is told the standardisation; the seed fixes the random augmentations.
    rng = np.random.default_rng(0)
    mean, std = np.array([0.4, 0.5, 0.6]), np.array([0.2, 0.25, 0.3])
    pixels = torch.from_numpy(rng.uniform(0, 1, (9, 3, 8, 8)).astype(np.float32))
    w, b = rng.standard_normal((4, 192)) * 0.2, rng.standard_normal(4)
    per_input_mean, per_input_std = np.repeat(mean, 64), np.repeat(std, 64)
    on_pixels = linear_network(w, b)
    on_standardised = linear_network(w * per_input_std, b + w @ per_input_mean)
    standardised = (pixels - torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)) / \
        torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    want = rows_of(always_generalize(AlwaysGeneralizeParams(batch_size=4, seed=3), model=on_pixels,
                                     inputs={"train": pixels}))
    params = AlwaysGeneralizeParams(batch_size=4, seed=3, pixel_mean=tuple(mean), pixel_std=tuple(std))
    got = rows_of(always_generalize(params, model=on_standardised, inputs={"train": standardised}))
    assert got == pytest.approx(want, abs=1e-5)
    assert want["augmentation_penalty"] > 0


def test_bad_inputs():
    model = linear_network(np.zeros((2, 16)), [0.0, 0.0])
    with pytest.raises(ValueError, match="C in"):
        always_generalize(AlwaysGeneralizeParams(), model=model, inputs={"train": torch.rand(2, 16)})
    with pytest.raises(ValueError, match="pixel_mean has 3 values for 1 channels"):
        always_generalize(AlwaysGeneralizeParams(pixel_mean=(0.1, 0.2, 0.3), pixel_std=(1.0, 1.0, 1.0)),
                          model=model, inputs={"train": torch.rand(2, 1, 4, 4)})
    with pytest.raises(ValueError, match="7 non-negative numbers"):
        AlwaysGeneralizeParams(penalties=(1.0, 2.0))
    with pytest.raises(ValueError, match="both pixel_mean and pixel_std"):
        AlwaysGeneralizeParams(pixel_mean=(0.5,))
