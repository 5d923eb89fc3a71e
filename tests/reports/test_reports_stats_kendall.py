"""Kendall's tau (Jiang et al. 2020 Eq. (3)) and the granulated coefficients (Eq. (4)-(5)).

References: scipy.stats.kendalltau (tau-b and its p-value); Eq. (3) written out
below as a double loop over ordered pairs; psi values computed by hand on a
2 x 3 full-factorial design.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from reports.stats.kendall import encode_axes, granulated_kendall, kendall_tau


def _eq3(mu, g) -> float:
    """Jiang et al. 2020 Eq. (3): mean of sign products over ordered pairs of distinct models."""
    n = len(mu)
    total = sum(np.sign(mu[a] - mu[b]) * np.sign(g[a] - g[b])
                for a in range(n) for b in range(n) if a != b)
    return total / (n * (n - 1))


# The 2 x 3 design (a in {0, 1}, b in {0, 1, 2}), one model per configuration.
A = [0, 0, 0, 1, 1, 1]
B = [0, 1, 2, 0, 1, 2]
GAP = np.array([0.10, 0.20, 0.30, 0.15, 0.05, 0.40])
MU = np.array([1.0, 3.0, 2.0, 0.5, 4.0, 0.1])


def test_psi_by_hand_on_full_factorial_design():
    # psi_a: cells b=0,1,2, one pair each:
    #   b=0: dg=-0.05, dmu=+0.5 -> -1; b=1: dg=+0.15, dmu=-1 -> -1; b=2: dg=-0.1, dmu=+1.9 -> -1
    # psi_b: cell a=0: g (.1,.2,.3), mu (1,3,2): pairs 01 +1, 02 +1, 12 -1 -> 1/3
    #        cell a=1: g (.15,.05,.4), mu (.5,4,.1): pairs 01 -1, 02 -1, 12 -1 -> -1
    res = granulated_kendall(MU, GAP, {"a": A, "b": B})
    assert res.psi["a"] == pytest.approx(-1.0)
    assert res.psi["b"] == pytest.approx((1 / 3 - 1) / 2)
    assert res.Psi == pytest.approx((-1.0 + (1 / 3 - 1) / 2) / 2)
    assert res.n_cells == {"a": 3, "b": 2}
    assert res.n_pairs == {"a": 3, "b": 6}


def test_incomplete_design_averages_cells_not_pairs():
    # Without model (a=1, b=2): cell a=1 of axis b holds 2 models (pair -1), so
    # psi_b = mean(1/3, -1) = -1/3 (pooling the 4 pairs would give 0); cell b=2 of
    # axis a holds one model and is left out: psi_a = mean(-1, -1) over 2 cells.
    keep = slice(0, 5)
    res = granulated_kendall(MU[keep], GAP[keep], {"a": A[:5], "b": B[:5]})
    assert res.psi["b"] == pytest.approx(-1 / 3)
    assert res.psi["a"] == pytest.approx(-1.0)
    assert res.n_cells == {"a": 2, "b": 2}


def test_replicates_are_not_pairs_of_their_own_axis():
    # Two seeds per configuration of one axis: pairs of replicates do not differ in
    # the axis and are left out; the 4 cross pairs are all concordant.
    mu = np.array([1.0, 2.0, 5.0, 6.0])
    gap = np.array([0.2, 0.1, 0.3, 0.4])  # replicates 0,1 discordant with mu
    res = granulated_kendall(mu, gap, {"depth": [1, 1, 2, 2]})
    assert res.psi["depth"] == pytest.approx(1.0)
    assert res.n_pairs["depth"] == 4
    assert _eq3(mu, gap) == pytest.approx(kendall_tau(mu, gap).tau) != 1.0


def test_measure_equal_to_gap_gives_one_everywhere():
    rng = np.random.default_rng(0)
    axes = {"a": [], "b": [], "c": []}
    for a, b, c in itertools.product(range(2), range(3), range(2)):
        axes["a"].append(a), axes["b"].append(b), axes["c"].append(c)
    gap = rng.uniform(0, 0.5, len(axes["a"]))
    assert kendall_tau(gap, gap).tau == pytest.approx(1.0)
    res = granulated_kendall(gap, gap, axes)
    assert res.psi == pytest.approx({"a": 1.0, "b": 1.0, "c": 1.0})
    assert res.Psi == pytest.approx(1.0)


def test_measure_of_one_axis_orders_only_that_axis():
    # The gap grows with axis j in every cell (plus an effect of the other axis);
    # a measure that is a function of j alone is constant inside every cell of
    # axis i, so Eq. (3) gives 0 there (tau-b would be undefined), and 1 along j.
    j, i = [], []
    for a, b in itertools.product(range(3), range(4)):
        j.append(a), i.append(b)
    j, i = np.array(j), np.array(i)
    gap = 0.1 * j + 0.013 * np.sin(i + 1.0)
    mu = np.exp(j)
    res = granulated_kendall(mu, gap, {"j": j.tolist(), "i": i.tolist()})
    assert res.psi["j"] == pytest.approx(1.0)
    assert res.psi["i"] == 0.0
    assert res.Psi == pytest.approx(0.5)
    assert np.isnan(sps.kendalltau(mu[j == 0], gap[j == 0]).statistic)


def test_tau_matches_scipy_without_ties_and_eq3_with_ties():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=30), rng.normal(size=30)
    res = kendall_tau(x, y)
    ref = sps.kendalltau(x, y)
    assert res.tau == pytest.approx(ref.statistic) and res.tau_b == pytest.approx(ref.statistic)
    assert res.p == pytest.approx(ref.pvalue) and res.n == 30
    assert res.tau == pytest.approx(_eq3(x, y))
    # Ties: the paper's tau-a keeps tied pairs in the denominator; scipy's tau-b does not.
    xt, yt = np.round(x), np.round(y * 2) / 2
    res = kendall_tau(xt, yt)
    assert res.tau == pytest.approx(_eq3(xt, yt))
    assert res.tau_b == pytest.approx(sps.kendalltau(xt, yt).statistic)
    assert abs(res.tau) < abs(res.tau_b)
    assert res.p == pytest.approx(sps.kendalltau(xt, yt).pvalue)


def test_constant_measure_and_short_input():
    assert kendall_tau([1.0, 1.0, 1.0], [0.1, 0.2, 0.3]).tau == 0.0
    assert np.isnan(kendall_tau([1.0], [0.1]).tau)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="same shape"):
        kendall_tau([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least one"):
        granulated_kendall([1.0, 2.0], [1.0, 2.0], {})
    with pytest.raises(ValueError, match="one value per run"):
        encode_axes({"a": [1, 2, 3]}, 2)


def test_axis_values_compare_by_json_text():
    codes = encode_axes({"w": [[1, 2], [1, 2], None, "x"]}, 4)["w"]
    assert codes[0] == codes[1] and len(set(codes.tolist())) == 3
