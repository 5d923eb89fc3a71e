"""Perturbation response curves and the perturbation_response measure: closed forms on constructed networks
(a linear classifier under Gaussian noise, sign classifiers under mixup), brute force, determinism, and the
invariance of the scores to a permutation of the perturbed layer's neurons."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare, norm
from torch import nn

from measures.perturbation.curves import mixup_partners, perturbation_response_curve
from measures.perturbation.measure import PerturbationResponseParams, perturbation_response
from measures.registry import get_measure
from models.architectures import Block, Network, build_model


def linear_margin_network(w):
    """hidden: identity on R^d; output: logits (w.h, -w.h), i.e. class 0 iff w.h > 0."""
    d = len(w)
    hidden = nn.Linear(d, d, bias=False)
    out = nn.Linear(d, 2, bias=False)
    with torch.no_grad():
        hidden.weight.copy_(torch.eye(d))
        out.weight.copy_(torch.stack([torch.as_tensor(w), -torch.as_tensor(w)]).float())
    return Network({"hidden": Block(hidden), "output": Block(out)}).eval()


def test_gaussian_noise_on_a_linear_classifier_is_phi_of_margin_over_sigma():
    # Every sample sits at distance m from the boundary: x = +-m * w (unit w), so every entry of h has |h| = m / 2
    # and rms(h) = m / 2. Noise alpha * rms(h) * eps moves w.h by N(0, sigma^2), sigma = alpha * m / 2: a sample
    # stays correct with probability Phi(m / sigma) = Phi(2 / alpha) (scipy.stats.norm).
    w = np.full(4, 0.5)
    n, m = 20000, 3.0
    y = np.arange(n) % 2
    x = torch.from_numpy(np.where(y[:, None] == 0, m, -m) * w[None, :]).float()
    alphas = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    acc = perturbation_response_curve(linear_margin_network(w), x, y, "hidden", "gaussian_noise", alphas,
                                      np.random.default_rng(0))
    want = np.concatenate([[1.0], norm.cdf(2 / alphas[1:])])
    se = np.sqrt(want * (1 - want) / n)
    assert np.all(np.abs(acc - want) <= 4 * se + 1e-12), (acc, want)


def sign_network():
    """hidden: relu(x), relu(-x) of a scalar; output: logits (h0, h1): class 0 iff x > 0."""
    hidden = nn.Linear(1, 2, bias=False)
    out = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        out.weight.copy_(torch.eye(2))
    return Network({"hidden": Block(hidden, nn.ReLU()), "output": Block(out)}).eval()


def test_interclass_mixup_closed_form():
    # Class 0 at x = +1, class 1 at x = -1. At the input, (1 - a) x_i + a x_j = +-(1 - 2a): correct iff a < 1/2.
    # At "hidden", (relu(x), relu(-x)) mixes to (1 - a, a) for class 0: also correct iff a < 1/2.
    x = torch.tensor([[1.0]] * 5 + [[-1.0]] * 5)
    y = np.array([0] * 5 + [1] * 5)
    alphas = np.array([0.0, 0.2, 0.4, 0.45, 0.55, 0.8, 1.0])
    for layer in ("input", "hidden"):
        acc = perturbation_response_curve(sign_network(), x, y, layer, "interclass_mixup", alphas,
                                          np.random.default_rng(3))
        np.testing.assert_array_equal(acc, [1, 1, 1, 1, 0, 0, 0])
    # intra-class mixup of identical samples changes nothing
    acc = perturbation_response_curve(sign_network(), x, y, "hidden", "intraclass_mixup", alphas,
                                      np.random.default_rng(3))
    np.testing.assert_array_equal(acc, np.ones(7))


def test_interclass_mixup_thresholds_by_hand():
    # Class 0 at x in {1, 3}, class 1 at -1 (one sample): the partner of a class-0 sample is the -1 sample, so
    # 1 -> 1 - 2a > 0 iff a < 1/2 and 3 -> 3 - 4a > 0 iff a < 3/4; the class-1 sample mixed with partner p is
    # correct iff -(1 - a) + a p < 0, i.e. a < 1 / (1 + p).
    x = torch.tensor([[1.0], [3.0], [-1.0]])
    y = np.array([0, 0, 1])
    alphas = np.array([0.0, 0.3, 0.6, 0.9])
    partners = mixup_partners(y, False, np.random.default_rng(5))
    p = float(x[partners[2]])
    want = [np.mean([a < 0.5, a < 0.75, a < 1 / (1 + p)]) for a in alphas]
    acc = perturbation_response_curve(sign_network(), x, y, "input", "interclass_mixup", alphas,
                                      np.random.default_rng(5))
    np.testing.assert_allclose(acc, want)


def test_partners_respect_classes():
    y = np.array([0, 0, 0, 1, 1, 2])
    inter = mixup_partners(y, False, np.random.default_rng(0))
    intra = mixup_partners(y, True, np.random.default_rng(0))
    assert np.all(y[inter] != y)
    assert np.all(y[intra] == y)
    assert np.all(intra[:5] != np.arange(5)) and intra[5] == 5  # class 2 has one sample: its own partner
    with pytest.raises(ValueError, match="two classes"):
        mixup_partners(np.zeros(4, dtype=int), False, np.random.default_rng(0))


def test_partners_are_uniform_among_candidates():
    # Sample 0 of class 0 (4 members, 3 others) takes each other member, and each of the 3 samples of other classes,
    # with probability 1/3: a chi-square goodness-of-fit test (scipy.stats.chisquare) on 3000 draws.
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    rng = np.random.default_rng(11)
    intra = [mixup_partners(y, True, rng)[0] for _ in range(3000)]
    inter = [mixup_partners(y, False, rng)[0] for _ in range(3000)]
    assert chisquare(np.bincount(intra, minlength=4)[1:4]).pvalue > 1e-3
    assert chisquare(np.bincount(inter, minlength=7)[4:7]).pvalue > 1e-3
    assert np.bincount(intra, minlength=4)[0] == 0


def test_mlp_curve_matches_brute_force():
    # Reference: the blocks run one sample at a time by hand, the mix taken on fc1's activation.
    torch.manual_seed(0)
    model = build_model("mlp", {"depth": 2, "width": 6}, (5,), 3).eval()
    x = torch.randn(30, 5)
    y = np.random.default_rng(1).integers(0, 3, 30)
    alphas = np.array([0.0, 0.25, 0.5])
    partners = mixup_partners(y, False, np.random.default_rng(9))
    with torch.no_grad():
        h = model.blocks["fc1"](x)[1]
        want = []
        for a in alphas:
            hits = []
            for i, j in enumerate(partners):
                z = (1 - a) * h[i:i + 1] + a * h[j:j + 1]
                z = model.blocks["output"](model.blocks["fc2"](z)[1])[1]
                hits.append(int(z.argmax()) == y[i])
            want.append(np.mean(hits))
    acc = perturbation_response_curve(model, x, y, "fc1", "interclass_mixup", alphas, np.random.default_rng(9))
    np.testing.assert_allclose(acc, want)


def digits_like(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"train": torch.rand(n, 1, 8, 8, generator=g)}, {"train": np.arange(n) % 10}


def test_measure_is_seeded_and_deterministic():
    torch.manual_seed(0)
    model = build_model("mlp", {"depth": 2, "width": 16}, (1, 8, 8), 10).eval()
    inputs, labels = digits_like()
    spec = get_measure("perturbation_response")
    params = PerturbationResponseParams(perturbations=("interclass_mixup", "gaussian_noise"))
    a = spec(params, model=model, inputs=inputs, labels=labels).rows
    b = spec(params, model=model, inputs=inputs, labels=labels).rows
    assert a == b
    c = spec(params.model_copy(update={"seed": 1}), model=model, inputs=inputs, labels=labels).rows
    assert [r[2] for r in a] != [r[2] for r in c]
    names = {(layer, stat) for layer, stat, _ in a}
    assert names == {(layer, f"{s}_{p}") for layer in ("fc1", "fc2", "all")
                     for p in ("interclass_mixup", "gaussian_noise") for s in ("gi_score", "pal_score", "accuracy_drop")}
    # "all" is the mean over the layers
    value = {(layer, stat): v for layer, stat, v in a}
    for stat in {stat for _, stat in value}:
        assert value["all", stat] == pytest.approx((value["fc1", stat] + value["fc2", stat]) / 2)


def permuted_copy(model, layer, nxt, perm):
    """The network with the units of ``layer`` permuted and ``nxt``'s input weights permuted to match."""
    other = build_model("mlp", {"depth": 2, "width": len(perm)}, (1, 8, 8), 10).eval()
    other.load_state_dict(model.state_dict())
    with torch.no_grad():
        other.blocks[layer].layer.weight.copy_(model.blocks[layer].layer.weight[perm])
        other.blocks[layer].layer.bias.copy_(model.blocks[layer].layer.bias[perm])
        other.blocks[nxt].layer.weight.copy_(model.blocks[nxt].layer.weight[:, perm])
    return other


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_scores_invariant_to_permuting_the_perturbed_layer(seed):
    # Mixup is equivariant under a permutation P of units: (1 - a) P h_i + a P h_j = P((1 - a) h_i + a h_j), and the
    # next layer's weights W P^T undo P, so every logit, hence every curve and score, is unchanged.
    torch.manual_seed(seed % 1000)
    model = build_model("mlp", {"depth": 2, "width": 12}, (1, 8, 8), 10).eval()
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(12))
    other = permuted_copy(model, "fc1", "fc2", perm)
    inputs, labels = digits_like(60, seed % 7)
    params = PerturbationResponseParams(layers=("fc1",))
    a = perturbation_response(params, model=model, inputs=inputs, labels=labels).rows
    b = perturbation_response(params, model=other, inputs=inputs, labels=labels).rows
    assert [r[:2] for r in a] == [r[:2] for r in b]
    np.testing.assert_allclose([r[2] for r in a], [r[2] for r in b], rtol=1e-9)


def test_bad_input_raises():
    model = build_model("mlp", {"depth": 1, "width": 4}, (1, 8, 8), 10).eval()
    inputs, labels = digits_like(20)
    with pytest.raises(ValueError, match="blocks before 'output'"):
        perturbation_response(PerturbationResponseParams(layers=("output",)), model=model, inputs=inputs,
                              labels=labels)
    with pytest.raises(ValueError, match="split 'test'"):
        perturbation_response(PerturbationResponseParams(split="test"), model=model, inputs=inputs, labels=labels)
    with pytest.raises(ValueError, match="two classes"):
        perturbation_response(PerturbationResponseParams(), model=model, inputs=inputs,
                              labels={"train": np.zeros(20, dtype=np.int64)})


def test_default_params_on_the_manifest_vgg():
    # The measures_all setting: digits VGG (1 conv per block, 32 last filters, 1 dense layer), 300 train samples.
    # Its cost is measured by bench/perturbation.py, not here.
    torch.manual_seed(0)
    model = build_model("vgg", {"convs_per_block": 1, "last_filters": 32, "dense_layers": 1, "dense_width": 64},
                        (1, 8, 8), 10).eval()
    inputs, labels = digits_like(300)
    result = get_measure("perturbation_response")(PerturbationResponseParams(), model=model, inputs=inputs,
                                                  labels=labels)
    assert {layer for layer, _, _ in result.rows} == {"conv1", "conv2", "conv3", "all"}
    assert all(np.isfinite(v) or stat.startswith("pal_score") for _, stat, v in result.rows)


def test_measure_rows_closed_form_on_the_sign_network():
    # Class 0 at +1, class 1 at -1, inter-class mixup at alpha = 0, .2, .4, .6, .8: accuracy 1, 1, 1, 0, 0 (correct
    # iff alpha < 1/2) on t = 0, .25, .5, .75, 1. By hand: area 0.625, int t A dt = 0.125 + 0.0729167, so
    # Gi = 1 - 2 * 0.1979167 / 0.625; PCD(0.1) = 0.1 / 0.625, PCD(0.6) = (0.5 + 0.08) / 0.625; drop = 1 - 0.625.
    x = torch.tensor([[1.0]] * 4 + [[-1.0]] * 4)
    y = np.array([0] * 4 + [1] * 4)
    params = PerturbationResponseParams(layers=("input", "hidden"), perturbations=("interclass_mixup",),
                                        magnitudes=5, max_magnitude=0.8)
    rows = perturbation_response(params, model=sign_network(), inputs={"train": x}, labels={"train": y}).rows
    for layer in ("input", "hidden"):
        got = {stat: v for lay, stat, v in rows if lay == layer}
        assert got["gi_score_interclass_mixup"] == pytest.approx(1 - 2 * (0.125 + 0.0729166667) / 0.625)
        assert got["pal_score_interclass_mixup"] == pytest.approx((0.1 / 0.625) / (1 - 0.58 / 0.625))
        assert got["accuracy_drop_interclass_mixup"] == pytest.approx(0.375)
