"""EVBMF against the closed forms of Nakajima et al. (JMLR 2013; NIPS 2012 / JMLR 2015).

References used here, written independently of functional.evbmf:
- tau_bar is the zero of Phi(tau) + Phi(tau / alpha), Phi(z) = log(z + 1) / z - 1/2, and equals
  2.5129 at alpha = 1 (the constant printed in the papers and their MATLAB code);
- the EVB threshold lies above the Marchenko-Pastur edge sigma (sqrt(L) + sqrt(M));
- a kept singular value is the larger root of d^2 - gamma (1 - (L + M) sigma^2 / gamma^2) d
  + L M sigma^4 / gamma^2 = 0 (the shrinkage formula solved by numpy.roots);
- a rank-r signal plus Gaussian noise of variance 1, signal well above the threshold: rank r and
  sigma^2 close to 1 are recovered.
"""

import math

import numpy as np
import pytest

from functional.evbmf import (
    estimate_noise_variance,
    evbmf,
    evbmf_free_energy,
    evbmf_singular_values,
    evbmf_threshold,
    noise_variance_bounds,
    tau_bar,
    x_bar,
)


def orthonormal(rng, n, k):
    return np.linalg.qr(rng.standard_normal((n, k)))[0]


def low_rank_plus_noise(L, M, signal, sigma, seed=0):
    rng = np.random.default_rng(seed)
    r = len(signal)
    X = orthonormal(rng, L, r) @ np.diag(signal) @ orthonormal(rng, M, r).T
    return X, X + sigma * rng.standard_normal((L, M))


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.64, 1.0])
def test_tau_bar_is_the_zero_of_xi(alpha):
    t = tau_bar(alpha)

    def phi(z):
        return math.log(z + 1) / z - 0.5

    assert phi(t) + phi(t / alpha) == pytest.approx(0.0, abs=1e-12)
    assert t > math.sqrt(alpha)  # x(tau) = (1 + tau)(1 + alpha / tau) is increasing beyond sqrt(alpha)
    assert x_bar(alpha) == pytest.approx((1 + t) * (1 + alpha / t), rel=1e-14)
    assert tau_bar(alpha, approximate=True) == pytest.approx(2.5129 * math.sqrt(alpha), rel=1e-14)


def test_tau_bar_at_one_is_the_papers_constant():
    assert tau_bar(1.0) == pytest.approx(2.5129, abs=5e-5)
    # elsewhere the code's 2.5129 sqrt(alpha) is too small: at alpha = 0.1 the exact value is 0.8222
    assert tau_bar(0.1) == pytest.approx(0.8222, abs=1e-4) and tau_bar(0.1, approximate=True) < 0.80


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (30, 30)])
def test_threshold_formula_and_marchenko_pastur_edge(shape):
    L, M = sorted(shape)
    sigma2 = 0.7
    thr = evbmf_threshold(sigma2, shape)
    assert thr == pytest.approx(math.sqrt(M * sigma2 * x_bar(L / M)), rel=1e-14)
    assert thr > math.sqrt(sigma2) * (math.sqrt(L) + math.sqrt(M))


def test_free_energy_is_continuous_at_the_threshold():
    # psi_1(x_bar) = 0: keeping or dropping a component at the threshold costs the same
    L, M = 20, 50
    gamma = np.full(L, 1.0)
    s2_at = 1.0 / (M * x_bar(L / M))  # makes x_h = x_bar exactly
    below, above = (evbmf_free_energy(s2_at * f, gamma, (L, M)) for f in (1 + 1e-9, 1 - 1e-9))
    assert above == pytest.approx(below, abs=1e-6)


def test_kept_values_solve_the_shrinkage_quadratic():
    L, M, sigma2 = 10, 25, 1.0
    thr = evbmf_threshold(sigma2, (L, M))
    gamma = np.array([40.0, 20.0, 12.0, thr * 1.01, thr * 0.99, 3.0, 2.0, 1.0, 0.5, 0.1])
    rng = np.random.default_rng(1)
    Y = orthonormal(rng, L, L) @ np.diag(gamma) @ orthonormal(rng, M, L).T
    res = evbmf(Y, noise_variance=sigma2)
    assert res.rank == 4 and res.threshold == pytest.approx(thr)
    for g, d in zip(gamma[:4], res.singular_values):
        roots = np.roots([1.0, -g * (1 - (L + M) * sigma2 / g**2), L * M * sigma2**2 / g**2])
        assert d == pytest.approx(max(roots.real), rel=1e-9)
        assert 0 < d < g
    # far above the threshold: d ~ gamma - (L + M) sigma^2 / gamma
    assert res.singular_values[0] == pytest.approx(40.0 - 35.0 / 40.0, rel=1e-3)


@pytest.mark.parametrize("shape", [(40, 100), (100, 40)])
def test_recovers_rank_and_noise_of_low_rank_plus_gaussian(shape):
    X, Y = low_rank_plus_noise(*shape, signal=[60.0, 50.0, 40.0, 35.0, 30.0], sigma=1.0)
    res = evbmf(Y)
    assert res.rank == 5
    assert res.noise_variance == pytest.approx(1.0, rel=0.05)
    assert res.matrix().shape == Y.shape
    # denoising: the EVB estimate is closer to the signal than the observation
    assert np.linalg.norm(res.matrix() - X) < 0.5 * np.linalg.norm(Y - X)


def test_pure_noise_has_rank_zero_and_unit_noise():
    res = evbmf(np.random.default_rng(3).standard_normal((30, 60)))
    assert res.rank == 0 and res.singular_values.shape == (0,)
    assert res.noise_variance == pytest.approx(1.0, rel=0.1)
    assert res.matrix().shape == (30, 60) and not res.matrix().any()


def test_transposition_invariance():
    _, Y = low_rank_plus_noise(25, 70, signal=[40.0, 25.0, 15.0], sigma=0.8, seed=4)
    a, b = evbmf(Y), evbmf(Y.T)
    assert a.rank == b.rank == 3
    # equal up to the optimiser's resolution of the flat minimum (~sqrt(eps))
    np.testing.assert_allclose(a.singular_values, b.singular_values, rtol=1e-6)
    assert a.noise_variance == pytest.approx(b.noise_variance, rel=1e-6)
    np.testing.assert_allclose(a.matrix(), b.matrix().T, atol=1e-5)


def test_noise_variance_is_the_global_minimum_within_the_bounds():
    _, Y = low_rank_plus_noise(30, 45, signal=[30.0, 14.0, 11.0], sigma=1.0, seed=5)
    L, M = Y.shape
    gamma = np.linalg.svd(Y, compute_uv=False)
    low, high = noise_variance_bounds(gamma, Y.shape)
    assert high == pytest.approx(np.sum(Y**2) / (L * M), rel=1e-12)  # ||Y||_F^2 / (L M)
    s2 = estimate_noise_variance(gamma, Y.shape)
    assert low <= s2 <= high
    grid = np.linspace(low, high, 4001)
    best = min(evbmf_free_energy(v, gamma, Y.shape) for v in grid)
    assert evbmf_free_energy(s2, gamma, Y.shape) <= best + 1e-9


def test_multimodal_free_energy_global_minimum_recovers_the_rank():
    # Omega can have several local minima; a bounded local search from the whole interval (as the
    # reference code does) lands here on sigma^2 ~ 1.58 and rank 1, the global minimum gives rank 3
    rng = np.random.default_rng(137)
    Y = rng.standard_normal((12, 3)) @ rng.standard_normal((3, 30)) * 0.5 + rng.standard_normal((12, 30))
    gamma = np.linalg.svd(Y, compute_uv=False)
    grid = np.linspace(*noise_variance_bounds(gamma, Y.shape), 4001)
    f = evbmf_free_energy(grid, gamma, Y.shape)
    local_minima = np.flatnonzero((f[1:-1] < f[:-2]) & (f[1:-1] < f[2:])) + 1
    assert len(local_minima) >= 2
    res = evbmf(Y)
    assert res.rank == 3
    assert evbmf_free_energy(res.noise_variance, gamma, Y.shape) <= f.min() + 1e-9


def test_singular_values_entry_point_matches_matrix_entry_point():
    _, Y = low_rank_plus_noise(20, 30, signal=[25.0, 15.0], sigma=1.0, seed=6)
    d, s2, thr = evbmf_singular_values(np.linalg.svd(Y, compute_uv=False), Y.shape)
    res = evbmf(Y)
    np.testing.assert_allclose(d, res.singular_values, rtol=1e-6)
    assert (s2, thr) == pytest.approx((res.noise_variance, res.threshold), rel=1e-6)


def test_zero_matrix_and_errors():
    res = evbmf(np.zeros((3, 4)))
    assert res.rank == 0 and res.noise_variance == 0.0
    with pytest.raises(ValueError, match="2-D"):
        evbmf(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        evbmf(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="noise_variance must be >= 0"):
        evbmf(np.eye(3), noise_variance=-1.0)
    with pytest.raises(ValueError, match="min\\(shape\\) = 3"):
        evbmf_singular_values(np.ones(4), (3, 5))
    with pytest.raises(ValueError, match="alpha"):
        tau_bar(1.5)
