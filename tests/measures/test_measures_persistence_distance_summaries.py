"""Correlation distance, persistence summaries and neuron sampling against hand values."""

import math

import numpy as np
import pytest

from measures.persistence.distance import correlation_distance, zero_variance_mask
from measures.persistence.sampling import argmax_counts, draw_neurons, importance_probabilities
from measures.persistence.summaries import STATISTICS, persistent_entropy, summary_statistics

# ---------------------------------------------------------------- distance


def test_matches_corrcoef_on_ordinary_neurons():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30)) @ rng.standard_normal((30, 30))
    want = 1 - np.abs(np.corrcoef(X.T))
    np.fill_diagonal(want, 0)
    np.testing.assert_allclose(correlation_distance(X), np.clip(want, 0, 1), rtol=0, atol=1e-12)


def test_constant_and_duplicate_neurons():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 7)).astype(np.float32)
    X[:, 1] = 0.0  # dead ReLU
    X[:, 2] = 3.7  # constant non-zero: np.corrcoef gives finite garbage here
    X[:, 3] = 1e6  # large constant
    X[:, 4] = X[:, 0]  # duplicate
    X[:, 5] = -2 * X[:, 0] + 5  # negated, rescaled duplicate
    D = correlation_distance(X)
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
        correlation_distance(np.array([[1.0, 2.0, np.nan], [2.0, 3.0, 1.0]]))
    with pytest.raises(ValueError, match="at least 2 samples"):
        correlation_distance(np.ones((1, 3)))


# ---------------------------------------------------------------- summaries


def test_summaries_by_hand():
    pairs = np.array([[0.0, 1.0], [0.5, 2.0], [1.0, np.inf]])  # the infinite point is ignored
    s = summary_statistics(pairs)
    assert list(s) == list(STATISTICS)
    want = {
        "n_points": 2, "mean_birth": 0.25, "std_birth": 0.25, "mean_death": 1.5, "std_death": 0.5,
        "median_death": 1.5, "mean_life": 1.25, "std_life": 0.25, "median_life": 1.25,
        "mean_midlife": 0.875, "std_midlife": 0.375, "total_persistence": 2.5,
        "persistent_entropy": -(0.4 * math.log(0.4) + 0.6 * math.log(0.6)), "max_life": 1.5,
        "life_top1": 1.5, "life_top2": 1.0,
    }
    want.update({f"life_top{k}": 0.0 for k in range(3, 11)})
    assert s == pytest.approx(want, rel=1e-12)


def test_summaries_of_empty_diagrams_are_zero():
    for pairs in (np.zeros((0, 2)), np.array([[0.0, np.inf]])):
        s = summary_statistics(pairs)
        assert all(v == 0.0 for v in s.values()), s


def test_entropy_uniform_and_zero_length_points():
    pairs = np.column_stack([np.zeros(8), np.full(8, 0.3)])
    assert persistent_entropy(pairs) == pytest.approx(math.log(8))
    with_zero = np.vstack([pairs, [[0.2, 0.2]]])
    assert persistent_entropy(with_zero) == pytest.approx(math.log(8))
    assert np.isfinite(list(summary_statistics(with_zero).values())).all()


# ---------------------------------------------------------------- sampling


def test_argmax_counts_by_hand():
    # 3 inputs; layer a has 2 neurons, layer b has 3 (pooled indices 0..4)
    a = np.array([[1.0, -5.0], [0.5, 0.1], [2.0, 0.0]])
    b = np.array([[0.0, 4.0, 1.0], [0.0, 0.2, -3.0], [-2.0, 1.0, 0.0]])
    # input 0: |-5| at 1; input 1: |-3| at 4; input 2: tie 2.0 (pool 0) vs |-2| (pool 2) -> first wins
    np.testing.assert_array_equal(argmax_counts([a, b]), [1, 1, 0, 0, 1])


def test_importance_probabilities_formula():
    counts = np.array([2, 0, 1, 0, 0])  # N = 3 inputs, M = 5 neurons, K = 2
    p = importance_probabilities(counts)
    np.testing.assert_allclose(p, [2 / 4, 1 / 12, 1 / 4, 1 / 12, 1 / 12], rtol=1e-15)
    # every neuron an argmax (K = M): renormalised counts
    np.testing.assert_allclose(importance_probabilities(np.array([1, 2])), [1 / 3, 2 / 3])


def test_weighted_draws_follow_the_probabilities():
    p = importance_probabilities(np.array([5, 0, 2, 0, 0, 1]))
    rng = np.random.default_rng(0)
    n = 20000
    freq = np.bincount([draw_neurons(rng, 6, 1, p)[0] for _ in range(n)], minlength=6) / n
    np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(0.25 / n))
    two = draw_neurons(rng, 6, 4, p)
    assert len(set(two.tolist())) == 4 and (np.diff(two) > 0).all()
    np.testing.assert_array_equal(draw_neurons(rng, 6, 10, p), np.arange(6))
