"""Correlation distance between neurons: the shared zero-variance rule, the numpy form, the torch form."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from functional.correlation import zero_variance_mask
from functional.correlation import arrays as np_corr
from functional.correlation.tensors import correlation_distance, correlation_matrix


# ---------------------------------------------------------------- the zero-variance rule, shared


def test_one_rule_for_arrays_and_tensors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 6)).astype(np.float32)
    X[:, 1], X[:, 3], X[:, 4] = 0.0, -2.5, 1e-30  # dead, constant, tiny constant
    X[:, 5] = X[0, 5]
    X[3, 5] = np.nextafter(X[0, 5], np.float32(np.inf))  # varies by one rounding step: live
    want = [False, True, False, True, True, False]
    np.testing.assert_array_equal(zero_variance_mask(X), want)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        T = torch.from_numpy(X).to(dtype).requires_grad_()
        mask = zero_variance_mask(T)
        assert mask.dtype == torch.bool and not mask.requires_grad
        if dtype != torch.bfloat16:  # bfloat16 rounds the one-step variation away
            assert mask.tolist() == want
    assert zero_variance_mask(np.zeros((0, 3))).tolist() == [True] * 3
    assert zero_variance_mask(torch.zeros(0, 3)).tolist() == [True] * 3
    assert np_corr.zero_variance_mask is zero_variance_mask


def test_rule_rejects_non_matrices():
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_neurons\); got shape \(3, 4, 5\)"):
        zero_variance_mask(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        zero_variance_mask(np.zeros(4))


@pytest.mark.parametrize("kind", ["random", "low_rank"])
def test_numpy_and_torch_forms_agree(kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 30))
    if kind == "low_rank":
        X = rng.standard_normal((100, 3)) @ rng.standard_normal((3, 30))
    X = np.maximum(X.astype(np.float32), 0.0)
    X[:, 7] = 0.0
    D = np_corr.correlation_distance(X)
    Dt = correlation_distance(torch.from_numpy(X).double()).numpy()
    np.testing.assert_allclose(D, Dt, atol=1e-9, rtol=0)
    np.testing.assert_array_equal(D[7], Dt[7])  # the dead neuron: distance 1 from everyone in both


# ---------------------------------------------------------------- numpy, float64 (measures)


def test_matches_corrcoef_on_ordinary_neurons():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30)) @ rng.standard_normal((30, 30))
    want = 1 - np.abs(np.corrcoef(X.T))
    np.fill_diagonal(want, 0)
    np.testing.assert_allclose(np_corr.correlation_distance(X), np.clip(want, 0, 1), rtol=0, atol=1e-12)


def test_constant_and_duplicate_neurons():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 7)).astype(np.float32)
    X[:, 1] = 0.0  # dead ReLU
    X[:, 2] = 3.7  # constant non-zero: np.corrcoef gives finite garbage here
    X[:, 3] = 1e6  # large constant
    X[:, 4] = X[:, 0]  # duplicate
    X[:, 5] = -2 * X[:, 0] + 5  # negated, rescaled duplicate
    D = np_corr.correlation_distance(X)
    assert np.isfinite(D).all() and D.dtype == np.float64
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)
    np.testing.assert_array_equal(zero_variance_mask(X), [False, True, True, True, False, False, False])
    for c in (1, 2, 3):  # constant: distance 1 to every other neuron, constant ones included
        np.testing.assert_array_equal(np.delete(D[c], c), 1.0)
    assert D[0, 4] == 0.0 and D[0, 5] == 0.0 and D[4, 5] == 0.0
    x0, x6 = X[:, 0].astype(float), X[:, 6].astype(float)
    assert D[0, 6] == pytest.approx(1 - abs(np.corrcoef(x0, x6)[0, 1]), abs=1e-12)
    assert (D >= 0).all() and (D <= 1).all()


def test_distance_errors():
    with pytest.raises(ValueError, match=r"neurons \[2\]"):
        np_corr.correlation_distance(np.array([[1.0, 2.0, np.nan], [2.0, 3.0, 1.0]]))
    with pytest.raises(ValueError, match="at least 2 samples"):
        np_corr.correlation_distance(np.ones((1, 3)))


# ---------------------------------------------------------------- torch, differentiable (training)


def _randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_matches_numpy_corrcoef():
    X = _randn(50, 12)
    C, live = correlation_matrix(X)
    np.testing.assert_allclose(C.numpy(), np.corrcoef(X.numpy().T), atol=1e-12)
    assert live.all()
    D = correlation_distance(X)
    np.testing.assert_allclose(D.numpy(), 1 - np.abs(np.corrcoef(X.numpy().T)), atol=1e-12)
    assert torch.equal(D, D.T)
    assert (D.diagonal() == 0).all()
    assert D.min() >= 0 and D.max() <= 1


def test_gradcheck_correlation_distance():
    X = _randn(12, 5, seed=1).requires_grad_()
    assert torch.autograd.gradcheck(correlation_distance, (X,))


def test_gradcheck_live_neurons_beside_dead_ones():
    # Perturbing a dead neuron revives it (the distance jumps from 1), so the finite
    # differences are taken over the live neurons only, the bad ones held constant.
    def f(X):
        B = X.shape[0]
        bad = torch.cat([torch.zeros(B, 1, dtype=X.dtype), torch.full((B, 1), 0.3, dtype=X.dtype)], 1)
        return correlation_distance(torch.cat([X[:, :2], bad, X[:, 2:]], 1))

    X = _randn(12, 4, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(f, (X,))


def _with_bad_neurons(X: torch.Tensor) -> torch.Tensor:
    B = X.shape[0]
    dead = torch.zeros(B, 1, dtype=X.dtype)
    const = torch.full((B, 1), 0.1, dtype=X.dtype)  # its batch mean is not exactly 0.1
    const2 = torch.full((B, 1), -3.7, dtype=X.dtype)
    return torch.cat([X[:, :2], dead, X[:, 2:4], const, X[:, 4:], const2], 1)


BAD = [2, 5, 9]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dead_and_constant_neurons(dtype):
    X = _randn(40, 7, seed=3, dtype=dtype)
    Xb = _with_bad_neurons(X).requires_grad_()
    good = [i for i in range(Xb.shape[1]) if i not in BAD]
    assert zero_variance_mask(Xb).nonzero().flatten().tolist() == BAD
    D = correlation_distance(Xb)
    assert torch.isfinite(D).all()
    for i in BAD:  # distance 1 to everyone else, 0 to itself
        expected = torch.ones(Xb.shape[1], dtype=dtype)
        expected[i] = 0
        assert torch.equal(D[i].detach(), expected)
        assert torch.equal(D[:, i].detach(), expected)
    W = torch.rand(Xb.shape[1], Xb.shape[1], generator=torch.Generator().manual_seed(4), dtype=dtype)
    (D * W).sum().backward()
    assert torch.isfinite(Xb.grad).all()
    assert (Xb.grad[:, BAD] == 0).all()
    # the live neurons see exactly what they would see with the bad neurons removed
    Xg = X.clone().requires_grad_()
    Dg = correlation_distance(Xg)
    (Dg * W[good][:, good]).sum().backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(D.detach()[good][:, good], Dg.detach(), atol=tol, rtol=0)
    torch.testing.assert_close(Xb.grad[:, good], Xg.grad, atol=tol * 10, rtol=tol * 10)


def test_all_constant_batch_is_finite():
    X = torch.ones(8, 4, requires_grad=True)
    D = correlation_distance(X)
    D.sum().backward()
    assert torch.equal(D.detach(), 1 - torch.eye(4))
    assert (X.grad == 0).all()


def test_tiny_activations_do_not_underflow():
    X = _randn(30, 6, seed=5, dtype=torch.float32)
    D = correlation_distance(X)
    Xt = (X * 1e-30).requires_grad_()
    Dt = correlation_distance(Xt)
    torch.testing.assert_close(Dt.detach(), D, atol=1e-5, rtol=0)
    Dt.sum().backward()
    assert torch.isfinite(Xt.grad).all()


def test_duplicated_neurons_at_distance_zero():
    X = _randn(64, 5, seed=6, dtype=torch.float32).relu()
    Xd = torch.cat([X, X[:, :2], -2 * X[:, 3:4]], 1)
    D = correlation_distance(Xd)
    assert D[0, 5] <= 1e-6 and D[1, 6] <= 1e-6 and D[3, 7] <= 1e-6


def test_half_precision_computed_in_float32():
    X = _randn(32, 6, seed=7, dtype=torch.float32)
    D = correlation_distance(X.to(torch.bfloat16))
    assert D.dtype == torch.float32
    torch.testing.assert_close(D, correlation_distance(X), atol=0.05, rtol=0)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="batch, n_neurons"):
        correlation_distance(torch.zeros(3, 4, 5))
    with pytest.raises(TypeError, match="floating-point"):
        correlation_distance(torch.zeros(3, 4, dtype=torch.int64))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 8)),
              elements=st.one_of(st.just(0.0), st.floats(-1e6, 1e6, allow_subnormal=False))))
def test_distance_is_always_a_finite_dissimilarity(A):
    X = torch.tensor(A, requires_grad=True)
    D = correlation_distance(X)
    D.sum().backward()
    assert torch.isfinite(D).all() and torch.isfinite(X.grad).all()
    assert torch.equal(D, D.T)
    assert (D.diagonal() == 0).all()
    assert D.min() >= 0 and D.max() <= 1


