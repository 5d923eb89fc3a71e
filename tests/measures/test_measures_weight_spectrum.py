"""weight_spectrum against closed forms on matrices with chosen singular values.

References: the closed forms of each statistic on a chosen spectrum (written out below, with the
GenProb definitions: S = sum sigma_i / (N sigma_1), N = min(m, n); SQ = arctan2(S, 1 - 1/C)),
numpy's SVD of hand-unfolded conv kernels, scipy.stats.gmean and numpy.average for the
aggregations, and functional.evbmf (tested on its own) for the EVBMF preprocessing.
"""

import math

import numpy as np
import pydantic
import pytest
from scipy import stats

from functional.evbmf import evbmf
from measures.registry import get_measure
from functional.spectra import aggregate
from measures.weight_spectrum import WeightSpectrumParams, unfold, weight_spectrum

OUTPUT = WeightSpectrumParams(conv_unfolding="output")


def with_singular_values(s, m, n, seed=0):
    """An (m, n) matrix U diag(s) V^T with random orthonormal U, V."""
    rng = np.random.default_rng(seed)
    k = len(s)
    U = np.linalg.qr(rng.standard_normal((m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((n, k)))[0]
    return U @ np.diag(s) @ V.T


def rows_of(result, layer):
    return {stat: value for lay, stat, value in result.rows if lay == layer}


def closed_forms(s, n=None):
    """Every statistic of the spectrum s (descending, positive), N = n or len(s)."""
    s = np.asarray(s, dtype=float)
    n = n or len(s)
    fro2 = float((s**2).sum())
    p = s / s.sum()
    H = float(-(p * np.log(p)).sum())
    S = float((s / s[0]).sum() / n)
    return {
        "frobenius_norm": math.sqrt(fro2),
        "spectral_norm": s[0],
        "normalized_rank": len(s) / n,
        "stable_rank": fro2 / s[0] ** 2,
        "knowledge_gain": S,
        "spectral_entropy": H,
        "effective_rank": math.exp(H),
        "condition_number": s[0] / s[-1],
        "inverse_condition_number": s[-1] / s[0],
        "stable_quality": math.atan2(S, 1 - s[-1] / s[0]),
    }


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (4, 4)])
def test_linear_matches_closed_forms(shape):
    s = [5.0, 3.0, 2.0, 0.5]
    W = with_singular_values(s, *shape)
    got = rows_of(weight_spectrum(OUTPUT, weights={"fc": W}), "fc")
    want = closed_forms(s)
    assert set(got) == set(want)
    for stat, value in want.items():
        assert got[stat] == pytest.approx(value, rel=1e-12), stat
    # hand values for this spectrum
    assert got["stable_rank"] == pytest.approx(38.25 / 25)
    assert got["knowledge_gain"] == pytest.approx(2.1 / 4)
    assert got["stable_quality"] == pytest.approx(math.atan2(2.1 / 4, 0.9))


def test_rank_deficient_has_no_condition_number_and_finite_quality():
    W = with_singular_values([3.0, 1.0], 3, 5)  # rank 2 of min(3, 5) = 3
    got = rows_of(weight_spectrum(OUTPUT, weights={"fc": W}), "fc")
    assert "condition_number" not in got
    assert got["inverse_condition_number"] == 0.0
    assert got["normalized_rank"] == pytest.approx(2 / 3)
    S = (1 + 1 / 3 + 0) / 3  # N = min(m, n) = 3 counts the zero singular value
    assert got["knowledge_gain"] == pytest.approx(S, rel=1e-12)
    assert got["stable_quality"] == pytest.approx(math.atan2(S, 1.0), rel=1e-12)
    p = np.array([0.75, 0.25])
    assert got["effective_rank"] == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert all(np.isfinite(v) for v in got.values())


def test_zero_matrix_gives_only_norms_and_aggregates_skip_undefined():
    W1 = with_singular_values([2.0, 1.0], 2, 3)
    result = weight_spectrum(OUTPUT, weights={"a": W1, "b": np.zeros((4, 3))})
    assert rows_of(result, "b") == {"frobenius_norm": 0.0, "spectral_norm": 0.0, "normalized_rank": 0.0}
    agg = rows_of(result, "all")
    assert agg["mean_spectral_norm"] == pytest.approx(1.0)
    assert "mean_stable_rank" not in agg and "log_prod_spectral_norm" not in agg
    masked = rows_of(weight_spectrum(WeightSpectrumParams(conv_unfolding="output", mask_zeros=True),
                                     weights={"a": W1, "b": np.zeros((4, 3))}), "all")
    assert masked["mean_spectral_norm"] == pytest.approx(2.0)  # the zero layer is masked, as in GenProb
    assert masked["mean_stable_rank"] == pytest.approx(5 / 4)


def test_network_aggregates():
    s1, s2 = [4.0, 2.0], [3.0, 1.0, 1.0]
    weights = {"fc1": with_singular_values(s1, 2, 5, seed=1), "output": with_singular_values(s2, 3, 3, seed=2)}
    params = WeightSpectrumParams(aggregations=("mean", "rms", "geometric_mean", "weighted_mean",
                                                "weighted_geometric_mean"))
    result = weight_spectrum(params, weights=weights)
    agg = rows_of(result, "all")
    c1, c2 = closed_forms(s1), closed_forms(s2)
    # "both": a Linear weight counts for both unfoldings, as GenProb does; weights are min(m, n) = 2, 3
    assert rows_of(result, "fc1")["input_stable_rank"] == rows_of(result, "fc1")["output_stable_rank"]
    for stat in c1:
        x, w = np.array([c1[stat], c1[stat], c2[stat], c2[stat]]), np.array([2, 2, 3, 3])
        assert agg[f"mean_{stat}"] == pytest.approx((c1[stat] + c2[stat]) / 2, rel=1e-12)
        assert agg[f"rms_{stat}"] == pytest.approx(math.sqrt((c1[stat] ** 2 + c2[stat] ** 2) / 2), rel=1e-12)
        assert agg[f"gmean_{stat}"] == pytest.approx(stats.gmean(x), rel=1e-12)
        assert agg[f"wmean_{stat}"] == pytest.approx(np.average(x, weights=w), rel=1e-12)
        assert agg[f"wgmean_{stat}"] == pytest.approx(stats.gmean(x, weights=w), rel=1e-12)
    assert agg["log_prod_spectral_norm"] == pytest.approx(math.log(4 * 3))
    assert agg["log_prod_frobenius_norm"] == pytest.approx(0.5 * math.log(20 * 11))


def hand_kernel():
    # W[o, i, 0, k] = 100 o + 10 i + k, shape (out=2, in=3, kh=1, kw=2)
    W = np.array([[[[100 * o + 10 * i + k for k in range(2)]] for i in range(3)] for o in range(2)], dtype=float)
    by_output = np.array([[0, 1, 10, 11, 20, 21],
                          [100, 101, 110, 111, 120, 121]], dtype=float)
    by_input = np.array([[0, 1, 100, 101],
                         [10, 11, 110, 111],
                         [20, 21, 120, 121]], dtype=float)
    return W, by_output, by_input


def test_conv_unfolding_by_hand():
    W, by_output, by_input = hand_kernel()
    np.testing.assert_array_equal(unfold(W, "output"), by_output)  # mode-4: (out, in*kh*kw)
    np.testing.assert_array_equal(unfold(W, "input"), by_input)  # mode-3: (in, out*kh*kw)
    for mode, M in (("output", by_output), ("input", by_input)):
        got = rows_of(weight_spectrum(WeightSpectrumParams(conv_unfolding=mode), weights={"conv": W}), "conv")
        s = np.linalg.svd(M, compute_uv=False)
        assert got["spectral_norm"] == pytest.approx(s[0], rel=1e-12)
        assert got["stable_rank"] == pytest.approx((s**2).sum() / s[0] ** 2, rel=1e-12)
        assert got["knowledge_gain"] == pytest.approx(s.sum() / s[0] / min(M.shape), rel=1e-12)


def test_both_unfoldings_are_kept_and_pooled():
    W, by_output, by_input = hand_kernel()
    result = weight_spectrum(WeightSpectrumParams(aggregations=("mean", "weighted_mean")), weights={"conv": W})
    got, agg = rows_of(result, "conv"), rows_of(result, "all")
    so, si = np.linalg.svd(by_output, compute_uv=False), np.linalg.svd(by_input, compute_uv=False)
    assert got["output_spectral_norm"] == pytest.approx(so[0], rel=1e-12)
    assert got["input_spectral_norm"] == pytest.approx(si[0], rel=1e-12)
    assert agg["mean_spectral_norm"] == pytest.approx((so[0] + si[0]) / 2, rel=1e-12)
    assert agg["wmean_spectral_norm"] == pytest.approx((2 * so[0] + 3 * si[0]) / 5, rel=1e-12)
    assert agg["log_prod_spectral_norm"] == pytest.approx(math.log(so[0]), rel=1e-12)  # output unfolding


def test_conv_kernel_with_chosen_spectrum():
    s = [6.0, 2.0, 1.5]
    W = with_singular_values(s, 3, 2 * 3 * 3).reshape(3, 2, 3, 3)  # output unfolding has spectrum s
    got = rows_of(weight_spectrum(OUTPUT, weights={"conv": W}), "conv")
    for stat, value in closed_forms(s).items():
        assert got[stat] == pytest.approx(value, rel=1e-12), stat
    inp = rows_of(weight_spectrum(WeightSpectrumParams(conv_unfolding="input"), weights={"conv": W}), "conv")
    assert inp["frobenius_norm"] == pytest.approx(got["frobenius_norm"])  # same entries
    assert inp["spectral_norm"] != pytest.approx(got["spectral_norm"])  # different matrix


def test_evbmf_preprocessing_uses_the_low_rank_estimate():
    rng = np.random.default_rng(7)
    signal = with_singular_values([60.0, 45.0, 30.0], 40, 90, seed=8)
    W = signal + rng.standard_normal((40, 90))
    params = WeightSpectrumParams(conv_unfolding="output", preprocessing="evbmf")
    got = rows_of(weight_spectrum(params, weights={"fc": W}), "fc")
    est = evbmf(W)
    assert est.rank == 3
    want = closed_forms(est.singular_values, n=40)  # N = min(m, n), not the EVBMF rank
    assert got["normalized_rank"] == pytest.approx(3 / 40)
    for stat, value in want.items():
        assert got[stat] == pytest.approx(value, rel=1e-6), stat
    assert got["frobenius_norm"] == pytest.approx(np.linalg.norm(est.matrix()), rel=1e-6)
    assert got["noise_variance"] == pytest.approx(1.0, rel=0.1)
    assert got["spectral_norm"] < np.linalg.norm(W, 2)  # shrunk


def test_evbmf_rank_zero_layer_is_masked_on_request():
    rng = np.random.default_rng(9)
    weights = {"noise": rng.standard_normal((20, 50)),
               "signal": with_singular_values([50.0, 40.0], 20, 50) + 0.5 * rng.standard_normal((20, 50))}
    params = WeightSpectrumParams(preprocessing="evbmf")
    result = weight_spectrum(params, weights=weights)
    assert rows_of(result, "noise")["output_normalized_rank"] == 0.0
    assert "mean_stable_quality" not in rows_of(result, "all")
    masked = rows_of(weight_spectrum(params.model_copy(update={"mask_zeros": True}), weights=weights), "all")
    assert masked["mean_stable_quality"] == pytest.approx(rows_of(result, "signal")["output_stable_quality"])


def test_errors_and_params():
    with pytest.raises(ValueError, match="at least one layer"):
        weight_spectrum(WeightSpectrumParams(), weights={})
    with pytest.raises(ValueError, match="shape"):
        weight_spectrum(WeightSpectrumParams(), weights={"b": np.ones(3)})
    with pytest.raises(ValueError, match="non-finite"):
        weight_spectrum(WeightSpectrumParams(), weights={"fc": np.array([[1.0, np.nan]])})
    for bad in ({"conv_unfolding": "rows"}, {"preprocessing": "svd"}, {"aggregations": ("median",)},
                {"aggregations": ("mean", "mean")}, {"unknown": 1}):
        with pytest.raises(pydantic.ValidationError):
            WeightSpectrumParams(**bad)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        aggregate(np.ones(2), np.ones(2), "median")
    spec = get_measure("weight_spectrum")
    assert spec.providers == ("weights",) and spec.version == 2 and "Jaegerman" in spec.paper
    result = spec(OUTPUT, weights={"fc": np.eye(3)}, labels=None)
    assert rows_of(result, "fc")["condition_number"] == pytest.approx(1.0)
