"""Correlation distance between neurons and the neuron selection of Ballester et al."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from models.regularisers.correlation import (
    correlation_distance,
    correlation_matrix,
    select_neuron_indices,
    select_neurons,
    zero_variance_mask,
)


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


# --- neuron selection -------------------------------------------------------------------------


def _hand_activations():
    # fc1: mean |a| over the batch = [0.5, 3, 1, 3, 0, 2, 0.1, 0.2, 4, 0.3]
    m1 = torch.tensor([0.5, 3, 1, 3, 0, 2, 0.1, 0.2, 4, 0.3])
    fc1 = torch.stack([m1, -m1])  # (batch 2, 10): |a| is m1 on both examples
    fc2 = torch.tensor([[1.0, -5.0, 2.0], [1.0, 5.0, 2.0]])  # mean |a| = [1, 5, 2]
    out = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    return {"fc1": fc1, "fc2": fc2, "output": out}


def test_select_neuron_indices_by_hand():
    acts = _hand_activations()
    idx = select_neuron_indices(acts, 0.3)
    # floor(0.3 * 10) = 3: neurons 8 (4), then the tie 1 and 3 (3, lower index first)
    assert idx["fc1"].tolist() == [8, 1, 3]
    # floor(0.3 * 3) = 0, raised to 1: neuron 1
    assert idx["fc2"].tolist() == [1]
    assert idx["output"].tolist() == [0, 1]  # the logits whole
    X = select_neurons(acts, 0.3)
    expected = torch.cat([acts["fc1"][:, [8, 1, 3]], acts["fc2"][:, [1]], acts["output"]], 1)
    assert torch.equal(X, expected)


def test_select_all_and_rounding():
    acts = _hand_activations()
    assert torch.equal(select_neurons(acts, 1.0), torch.cat(list(acts.values()), 1))
    a = {"h": torch.rand(4, 100), "output": torch.rand(4, 3)}
    assert len(select_neuron_indices(a, 0.29)["h"]) == 29  # 0.29 * 100 = 28.999999999999996
    assert len(select_neuron_indices(a, 0.005)["h"]) == 1


def test_selection_gradient_flows_to_selected_only():
    acts = {k: v.clone().requires_grad_() for k, v in _hand_activations().items()}
    select_neurons(acts, 0.3).sum().backward()
    g1 = acts["fc1"].grad
    assert (g1[:, [8, 1, 3]] == 1).all() and g1.sum() == 6
    assert (acts["output"].grad == 1).all()


def test_selection_flattens_conv_outputs():
    acts = {"conv": torch.rand(4, 2, 3, 3), "output": torch.rand(4, 5)}
    assert select_neurons(acts, 1.0).shape == (4, 23)
    assert select_neurons(acts, 0.5).shape == (4, 9 + 5)


def test_selection_errors():
    with pytest.raises(ValueError, match="empty"):
        select_neurons({}, 1.0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        select_neurons(_hand_activations(), 0.0)
