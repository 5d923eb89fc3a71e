"""H0 (MST) and H1 (gudhi Ripser fork) against independent engines."""

import gudhi
import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist, squareform

from functional.correlation.arrays import correlation_distance
from functional.persistence.h0 import h0_diagram
from functional.persistence.rips import rips_h1_diagram, rips_h1_diagrams


def euclidean_with_duplicates(seed, n=30, dim=3, n_dup=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim))
    X[-n_dup:] = X[rng.choice(n - n_dup, n_dup, replace=False)]  # exact duplicates
    return squareform(pdist(X))


def gudhi_diagram(D, dim):
    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=dim + 1)
    st.compute_persistence(homology_coeff_field=2)
    return np.asarray(st.persistence_intervals_in_dimension(dim)).reshape(-1, 2)


def sorted_pairs(p):
    p = np.asarray(p, dtype=float).reshape(-1, 2)
    return p[np.lexsort((p[:, 1], p[:, 0]))]


@pytest.mark.parametrize("seed", range(4))
def test_h0_matches_scipy_single_linkage_and_gudhi(seed):
    D = euclidean_with_duplicates(seed)
    n = D.shape[0]
    dgm = h0_diagram(D)
    assert dgm.shape == (n, 2) and (dgm[:, 0] == 0).all()
    assert np.isinf(dgm[-1, 1]) and np.isfinite(dgm[:-1, 1]).all()
    deaths = dgm[:-1, 1]
    # single-linkage merge heights are the MST weights, zero merges (duplicates) included
    heights = np.sort(linkage(squareform(D, checks=False), method="single")[:, 2])
    np.testing.assert_allclose(deaths, heights, rtol=0, atol=1e-12)
    assert (deaths == 0).sum() == 4
    # gudhi drops the zero-length bars of the duplicates
    ref = gudhi_diagram(D, 0)
    assert np.isinf(ref[:, 1]).sum() == 1
    np.testing.assert_allclose(np.sort(ref[np.isfinite(ref[:, 1]), 1]), deaths[deaths > 0], rtol=0, atol=1e-12)


def test_h0_on_correlation_distance_with_near_duplicates():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((100, 20))
    X[:, 1] = 2.0 * X[:, 0] + 1.0  # |corr| = 1: distance exactly 0 (snapped)
    X[:, 2] = X[:, 3] + 1e-5 * rng.standard_normal(100)  # distance ~1e-11, which scipy's MST would drop
    D = correlation_distance(X)
    deaths = h0_diagram(D)[:-1, 1]
    heights = np.sort(linkage(squareform(D, checks=False), method="single")[:, 2])
    np.testing.assert_allclose(deaths, heights, rtol=0, atol=1e-12)
    assert deaths[0] == 0.0 and 0 < deaths[1] < 1e-9


def test_h1_circle_has_one_bar_at_the_known_scale():
    # n points evenly spaced on the unit circle: the Rips H1 class is born when
    # neighbours connect (chord of 1 step) and dies at the first k with k/n > 1/3
    # (Adamaszek and Adams 2017): k = 14 for n = 40.
    n = 40
    t = 2 * np.pi * np.arange(n) / n
    D = squareform(pdist(np.c_[np.cos(t), np.sin(t)]))
    dgm = rips_h1_diagram(D)
    assert dgm.shape == (1, 2)
    assert dgm[0, 0] == pytest.approx(2 * np.sin(np.pi / n), rel=1e-12)
    assert dgm[0, 1] == pytest.approx(2 * np.sin(14 * np.pi / n), rel=1e-12)
    np.testing.assert_array_equal(sorted_pairs(gudhi_diagram(D, 1)), dgm)


@pytest.mark.parametrize("seed", range(3))
def test_h1_matches_gudhi_simplex_tree_exactly(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((50, 4)) @ rng.standard_normal((4, 45)) + rng.standard_normal((50, 45))
    A[:, 0] = 0.0  # a dead neuron
    for D in (euclidean_with_duplicates(seed, n=45, dim=4), correlation_distance(A)):
        got = rips_h1_diagram(D)
        ref = sorted_pairs(gudhi_diagram(D, 1))
        ref = ref[ref[:, 1] > ref[:, 0]]
        assert len(got) > 5
        np.testing.assert_array_equal(got, ref)


def test_h1_matches_ripser():
    ripser = pytest.importorskip("ripser")
    rng = np.random.default_rng(7)
    D = correlation_distance(rng.standard_normal((40, 3)) @ rng.standard_normal((3, 50))
                             + 0.7 * rng.standard_normal((40, 50)))
    ref = sorted_pairs(ripser.ripser(D, distance_matrix=True, maxdim=1)["dgms"][1])
    ref = ref[ref[:, 1] > ref[:, 0]]
    got = rips_h1_diagram(D)
    assert got.shape == ref.shape and len(got) > 5
    np.testing.assert_allclose(got, ref, atol=1e-6)  # ripser.py works in float32


def test_h1_threads_give_the_same_diagrams_and_small_inputs():
    Ds = [euclidean_with_duplicates(s, n=25) for s in range(3)]
    one = rips_h1_diagrams(Ds, n_jobs=1)
    two = rips_h1_diagrams(Ds + [np.zeros((2, 2))], n_jobs=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    assert two[-1].shape == (0, 2)


def test_nan_or_negative_distances_are_rejected():
    D = np.zeros((5, 5))
    D[1, 2] = np.nan
    with pytest.raises(ValueError, match="1 NaN and 0 infinite entries"):
        rips_h1_diagram(D)
    with pytest.raises(ValueError, match="1 NaN and 0 infinite entries"):
        h0_diagram(D)
    D[1, 2] = -1.0
    with pytest.raises(ValueError, match="negative"):
        rips_h1_diagram(D)
