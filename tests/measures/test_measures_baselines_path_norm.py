"""Jiang et al. 2020 path norm (Eqs. 43-44): hand-computed values, batch-norm folding, rescaling invariance."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from measures.baselines.margin import percentile_margin
from measures.baselines.path_norm import PathNormParams, path_norm, path_norm_measures
from models.architectures import Block, Network

W1 = [[1.0, -2.0], [0.0, 3.0], [-1.0, 1.0]]
B1 = [1.0, -1.0, 2.0]
W2 = [[2.0, 0.0, -1.0], [1.0, 1.0, 1.0]]
B2 = [0.5, -1.0]


def two_layer(w1, b1, w2, b2, hidden_post=None):
    """A 2 -> 3 -> 2 ReLU network (float64) with the given weights and biases."""
    fc, out = nn.Linear(2, 3).double(), nn.Linear(3, 2).double()
    with torch.no_grad():
        for p, v in ((fc.weight, w1), (fc.bias, b1), (out.weight, w2), (out.bias, b2)):
            p.copy_(torch.as_tensor(np.asarray(v, dtype=np.float64)))
    post = hidden_post if hidden_post is not None else nn.ReLU()
    return Network({"fc1": Block(fc, post), "output": Block(out)}).eval()


def test_path_norm_by_hand():
    # squared weights on an all-ones input: hidden (W1^2) 1 + b1^2 = [5, 9, 2] + [1, 1, 4] = [6, 10, 6];
    # output (W2^2) [6, 10, 6] + b2^2 = [24 + 6, 6 + 10 + 6] + [0.25, 1] = [30.25, 23]; sum 53.25
    assert path_norm(two_layer(W1, B1, W2, B2), (2,)) == pytest.approx(53.25, rel=1e-12)


def test_path_norm_measures_rows():
    model = two_layer(W1, B1, W2, B2)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((40, 2)) + np.array([2.0, 0.0])
    y = np.zeros(40, dtype=np.int64)
    gamma = percentile_margin(z, y)
    got = {s: v for _, s, v in path_norm_measures(PathNormParams(), model=model, data=SimpleNamespace(input_shape=(2,)),
                                                  logits={"train": z}, labels={"train": y}).rows}
    assert got == pytest.approx({"path_norm": 53.25, "path_norm_over_margin": 53.25 / gamma**2})  # Eqs. 44, 43


def test_batch_norm_is_folded_before_squaring():
    # batch norm y = g (z - mu) / sqrt(v + eps) + b on the hidden layer, folded by hand
    g, b, mu, v = np.array([2.0, 0.5, 1.0]), np.array([0.1, -0.3, 0.2]), np.array([1.0, 0.0, -2.0]), np.array([4.0, 1.0, 0.25])
    bn = nn.BatchNorm1d(3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(g)), bn.bias.copy_(torch.from_numpy(b))
        bn.running_mean.copy_(torch.from_numpy(mu)), bn.running_var.copy_(torch.from_numpy(v))
    model = two_layer(W1, B1, W2, B2, nn.Sequential(bn, nn.ReLU()))
    s = g / np.sqrt(v + bn.eps)
    w1 = np.asarray(W1) * s[:, None]
    b1 = s * (np.asarray(B1) - mu) + b
    hidden = (w1**2).sum(1) + b1**2
    want = float(((np.asarray(W2) ** 2) @ hidden + np.asarray(B2) ** 2).sum())
    assert path_norm(model, (2,)) == pytest.approx(want, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.05, 20.0), seed=st.integers(0, 2**16))
def test_rescaling_a_relu_layer_leaves_path_norm_margin_and_function_unchanged(c, seed):
    rng = np.random.default_rng(seed)
    w1, b1, w2, b2 = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal((2, 3)), rng.standard_normal(2)
    model = two_layer(w1, b1, w2, b2)
    # ReLU is positively homogeneous: relu(c z) / c = relu(z) for c > 0
    scaled = two_layer(c * w1, c * b1, w2 / c, b2)
    x = torch.from_numpy(rng.standard_normal((30, 2)))
    y = rng.integers(0, 2, 30)
    with torch.no_grad():
        f, g = model(x).numpy(), scaled(x).numpy()
    np.testing.assert_allclose(g, f, rtol=1e-9, atol=1e-12)
    assert percentile_margin(g, y) == pytest.approx(percentile_margin(f, y), rel=1e-9, abs=1e-12)
    assert path_norm(scaled, (2,)) == pytest.approx(path_norm(model, (2,)), rel=1e-9)
