"""Differentiable 0-dimensional persistence (deaths = MST edge weights) against gudhi."""

from __future__ import annotations

import gudhi
import numpy as np
import pytest
import torch

from functional.correlation.tensors import correlation_distance, correlation_distance_pairs
from functional.persistence.h0 import mst_edges
from models.regularisers.topological import correlation_h0_deaths, h0_deaths


def _randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _gudhi_h0_deaths(D: np.ndarray, keep_zero_bars: bool) -> np.ndarray:
    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    st.compute_persistence(min_persistence=-1.0 if keep_zero_bars else 0.0)
    bars = st.persistence_intervals_in_dimension(0)
    return np.sort(bars[np.isfinite(bars[:, 1]), 1])


def test_gradcheck_h0_deaths_of_correlation_distance():
    X = _randn(15, 7, seed=11).requires_grad_()
    assert torch.autograd.gradcheck(lambda X: h0_deaths(correlation_distance(X)), (X,))


@pytest.mark.parametrize("seed,batch,n", [(0, 30, 25), (1, 64, 60), (2, 10, 40)])
def test_deaths_equal_gudhi(seed, batch, n):
    D = correlation_distance(_randn(batch, n, seed=seed))
    deaths = h0_deaths(D)
    assert deaths.shape == (n - 1,)
    np.testing.assert_allclose(deaths.numpy(), _gudhi_h0_deaths(D.numpy(), keep_zero_bars=False), atol=1e-12)


def test_duplicated_points_keep_zero_length_bars():
    rng = np.random.default_rng(3)
    P = rng.normal(size=(20, 3))
    P = np.concatenate([P, P[:4]])  # 4 exact duplicates
    D = torch.tensor(np.linalg.norm(P[:, None] - P[None], axis=-1))
    deaths = h0_deaths(D).numpy()
    assert deaths.shape == (23,)
    assert (deaths[:4] == 0).all() and (deaths[4:] > 0).all()
    # gudhi drops the zero-length bars by default (fewer than n - 1 deaths) ...
    assert len(_gudhi_h0_deaths(D.numpy(), keep_zero_bars=False)) == 19
    # ... and agrees once asked to keep them
    np.testing.assert_allclose(deaths, _gudhi_h0_deaths(D.numpy(), keep_zero_bars=True), atol=1e-12)


def test_duplicated_neurons_give_n_minus_1_deaths():
    X = _randn(50, 10, seed=4, dtype=torch.float32)
    Xd = torch.cat([X, X[:, :3], 5 * X[:, 7:8]], 1)
    deaths = h0_deaths(correlation_distance(Xd))
    assert deaths.shape == (13,)
    assert (deaths[:4] <= 1e-6).all() and (deaths[4:] > 1e-3).all()


def test_gradient_is_the_mst_indicator():
    D = correlation_distance(_randn(20, 9, seed=5)).detach().requires_grad_()
    h0_deaths(D).sum().backward()
    edges, _ = mst_edges(D.detach().numpy())
    expected = torch.zeros_like(D)
    expected[edges[:, 0], edges[:, 1]] = 1
    assert torch.equal(D.grad, expected)


def test_small_and_invalid_inputs():
    assert h0_deaths(torch.zeros(1, 1)).shape == (0,)
    D = torch.tensor([[0.0, 0.25], [0.25, 0.0]], requires_grad=True)
    assert h0_deaths(D).tolist() == [0.25]
    with pytest.raises(ValueError, match="NaN and 0 infinite entries"):
        h0_deaths(torch.tensor([[0.0, float("nan")], [float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="n_points, n_points"):
        h0_deaths(torch.zeros(2, 3))


def _with_dead(X: torch.Tensor) -> torch.Tensor:
    B = X.shape[0]
    dead, const = torch.zeros(B, 1, dtype=X.dtype), torch.full((B, 1), 2.5, dtype=X.dtype)
    return torch.cat([X[:, :3], dead, X[:, 3:], const], 1)


@pytest.mark.parametrize("dead", [False, True])
def test_fast_deaths_equal_full_matrix_deaths(dead):
    X = _randn(48, 30, seed=6)
    if dead:
        X = _with_dead(X)
    W = torch.rand(X.shape[1] - 1, generator=torch.Generator().manual_seed(7), dtype=X.dtype)
    X1 = X.clone().requires_grad_()
    full = h0_deaths(correlation_distance(X1))
    (full * W).sum().backward()
    X2 = X.clone().requires_grad_()
    fast = correlation_h0_deaths(X2)
    (fast * W).sum().backward()
    torch.testing.assert_close(fast, full, atol=1e-12, rtol=0)
    torch.testing.assert_close(X2.grad, X1.grad, atol=1e-10, rtol=1e-8)
    assert torch.isfinite(X2.grad).all()


def test_gradcheck_fast_deaths():
    X = _randn(15, 7, seed=8).requires_grad_()
    assert torch.autograd.gradcheck(correlation_h0_deaths, (X,))


def test_distance_pairs_equal_matrix_entries():
    X = _with_dead(_randn(20, 8, seed=9))
    pairs = torch.tensor([[0, 1], [2, 3], [3, 4], [9, 0], [5, 5], [4, 4]])
    D = correlation_distance(X)
    d = correlation_distance_pairs(X, pairs)
    torch.testing.assert_close(d, D[pairs[:, 0], pairs[:, 1]], atol=1e-12, rtol=0)
    assert d[2] == 1 and d[3] == 1 and d[4] == 0 and d[5] == 0  # dead neuron 3, constant 9
    with pytest.raises(ValueError, match="n_pairs, 2"):
        correlation_distance_pairs(X, torch.tensor([0, 1]))


def test_fast_deaths_small():
    assert correlation_h0_deaths(torch.randn(5, 1)).shape == (0,)
    X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    torch.testing.assert_close(correlation_h0_deaths(X), correlation_distance(X)[0, 1:])


def test_nan_activations_are_named_as_nan_not_blamed_on_dead_neurons():
    import torch

    from models.regularisers import get_regulariser

    penalty = get_regulariser("topological_t1")
    acts = {"fc1": torch.randn(32, 8), "output": torch.randn(32, 4)}
    acts["fc1"][3, 2] = float("nan")  # a diverged network, not a dead neuron
    with pytest.raises(ValueError, match=r"has \d+ NaN and 0 infinite entries .*diverged network") as err:
        penalty.fn(penalty.params(), acts)
    assert "dead or constant neurons are not the cause" in str(err.value)
