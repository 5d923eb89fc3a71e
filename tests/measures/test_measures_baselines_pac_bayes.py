"""Jiang et al. 2020 PAC-Bayes measures: the sigma search against a closed form, sharpness, the bounds by hand."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.stats import norm
from torch import nn

from measures.baselines.pac_bayes import PacBayesParams, pac_bayes_bounds, pac_bayes_magnitude_bounds, pac_bayes_sigma
from models.architectures import Block, Network

pytestmark = pytest.mark.usefixtures("one_thread")


def linear_classifier(W):
    layer = nn.Linear(W.shape[1], W.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(W, dtype=torch.float32))
    return Network({"output": Block(layer)}).eval()


def binary_problem(n=100, d=5, seed=0):
    """A 2-class linear classifier and inputs labelled by its own predictions (accuracy 1)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((2, d))
    x = rng.standard_normal((n, d))
    y = (x @ W.T).argmax(1)
    return W, x, y


def expected_deviation(W, x, y, noise_var):
    """1 - E[accuracy] of the 2-class linear classifier under independent Gaussian weight noise (closed form).

    With noise u_kj of variance noise_var[k, j], the perturbed margin of sample x is
    (w_y - w_o) . x + (u_y - u_o) . x ~ N(margin, sum_j (var_yj + var_oj) x_j^2), so
    P(correct) = Phi(margin / sd).
    """
    o = 1 - y
    margin = np.einsum("nj,nj->n", W[y] - W[o], x)
    sd = np.sqrt(np.einsum("nj,nj->n", noise_var[y] + noise_var[o], x**2))
    return 1.0 - float(norm.cdf(margin / sd).mean())


PARAMS = PacBayesParams(draws=300, search_depth=25, tolerance=0.004, seed=3)


def test_sigma_search_converges_to_the_closed_form():
    W, x, y = binary_problem()
    sigma, deviation = pac_bayes_sigma(linear_classifier(W), torch.as_tensor(x, dtype=torch.float32), y, PARAMS)
    exact = brentq(lambda s: expected_deviation(W, x, y, np.full(W.shape, s**2)) - 0.1, 1e-4, 10.0)
    assert abs(deviation - 0.1) < 0.004  # the search's own stopping rule
    # the expected deviation at the sigma found is within the tolerance plus Monte Carlo error of the target
    assert expected_deviation(W, x, y, np.full(W.shape, sigma**2)) == pytest.approx(0.1, abs=0.01)
    assert sigma == pytest.approx(exact, rel=0.1)


def test_magnitude_aware_search_converges_to_the_closed_form():
    W, x, y = binary_problem(seed=1)
    params = PARAMS.model_copy(update={"magnitude_eps": 0.05})
    sigma, _ = pac_bayes_sigma(linear_classifier(W), torch.as_tensor(x, dtype=torch.float32), y, params,
                               magnitude_aware=True)

    def dev(s):  # u_i ~ N(0, s^2 w_i^2 + eps^2)
        return expected_deviation(W, x, y, s**2 * W**2 + 0.05**2)

    assert dev(sigma) == pytest.approx(0.1, abs=0.01)
    assert sigma == pytest.approx(brentq(lambda s: dev(s) - 0.1, 1e-4, 10.0), rel=0.1)


def relu_net(w1, w2):
    fc, out = nn.Linear(w1.shape[1], w1.shape[0], bias=False), nn.Linear(w2.shape[1], w2.shape[0], bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.as_tensor(w1, dtype=torch.float32))
        out.weight.copy_(torch.as_tensor(w2, dtype=torch.float32))
    return Network({"fc1": Block(fc, nn.ReLU()), "output": Block(out)}).eval()


def test_sharper_rescaling_gives_smaller_sigma_and_magnitude_aware_is_invariant():
    # f = W2 relu(W1 x) equals (W2 / c) relu(c W1 x): the same function, but noise of a fixed scale on W2 / c
    # moves the output c times more, so the loss surface is sharper and sigma smaller (Dinh et al. 2017).
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((16, 6)), rng.standard_normal((3, 16))
    x = torch.as_tensor(rng.standard_normal((200, 6)), dtype=torch.float32)
    y = relu_net(w1, w2)(x).argmax(1).numpy()
    params = PacBayesParams(draws=20, search_depth=15, seed=0)
    sigmas = [pac_bayes_sigma(relu_net(c * w1, w2 / c), x, y, params)[0] for c in (1.0, 4.0, 16.0)]
    assert sigmas[0] > sigmas[1] > sigmas[2]
    # noise proportional to each weight (eps = 0) perturbs both parametrisations alike
    mag = params.model_copy(update={"magnitude_eps": 0.0})
    s1, s16 = (pac_bayes_sigma(relu_net(c * w1, w2 / c), x, y, mag, magnitude_aware=True)[0] for c in (1.0, 16.0))
    assert s16 == pytest.approx(s1, rel=1e-6)


def test_search_restores_the_weights():
    W, x, y = binary_problem()
    model = linear_classifier(W)
    before = model.blocks["output"].layer.weight.detach().clone()
    pac_bayes_sigma(model, torch.as_tensor(x, dtype=torch.float32), y, PacBayesParams(draws=2, search_depth=3))
    torch.testing.assert_close(model.blocks["output"].layer.weight, before, rtol=0, atol=0)


def test_bounds_by_hand():
    w, w0, sigma, m = np.array([3.0, 4.0]), np.array([0.0, 1.0]), 0.5, 100
    got = pac_bayes_bounds(w, w0, sigma, m)
    tail = math.log(200.0) + 10  # log(m / sigma) + 10
    assert got == pytest.approx({"pacbayes_init": 18 / (4 * 0.25) + tail,  # Eq. 48: ||w - w0||^2 = 9 + 9
                                 "pacbayes_orig": 25 / (4 * 0.25) + tail,  # Eq. 49: ||w||^2 = 25
                                 "pacbayes_flatness": 4.0})  # Eq. 53
    eps = 0.1
    got = pac_bayes_magnitude_bounds(w, w0, sigma, eps, m)
    # Eqs. 56-57 entry by entry, omega = 2: denominators eps^2 + sigma^2 (w_i - w0_i)^2 = 0.01 + 0.25 * 9 each
    den = 0.01 + 0.25 * 9
    init_num, orig_num = 0.01 + 1.25 * 18 / 2, 0.01 + 1.25 * 25 / 2
    assert got == pytest.approx({"pacbayes_mag_init": 0.25 * 2 * math.log(init_num / den) + tail,
                                 "pacbayes_mag_orig": 0.25 * 2 * math.log(orig_num / den) + tail,
                                 "pacbayes_mag_flatness": 4.0})
