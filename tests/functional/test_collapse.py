"""collapse_metrics: NC1 against numpy's pinv and Papyan et al.'s svds recipe; closed forms on constructed
embeddings (simplex ETF, two whitened Gaussians); invariance to relabelling and to neuron order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import svds

from functional.collapse import cdnv, class_means_and_variances, effective_depth, nc1, ncc_predict
from measures.neural_collapse import NeuralCollapseParams, neural_collapse


def nc1_by_pinv(H, y, global_mean="samples"):
    """Tr(Sigma_W Sigma_B^+) / C with the (d, d) matrices formed and numpy's pinv (Papyan et al. 2020, Fig. 6)."""
    classes = np.unique(y)
    mu = np.stack([H[y == c].mean(axis=0) for c in classes])
    mu_g = H.mean(axis=0) if global_mean == "samples" else mu.mean(axis=0)
    R = H - mu[np.searchsorted(classes, y)]
    sigma_w = R.T @ R / len(H)
    sigma_b = (mu - mu_g).T @ (mu - mu_g) / len(classes)
    return np.trace(sigma_w @ np.linalg.pinv(sigma_b, rcond=1e-10, hermitian=True)) / len(classes)


def nc1_by_svds(H, y):
    """The recipe of Papyan et al.'s public code: mu_G = mean of the class means, Sigma_B^+ from the top C - 1
    singular triplets of Sigma_B (scipy.sparse.linalg.svds)."""
    classes = np.unique(y)
    mu = np.stack([H[y == c].mean(axis=0) for c in classes])
    R = H - mu[np.searchsorted(classes, y)]
    M = mu - mu.mean(axis=0)
    vecs, vals, _ = svds(M.T @ M / len(classes), k=len(classes) - 1, random_state=0)
    return np.trace((R.T @ R / len(H)) @ vecs @ np.diag(1 / vals) @ vecs.T) / len(classes)


def ours(H, y, global_mean="samples"):
    classes = np.unique(y)
    y_idx = np.searchsorted(classes, y)
    means, _ = class_means_and_variances(H, y_idx, classes.size)
    return nc1(H, y_idx, means, global_mean)


@pytest.mark.parametrize("n, d, k", [(80, 6, 4), (30, 300, 5)])  # the second: n_neurons >> n_samples
def test_nc1_matches_pinv_and_svds(n, d, k):
    rng = np.random.default_rng(n + d)
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)]) * 7 - 3  # imbalanced, arbitrary label values
    H = rng.standard_normal((n, d)) + 0.7 * rng.standard_normal((k, d))[(y + 3) // 7]
    for global_mean in ("samples", "class_means"):
        assert ours(H, y, global_mean) == pytest.approx(nc1_by_pinv(H, y, global_mean), rel=1e-8)
    assert ours(H, y, "class_means") == pytest.approx(nc1_by_svds(H, y), rel=1e-8)
    assert ours(H, y, "samples") != pytest.approx(ours(H, y, "class_means"), rel=1e-6)  # imbalance matters


def whitened(rng, n, d, sigma, y=None):
    """(n, d) residuals with zero mean within each group of ``y`` (one group when None) and pooled second
    moment R^T R / n exactly sigma^2 I (the right-multiplication keeps the group means at zero)."""
    y = np.zeros(n, dtype=int) if y is None else y
    R = rng.standard_normal((n, d))
    R -= np.stack([R[y == g].mean(axis=0) for g in range(y.max() + 1)])[y]
    return sigma * R @ np.linalg.inv(np.linalg.cholesky(R.T @ R / n)).T


def simplex_etf(k, d, scale, rng):
    """k class means forming a simplex ETF of squared norm scale^2 in a random k-dim subspace of R^d, offset."""
    Q = np.linalg.qr(rng.standard_normal((d, k)))[0]
    M = np.sqrt(k / (k - 1)) * (np.eye(k) - 1 / k)
    return scale * M @ Q.T + rng.standard_normal(d)


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_simplex_etf_closed_forms(sigma):
    # Means at a simplex ETF (pairwise distance^2 D^2 = 2 k scale^2 / (k - 1)), residuals with pooled covariance
    # sigma^2 I and zero class means. Sigma_B = (1/k) sum (mu_c - mu_G)(.)^T has k - 1 eigenvalues
    # scale^2 / (k - 1), so NC1 = sigma^2 (k - 1)^2 / (k scale^2); balanced classes give
    # mean_c Var_c = tr(Sigma_W) = d sigma^2 and CDNV = d sigma^2 / D^2. sigma = 0 is full collapse.
    rng = np.random.default_rng(5)
    k, d, per_class, scale = 4, 10, 6, 2.5
    mu = simplex_etf(k, d, scale, rng)
    y = np.repeat(np.arange(k), per_class)
    H = mu[y] + whitened(rng, k * per_class, d, sigma, y)
    D2 = 2 * k * scale**2 / (k - 1)
    assert np.allclose(((mu[:, None] - mu[None]) ** 2).sum(-1)[~np.eye(k, dtype=bool)], D2)
    means, var = class_means_and_variances(H, y, k)
    assert nc1(H, y, means) == pytest.approx(sigma**2 * (k - 1) ** 2 / (k * scale**2), rel=1e-9, abs=1e-24)
    assert cdnv(means, var) == pytest.approx(d * sigma**2 / D2, rel=1e-9, abs=1e-24)
    assert np.array_equal(ncc_predict(H, means), y)  # NCC accuracy 1


def test_two_whitened_gaussians_closed_forms():
    # Class c: mu_c + residuals of sample covariance sigma_c^2 I_d (ddof 0), n per class. Galanti et al.'s
    # Var_c = E||h - mu_c||^2 = d sigma_c^2, so CDNV = d (s1^2 + s2^2) / (2 ||Delta||^2); Papyan et al.'s
    # Sigma_W = (s1^2 + s2^2)/2 I, Sigma_B = Delta Delta^T / 4, so NC1 = (s1^2 + s2^2) / ||Delta||^2.
    # A ddof-1 variance, a missing factor 2 or a missing 1/C each move these by far more than rel=1e-9.
    rng = np.random.default_rng(6)
    n, d, s1, s2 = 25, 7, 0.5, 1.5
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d) + 2
    H = np.vstack([mu1 + whitened(rng, n, d, s1), mu2 + whitened(rng, n, d, s2)])
    y = np.repeat([0, 1], n)
    delta2 = np.sum((mu1 - mu2) ** 2)
    means, var = class_means_and_variances(H, y, 2)
    np.testing.assert_allclose(var, [d * s1**2, d * s2**2], rtol=1e-12)
    assert cdnv(means, var) == pytest.approx(d * (s1**2 + s2**2) / (2 * delta2), rel=1e-9)
    assert nc1(H, y, means) == pytest.approx((s1**2 + s2**2) / delta2, rel=1e-9)


def test_nc1_undefined_when_class_means_coincide():
    H = np.array([[1.0, 2.0], [3.0, 4.0], [3.0, 4.0], [1.0, 2.0]])
    y = np.array([0, 0, 1, 1])
    means, var = class_means_and_variances(H, y, 2)
    assert nc1(H, y, means) is None and cdnv(means, var) is None


def test_effective_depth_counts_errors_not_rounded_rates():
    # 29 errors of 100 is an error rate of exactly 0.29 = epsilon; 1 - 0.71 > 0.29 in floating point
    assert effective_depth([40, 29, 0], 100, 0.29) == 2
    assert effective_depth([40, 30, 0], 100, 0.29) == 3
    assert effective_depth([40, 30], 100, 0.29) is None
    assert effective_depth([], 100, 0.5) is None


def two_layer_sample(seed, k):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, 30)])
    layers = {"fc1": rng.standard_normal((y.size, 6)) + 0.5 * y[:, None],
              "fc2": rng.standard_normal((y.size, 9)) + 3.0 * rng.standard_normal((k, 9))[y],
              "output": rng.standard_normal((y.size, k))}
    return layers, y


def measure(layers, y, test_rows):
    return sorted(neural_collapse(NeuralCollapseParams(effective_depth_epsilon=0.1),
                                  preactivations={"train": layers, "test": {n: h[test_rows] for n, h in layers.items()}},
                                  labels={"train": y, "test": y[test_rows]}).rows)


def assert_same_rows(a, b):
    assert [r[:2] for r in a] == [r[:2] for r in b]
    np.testing.assert_allclose([r[2] for r in a], [r[2] for r in b], rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 5), perm_seed=st.integers(0, 1000))
def test_invariant_to_class_relabelling(seed, k, perm_seed):
    layers, y = two_layer_sample(seed, k)
    new_ids = np.random.default_rng(perm_seed).permutation(50)[:k] - 10  # any distinct integers, any order
    test_rows = np.arange(y.size)[::-1]
    assert_same_rows(measure(layers, y, test_rows), measure(layers, new_ids[y], test_rows))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 5), perm_seed=st.integers(0, 2**32 - 1))
def test_invariant_to_neuron_order(seed, k, perm_seed):
    layers, y = two_layer_sample(seed, k)
    rng = np.random.default_rng(perm_seed)
    permuted = {name: h[:, rng.permutation(h.shape[1])] for name, h in layers.items()}
    test_rows = np.arange(0, y.size, 2)
    assert_same_rows(measure(layers, y, test_rows), measure(permuted, y, test_rows))


def _low_rank_logits(dtype):
    """Logits of a 10-class linear read-out of an 8-unit hidden layer: rank 8 < C - 1 = 9."""
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(10), 60)
    hidden = np.maximum(rng.normal(size=(600, 8)) + 2.0 * rng.normal(size=(10, 8))[y], 0.0)
    W, b = rng.normal(size=(10, 8)), rng.normal(size=10)
    return (hidden.astype(dtype) @ W.astype(dtype).T + b.astype(dtype)), y


def test_nc1_of_float32_low_rank_layer_equals_float64_reference():
    # Between-class scatter of rank 8 < C - 1: float32 rounding leaves a 9th singular value near 1e-7
    # relative, which a float64 rank cut-off counted as rank (NC1 blew up to tens or hundreds).
    H64, y = _low_rank_logits(np.float64)
    H32, _ = _low_rank_logits(np.float32)
    ref = nc1(H64, y, class_means_and_variances(H64, y, 10)[0])
    assert ref == pytest.approx(nc1_by_pinv(H64, y), rel=1e-8)  # independent: dense (d, d) pseudo-inverse
    got = nc1(H32, y, class_means_and_variances(H32, y, 10)[0])
    assert got == pytest.approx(ref, rel=1e-4)
