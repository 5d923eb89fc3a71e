"""Jiang et al. 2020 baselines: margin against numpy, norm measures against closed forms, batch-norm folding."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from functional.batchnorm_folding import fold_batch_norm, layer_weights, network_weights
from measures.baselines.margin import MarginParams, output_margin, output_margins, percentile_margin
from measures.baselines.norms import NormParams, norm_measures
from measures.registry import get_measure
from models.architectures import Block, Network


def with_singular_values(s, m, n, seed=0):
    """An (m, n) matrix U diag(s) V^T with random orthonormal U, V (its singular values are exactly s)."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((m, len(s))))[0]
    V = np.linalg.qr(rng.standard_normal((n, len(s))))[0]
    return U @ np.diag(s) @ V.T


def linear_network(weights):
    """A bias-free ReLU network whose Linear layers have the given (out, in) weights; the last is 'output'."""
    blocks = {}
    for i, W in enumerate(weights):
        layer = nn.Linear(W.shape[1], W.shape[0], bias=False).double()
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(W))
        last = i == len(weights) - 1
        blocks["output" if last else f"fc{i + 1}"] = Block(layer, None if last else nn.ReLU(), flatten_input=i == 0)
    return Network(blocks).eval()


def rows(result):
    assert all(layer == "all" for layer, _, _ in result.rows)
    return {stat: value for _, stat, value in result.rows}


# -- margin ---------------------------------------------------------------------------------------


def test_margins_by_hand_and_percentile_against_numpy():
    z = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0], [2.0, 2.5, -1.0]])
    y = np.array([0, 1, 0])
    # by hand: 3 - 2, 5 - 1, 2 - 2.5 (misclassified)
    np.testing.assert_allclose(output_margins(z, y), [1.0, 4.0, -0.5])
    rng = np.random.default_rng(1)
    z = rng.standard_normal((237, 10))
    y = rng.integers(0, 10, 237)
    # reference: the true logit minus the max of the row with the true column deleted, numpy's percentile
    ref = np.array([z[i, y[i]] - np.delete(z[i], y[i]).max() for i in range(len(y))])
    assert percentile_margin(z, y) == pytest.approx(np.percentile(ref, 10), rel=1e-12)
    got = rows(output_margin(MarginParams(), logits={"train": z, "test": z[:5]}, labels={"train": y, "test": y[:5]}))
    assert got["margin"] == pytest.approx(np.percentile(ref, 10))
    assert got["inverse_margin"] == pytest.approx(1 / np.percentile(ref, 10) ** 2)  # Eq. 22


def test_margin_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels must be integers in"):
        output_margins(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="split 'train'"):
        output_margin(MarginParams(), logits={"test": np.zeros((2, 3))}, labels={"test": np.array([0, 1])})


# -- norms ----------------------------------------------------------------------------------------

SPECTRA = ([3.0, 2.0, 1.0], [2.0, 0.5], [4.0, 1.0])  # singular values of three layers 6 -> 5 -> 4 -> 3
SHAPES = ((5, 6), (4, 5), (3, 4))
DIST_SPECTRA = ([2.0, 1.0], [1.0], [0.5, 0.5])  # of W - W0


def margin_logits(gamma, n=50):
    """Logits on 3 classes whose margins are gamma + k / n, k = 0 .. n - 1 (numpy.percentile gives the 10th)."""
    margins = gamma + np.arange(n) / n
    z = np.zeros((n, 3))
    z[:, 0] = margins
    return {"train": z}, {"train": np.zeros(n, dtype=np.int64)}, float(np.percentile(margins, 10))


def test_norm_measures_match_closed_forms():
    W = [with_singular_values(s, *shape, seed=i) for i, (s, shape) in enumerate(zip(SPECTRA, SHAPES))]
    D = [with_singular_values(s, *shape, seed=10 + i) for i, (s, shape) in enumerate(zip(DIST_SPECTRA, SHAPES))]
    model = linear_network(W)
    init = {name: w - d for name, w, d in zip(model.weight_layers(), W, D)}
    logits, labels, gamma = margin_logits(0.5)
    got = rows(norm_measures(NormParams(), model=model, init_weights=init, logits=logits, labels=labels))
    # closed forms from the chosen singular values: ||W||_2^2 = s_1^2, ||W||_F^2 = sum s_i^2
    spec2 = np.array([s[0] ** 2 for s in SPECTRA])  # 9, 4, 16
    fro2 = np.array([sum(v**2 for v in s) for s in SPECTRA])  # 14, 4.25, 17
    dist_fro2 = np.array([sum(v**2 for v in s) for s in DIST_SPECTRA])  # 5, 1, 0.5
    d, g2 = 3, gamma**2
    want = {
        "num_params": 30 + 20 + 12,
        "log_prod_of_spec": math.log(9 * 4 * 16),  # Eq. 32
        "log_prod_of_spec_over_margin": math.log(9 * 4 * 16 / g2),  # Eq. 31
        "log_sum_of_spec": math.log(d * (9 * 4 * 16) ** (1 / d)),  # Eq. 35
        "log_sum_of_spec_over_margin": math.log(d * (9 * 4 * 16 / g2) ** (1 / d)),  # Eq. 34
        "fro_over_spec": 14 / 9 + 4.25 / 4 + 17 / 16,  # Eq. 33
        "log_spec_orig_main": math.log(9 * 4 * 16 / g2 * (14 / 9 + 4.25 / 4 + 17 / 16)),  # Eq. 30
        "log_spec_init_main": math.log(9 * 4 * 16 / g2 * float((dist_fro2 / spec2).sum())),  # Eq. 29
        "log_prod_of_fro": math.log(14 * 4.25 * 17),  # Eq. 37
        "log_prod_of_fro_over_margin": math.log(14 * 4.25 * 17 / g2),  # Eq. 36
        "log_sum_of_fro": math.log(d * (14 * 4.25 * 17) ** (1 / d)),  # Eq. 39
        "log_sum_of_fro_over_margin": math.log(d * (14 * 4.25 * 17 / g2) ** (1 / d)),  # Eq. 38
        "frobenius_distance": 5 + 1 + 0.5,  # Eq. 40
        "dist_spec_init": 4 + 1 + 0.25,  # Eq. 41
        "param_norm": float(fro2.sum()),  # Eq. 42
    }
    assert set(got) == set(want)
    for stat, value in want.items():
        assert got[stat] == pytest.approx(value, rel=1e-10), stat


def test_distance_from_init_is_zero_at_init_and_eq29_left_out():
    W = [with_singular_values(s, *shape, seed=i) for i, (s, shape) in enumerate(zip(SPECTRA, SHAPES))]
    model = linear_network(W)
    logits, labels, _ = margin_logits(1.0)
    got = rows(norm_measures(NormParams(), model=model, init_weights=layer_weights(model), logits=logits,
                             labels=labels))
    assert got["frobenius_distance"] == 0.0 and got["dist_spec_init"] == 0.0
    assert "log_spec_init_main" not in got  # log 0
    assert get_measure("norm_measures").higher_is_better is False


def test_zero_margin_leaves_out_the_margin_rows():
    model = linear_network([with_singular_values([1.0], 2, 3)])
    logits = {"train": np.zeros((20, 2))}
    got = rows(norm_measures(NormParams(), model=model, init_weights=layer_weights(model), logits=logits,
                             labels={"train": np.zeros(20, dtype=np.int64)}))
    assert "log_prod_of_spec" in got and not any("margin" in s for s in got)


# -- batch-norm folding ---------------------------------------------------------------------------


def bn_network(conv: bool):
    torch.manual_seed(0)
    if conv:
        layer, bn, head = nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.Linear(4 * 5 * 5, 3)
    else:
        layer, bn, head = nn.Linear(6, 4), nn.BatchNorm1d(4), nn.Linear(4, 3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0), bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.2, 3.0)
    net = Network({"h": Block(layer, nn.Sequential(bn, nn.ReLU())), "output": Block(head, flatten_input=True)})
    return net.eval(), layer, bn


@pytest.mark.parametrize("conv", [False, True])
def test_folding_keeps_the_function_and_scales_rows(conv):
    model, layer, bn = bn_network(conv)
    x = torch.randn(7, *((2, 5, 5) if conv else (6,)))
    folded, eps = fold_batch_norm(model)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    W = layer.weight.detach().double().numpy()
    want = W * scale.reshape(-1, *([1] * (W.ndim - 1)))  # row k scaled by gamma_k / sqrt(var_k + eps)
    np.testing.assert_allclose(layer_weights(folded)["h"], want, rtol=1e-6)
    assert eps == {"h": bn.eps}
    # the original is untouched, and the initial weights are folded with the initial batch norm
    np.testing.assert_array_equal(layer.weight.detach().double().numpy(), W)
    init = {k: np.ones_like(v) for k, v in layer_weights(model).items()}
    _, init_folded = network_weights(model, init, fold=True)
    np.testing.assert_allclose(init_folded["h"], 1 / np.sqrt(1 + bn.eps))
    np.testing.assert_array_equal(init_folded["output"], 1.0)


def test_network_weights_rejects_mismatched_init():
    model, _, _ = bn_network(False)
    with pytest.raises(ValueError, match="init_weights has layers"):
        network_weights(model, {"h": np.zeros((4, 6))}, fold=False)
