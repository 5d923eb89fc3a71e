"""weight_spectrum against closed forms on matrices with chosen singular values."""

import math

import numpy as np
import pydantic
import pytest

from measures.registry import get_measure
from measures.weight_spectrum import WeightSpectrumParams, unfold, weight_spectrum


def with_singular_values(s, m, n, seed=0):
    """An (m, n) matrix U diag(s) V^T with random orthonormal U, V."""
    rng = np.random.default_rng(seed)
    k = len(s)
    U = np.linalg.qr(rng.standard_normal((m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((n, k)))[0]
    return U @ np.diag(s) @ V.T


def rows_of(result, layer):
    return {stat: value for lay, stat, value in result.rows if lay == layer}


def closed_forms(s):
    s = np.asarray(s, dtype=float)
    fro2 = float((s**2).sum())
    p = s[s > 0] / s.sum()
    H = float(-(p * np.log(p)).sum())
    S = float((s / s[0]).sum() / len(s))
    return {
        "frobenius_norm": math.sqrt(fro2),
        "spectral_norm": s[0],
        "stable_rank": fro2 / s[0] ** 2,
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
    got = rows_of(weight_spectrum(WeightSpectrumParams(), weights={"fc": W}), "fc")
    want = closed_forms(s)
    assert set(got) == set(want)
    for stat, value in want.items():
        assert got[stat] == pytest.approx(value, rel=1e-12), stat
    # hand values for this spectrum
    assert got["stable_rank"] == pytest.approx(38.25 / 25)
    assert got["stable_quality"] == pytest.approx(math.atan2(2.1 / 4, 0.9))


def test_rank_deficient_has_no_condition_number_and_finite_quality():
    W = with_singular_values([3.0, 1.0], 3, 5)  # rank 2 of min(3, 5) = 3
    got = rows_of(weight_spectrum(WeightSpectrumParams(), weights={"fc": W}), "fc")
    assert "condition_number" not in got
    assert got["inverse_condition_number"] == 0.0
    S = (1 + 1 / 3 + 0) / 3  # N = min(m, n) = 3 counts the zero singular value
    assert got["stable_quality"] == pytest.approx(math.atan2(S, 1.0), rel=1e-12)
    p = np.array([0.75, 0.25])
    assert got["effective_rank"] == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert all(np.isfinite(v) for v in got.values())


def test_zero_matrix_gives_only_norms_and_aggregates_skip_undefined():
    W1 = with_singular_values([2.0, 1.0], 2, 3)
    result = weight_spectrum(WeightSpectrumParams(), weights={"a": W1, "b": np.zeros((4, 3))})
    assert rows_of(result, "b") == {"frobenius_norm": 0.0, "spectral_norm": 0.0}
    agg = rows_of(result, "all")
    assert agg["mean_spectral_norm"] == pytest.approx(1.0)
    assert "mean_stable_rank" not in agg and "log_prod_spectral_norm" not in agg


def test_network_aggregates():
    s1, s2 = [4.0, 2.0], [3.0, 1.0, 1.0]
    weights = {"fc1": with_singular_values(s1, 2, 5, seed=1), "output": with_singular_values(s2, 3, 3, seed=2)}
    agg = rows_of(weight_spectrum(WeightSpectrumParams(), weights=weights), "all")
    c1, c2 = closed_forms(s1), closed_forms(s2)
    for stat in c1:
        assert agg[f"mean_{stat}"] == pytest.approx((c1[stat] + c2[stat]) / 2, rel=1e-12)
    assert agg["log_prod_spectral_norm"] == pytest.approx(math.log(4 * 3))
    assert agg["log_prod_frobenius_norm"] == pytest.approx(0.5 * math.log(20 * 11))


def test_conv_unfolding_by_hand():
    # W[o, i, 0, k] = 100 o + 10 i + k, shape (out=2, in=3, kh=1, kw=2)
    W = np.array([[[[100 * o + 10 * i + k for k in range(2)]] for i in range(3)] for o in range(2)], dtype=float)
    by_output = np.array([[0, 1, 10, 11, 20, 21],
                          [100, 101, 110, 111, 120, 121]], dtype=float)
    by_input = np.array([[0, 1, 100, 101],
                         [10, 11, 110, 111],
                         [20, 21, 120, 121]], dtype=float)
    np.testing.assert_array_equal(unfold(W, "output"), by_output)
    np.testing.assert_array_equal(unfold(W, "input"), by_input)
    for mode, M in (("output", by_output), ("input", by_input)):
        got = rows_of(weight_spectrum(WeightSpectrumParams(conv_unfolding=mode), weights={"conv": W}), "conv")
        s = np.linalg.svd(M, compute_uv=False)
        assert got["spectral_norm"] == pytest.approx(s[0], rel=1e-12)
        assert got["stable_rank"] == pytest.approx((s**2).sum() / s[0] ** 2, rel=1e-12)


def test_conv_kernel_with_chosen_spectrum():
    s = [6.0, 2.0, 1.5]
    W = with_singular_values(s, 3, 2 * 3 * 3).reshape(3, 2, 3, 3)  # output unfolding has spectrum s
    got = rows_of(weight_spectrum(WeightSpectrumParams(), weights={"conv": W}), "conv")
    for stat, value in closed_forms(s).items():
        assert got[stat] == pytest.approx(value, rel=1e-12), stat
    inp = rows_of(weight_spectrum(WeightSpectrumParams(conv_unfolding="input"), weights={"conv": W}), "conv")
    assert inp["frobenius_norm"] == pytest.approx(got["frobenius_norm"])  # same entries
    assert inp["spectral_norm"] != pytest.approx(got["spectral_norm"])  # different matrix


def test_errors_and_params():
    with pytest.raises(ValueError, match="at least one layer"):
        weight_spectrum(WeightSpectrumParams(), weights={})
    with pytest.raises(ValueError, match="shape"):
        weight_spectrum(WeightSpectrumParams(), weights={"b": np.ones(3)})
    with pytest.raises(ValueError, match="non-finite"):
        weight_spectrum(WeightSpectrumParams(), weights={"fc": np.array([[1.0, np.nan]])})
    with pytest.raises(pydantic.ValidationError):
        WeightSpectrumParams(conv_unfolding="rows")
    with pytest.raises(pydantic.ValidationError):
        WeightSpectrumParams(unknown=1)
    spec = get_measure("weight_spectrum")
    assert spec.providers == ("weights",) and spec.version == 1 and "Jaegerman" in spec.paper
    result = spec(WeightSpectrumParams(), weights={"fc": np.eye(3)}, labels=None)
    assert rows_of(result, "fc")["condition_number"] == pytest.approx(1.0)
