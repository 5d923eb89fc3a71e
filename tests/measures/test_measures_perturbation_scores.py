"""Gi-score, Pal-score and PCD of perturbation response curves against closed forms, quadrature and the
mean-difference definition of the Gini coefficient."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from measures.perturbation.scores import check_curve, gi_score, pal_score, perturbation_cumulative_density


def quad_pcd(t, acc, x):
    """PCD(x) by adaptive quadrature of the linearly interpolated curve (scipy reference)."""
    def f(s):
        return np.interp(s, t, acc)

    part = integrate.quad(f, 0, x, points=t[(t > 0) & (t < x)], limit=200)[0]
    return part / integrate.quad(f, 0, 1, points=t[1:-1], limit=200)[0]


def test_flat_curve_is_the_line_of_equality():
    # Closed form: constant accuracy -> PCD(t) = t, Gini 0, Palma 0.1 / 0.4.
    t = np.linspace(0, 0.5, 6)
    acc = np.full(6, 0.8)
    np.testing.assert_allclose(perturbation_cumulative_density(t, acc, [0.0, 0.3, 1.0]), [0.0, 0.3, 1.0])
    assert gi_score(t, acc) == pytest.approx(0.0, abs=1e-12)
    assert pal_score(t, acc) == pytest.approx(0.25)


def test_linear_decay_closed_form():
    # A(t) = 1 - t: PCD = 2t - t^2, int PCD = 2/3, Gini = 2 * 2/3 - 1 = 1/3;
    # Palma = PCD(0.1) / (1 - PCD(0.6)) = 0.19 / 0.16.
    t = np.linspace(0, 1, 5)
    acc = 1 - t
    assert gi_score(t, acc) == pytest.approx(1 / 3)
    assert pal_score(t, acc) == pytest.approx(0.19 / 0.16)
    # the magnitudes' unit does not matter: the curve is normalised to [0, 1]
    assert gi_score(3 * t + 2, acc) == pytest.approx(1 / 3)


@pytest.mark.parametrize("s", [0.2, 0.5, 0.75])
def test_step_curve_closed_form(s):
    # Accuracy 0.9 up to s, 0 after (a near-vertical step): Gini = 1 - s; Palma = (0.1/s) / 0 = inf when s <= 0.6,
    # else PCD(0.1) / (1 - PCD(0.6)) = (0.1/s) / ((s - 0.6)/s).
    eps = 1e-7
    t = np.array([0.0, s, s + eps, 1.0])
    acc = np.array([0.9, 0.9, 0.0, 0.0])
    assert gi_score(t, acc) == pytest.approx(1 - s, abs=1e-6)
    want = np.inf if s <= 0.6 else 0.1 / (s - 0.6)
    assert pal_score(t, acc) == pytest.approx(want, rel=1e-5)


def test_three_point_curve_by_hand():
    # t = 0, 0.5, 1; A = 1, 0.5, 0.25. Area = 0.5 * (0.75 + 0.375) = 0.5625.
    # int t A dt on [0, .5]: A = 1 - t -> [t^2/2 - t^3/3]_0^.5 = 0.125 - 0.041667 = 0.0833333;
    # on [.5, 1]: A = 0.75 - 0.5 t -> [0.375 t^2 - t^3/6]_.5^1 = (0.375 - 0.166667) - (0.09375 - 0.0208333) = 0.1354167.
    # Gi = 1 - 2 * 0.21875 / 0.5625 = 0.2222...
    # PCD(0.1) = (0.1 - 0.005) / 0.5625; PCD(0.6) = (0.375 + [0.75 t - 0.25 t^2]_.5^.6) / 0.5625
    #          = (0.375 + 0.36 - 0.3125) / 0.5625 = 0.4225 / 0.5625.
    t = np.array([0.0, 0.5, 1.0])
    acc = np.array([1.0, 0.5, 0.25])
    assert gi_score(t, acc) == pytest.approx(1 - 2 * (0.0833333333 + 0.1354166667) / 0.5625)
    assert pal_score(t, acc) == pytest.approx((0.095 / 0.5625) / (1 - 0.4225 / 0.5625))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=9), st.floats(0.0, 1.0))
def test_pcd_and_gini_match_quadrature(values, x):
    # Reference: scipy.integrate.quad on np.interp of the curve; Gini = 2 int_0^1 PCD - 1 by nested quadrature.
    acc = np.asarray(values)
    t = np.linspace(0, 1, acc.size)
    assert perturbation_cumulative_density(t, acc, x) == pytest.approx(quad_pcd(t, acc, x), abs=1e-8)
    gini = 2 * integrate.quad(lambda u: quad_pcd(t, acc, u), 0, 1, limit=200)[0] - 1
    assert gi_score(t, acc) == pytest.approx(gini, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=8))
def test_decreasing_curve_matches_income_gini_and_palma(values):
    # For a decreasing curve, ordering by magnitude is ordering by income (richest first), so the Gi- and Pal-scores
    # are the Gini coefficient (mean absolute difference / (2 * mean), Gini 1912) and the Palma ratio (top 10% share
    # / bottom 40% share) of the incomes A(t) of a fine uniform population of magnitudes.
    acc = np.sort(np.asarray(values))[::-1] + 0.05
    t = np.linspace(0, 1, acc.size)
    n = 4000
    income = np.sort(np.interp((np.arange(n) + 0.5) / n, t, acc))
    gini = np.abs(income[:, None] - income[None, :]).mean() / (2 * income.mean())
    palma = income[-n // 10:].sum() / income[: 4 * n // 10].sum()
    assert gi_score(t, acc) == pytest.approx(gini, abs=1e-4)
    assert pal_score(t, acc) == pytest.approx(palma, rel=1e-4)


def test_bad_curves_raise():
    with pytest.raises(ValueError, match="strictly increasing"):
        gi_score([0, 0.5, 0.5], [1, 1, 1])
    with pytest.raises(ValueError, match="one length"):
        gi_score([0, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="zero area"):
        gi_score([0, 1], [0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        check_curve([0, 1], [1, -0.1])
    with pytest.raises(ValueError, match="Palma shares"):
        pal_score([0, 1], [1, 1], richest=0.7, poorest=0.4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        perturbation_cumulative_density([0, 1], [1, 1], 1.5)
