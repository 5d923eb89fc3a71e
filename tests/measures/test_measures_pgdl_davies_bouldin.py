"""PGDL Davies-Bouldin index: scikit-learn's davies_bouldin_score, hand computations, invariances, pooling."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import davies_bouldin_score

from measures.pgdl.davies_bouldin import davies_bouldin_index, pooled_features


def clustered(seed, n=60, k=4, d=7):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    return rng.standard_normal((n, d)) + 2.5 * rng.standard_normal((k, d))[y], y


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn(seed):
    # Reference: scikit-learn's implementation, which Natekar and Sharma's code copies.
    X, y = clustered(seed)
    assert davies_bouldin_index(X, y) == pytest.approx(davies_bouldin_score(X, y), rel=1e-12)


def test_two_clusters_by_hand():
    # class 0: (0,0),(2,0): centroid (1,0), mean distance 1; class 1: (0,4),(0,8): centroid (0,6), mean distance 2
    # M = |(1,0)-(0,6)| = sqrt(37); R_01 = 3/sqrt(37) for both classes -> DB = 3/sqrt(37)
    X = np.array([[0, 0], [2, 0], [0, 4], [0, 8]], dtype=float)
    y = np.array([5, 5, 9, 9])
    assert davies_bouldin_index(X, y) == pytest.approx(3 / np.sqrt(37))


def test_three_clusters_takes_worst_pair_by_hand():
    # 1-D points; centroids 0, 2, 10; mean absolute deviations S = 1, 1, 2.
    # R01 = 2/2 = 1, R02 = 3/10, R12 = 3/8 -> max per class: 1, 1, 3/8 -> DB = (2 + 3/8) / 3
    X = np.array([[-1], [1], [1], [3], [8], [12]], dtype=float)
    y = np.array([0, 0, 1, 1, 2, 2])
    assert davies_bouldin_index(X, y) == pytest.approx((2 + 3 / 8) / 3)


def test_exponent_q_two_by_hand():
    # class 0: centroid (0,0), distances 1, 3, 2 -> S_0 = sqrt((1 + 9 + 4) / 3) with q = 2 (q = 1: mean 2);
    # class 1: centroid (10,0), distances 1, 1 -> S_1 = 1 for any q; M = 10 -> DB = (S_0 + 1) / 10
    X = np.array([[1, 0], [-3, 0], [2, 0], [10, 1], [10, -1]], dtype=float)
    y = np.array([0, 0, 0, 1, 1])
    assert davies_bouldin_index(X, y, q=2) == pytest.approx((np.sqrt(14 / 3) + 1) / 10)
    assert davies_bouldin_index(X, y, q=1) == pytest.approx((2 + 1) / 10)


def test_degenerate_cases_follow_scikit_learn():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [3.0, 0.0], [3.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    assert davies_bouldin_index(X, y) == davies_bouldin_score(X, y) == 0.0  # zero scatter
    X2 = np.array([[0.0], [2.0], [1.0], [1.0], [5.0], [7.0]])  # classes 0 and 1 share centroid 1
    y2 = np.array([0, 0, 1, 1, 2, 2])
    assert davies_bouldin_index(X2, y2) == pytest.approx(davies_bouldin_score(X2, y2))


@pytest.mark.parametrize("X, y, match", [
    (np.zeros((4, 2)), np.zeros(4), "between 2 and"),
    (np.zeros((3, 2)), np.array([0, 1, 2]), "between 2 and"),
    (np.zeros((4, 2)), np.zeros(3), "shape"),
    (np.full((4, 2), np.nan), np.array([0, 0, 1, 1]), "non-finite"),
])
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        davies_bouldin_index(X, y)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000))
def test_invariant_to_class_relabelling_and_neuron_permutation(seed, perm_seed):
    X, y = clustered(seed, n=30, k=3, d=5)
    rng = np.random.default_rng(perm_seed)
    new_names = rng.choice(100, size=3, replace=False)
    base = davies_bouldin_index(X, y)
    assert davies_bouldin_index(X, new_names[y]) == pytest.approx(base, rel=1e-12)
    assert davies_bouldin_index(X[:, rng.permutation(X.shape[1])], y) == pytest.approx(base, rel=1e-12)


def test_pooling_by_hand():
    # one 4x5 map, pool 2: windows over rows 0-1 / 2-3 and columns 0-1 / 2-3; column 4 is dropped ("valid")
    h = torch.arange(20, dtype=torch.float32).view(1, 1, 4, 5)
    np.testing.assert_array_equal(pooled_features(h, 2), [[6, 8, 16, 18]])
    # 1-D maps (channels, length) and dense layers
    np.testing.assert_array_equal(pooled_features(torch.tensor([[[1.0, 5.0, 2.0, 0.0, 9.0]]]), 2), [[5, 2]])
    np.testing.assert_array_equal(pooled_features(torch.ones(2, 3), 4), np.ones((2, 3)))
    with pytest.raises(ValueError, match="smaller than the pool"):
        pooled_features(torch.ones(1, 1, 3, 3), 4)
