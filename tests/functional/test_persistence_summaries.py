"""Persistence summaries and neuron sampling against hand values."""

import math

import numpy as np
import pytest
from gudhi.representations import ComplexPolynomial

from functional.persistence.sampling import argmax_counts, draw_neurons, importance_probabilities
from functional.persistence.summaries import (
    EXTRA_STATISTICS,
    STATISTICS,
    complex_polynomial_t,
    extra_statistics,
    persistent_entropy,
    pooling_vector,
    summary_statistics,
)

# ---------------------------------------------------------------- summaries


def test_summaries_by_hand():
    pairs = np.array([[0.0, 1.0], [0.5, 2.0], [1.0, np.inf]])  # the infinite point is ignored
    s = summary_statistics(pairs)
    assert list(s) == list(STATISTICS)
    want = {  # hand values; population std (ddof=0), as np.std in Ballester's diagram_vectorizations.py
        "mean_life": 1.25, "mean_midlife": 0.875, "mean_birth": 0.25, "mean_death": 1.5,
        "std_birth": 0.25, "std_death": 0.5,
        "persistent_entropy": -(0.4 * math.log(0.4) + 0.6 * math.log(0.6)),
        "pooling_vector_01": 1.5, "pooling_vector_02": 1.0,
    }
    want.update({f"pooling_vector_{k:02d}": 0.0 for k in range(3, 11)})
    got = {k: v for k, v in s.items() if not k.startswith("complex")}
    assert got == pytest.approx(want, rel=1e-12)
    extra = extra_statistics(pairs)
    assert list(extra) == list(EXTRA_STATISTICS)
    assert extra == pytest.approx({"n_points": 2, "std_life": 0.25, "std_midlife": 0.375, "median_death": 1.5,
                                   "median_life": 1.25, "total_persistence": 2.5, "max_life": 1.5}, rel=1e-12)


def test_complex_polynomial_matches_gudhi_and_numpy():
    # References: gudhi.representations.ComplexPolynomial(polynomial_type="T") (independent
    # implementation of Di Fabio and Ferri's type-T polynomial, as giotto-tda's used by the paper)
    # and numpy's np.poly on the roots written out by hand.
    rng = np.random.default_rng(2)
    b = rng.uniform(0, 0.6, 40)
    pairs = np.column_stack([b, b + rng.uniform(0.01, 0.4, 40)])
    ours = complex_polynomial_t(pairs)
    ref = ComplexPolynomial(polynomial_type="T", threshold=10).fit_transform([pairs])[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)
    alpha = np.sqrt(pairs[:, 0] ** 2 + pairs[:, 1] ** 2)
    roots = (pairs[:, 1] - pairs[:, 0]) / 2 * np.exp(1j * alpha) * (1 + 1j)  # (cos - sin) + i (cos + sin)
    np.testing.assert_allclose(ours, np.poly(roots)[1:11], rtol=1e-10, atol=1e-14)
    s = summary_statistics(pairs)
    assert [s[f"complex_polynomial_re_{k:02d}"] for k in range(1, 11)] == pytest.approx(ref.real, rel=1e-10)
    assert [s[f"complex_polynomial_im_{k:02d}"] for k in range(1, 11)] == pytest.approx(ref.imag, rel=1e-10)
    # c_1 = -sum of roots: a closed form that fails on a sign or ordering slip
    assert ours[0] == pytest.approx(-roots.sum(), rel=1e-12)
    # fewer points than coefficients: zero-padded; diagonal and infinite points ignored
    few = np.vstack([pairs[:3], [[0.3, 0.3]], [[0.0, np.inf]]])
    np.testing.assert_allclose(complex_polynomial_t(few)[:3], np.poly(roots[:3])[1:], rtol=1e-12)
    np.testing.assert_array_equal(complex_polynomial_t(few)[3:], 0)


def test_summaries_of_empty_diagrams_are_zero():
    for pairs in (np.zeros((0, 2)), np.array([[0.0, np.inf]])):
        s = summary_statistics(pairs) | extra_statistics(pairs)
        assert all(v == 0.0 for v in s.values()), s


def test_entropy_uniform_and_zero_length_points():
    pairs = np.column_stack([np.zeros(8), np.full(8, 0.3)])
    assert persistent_entropy(pairs) == pytest.approx(math.log(8))
    with_zero = np.vstack([pairs, [[0.2, 0.2]]])
    assert persistent_entropy(with_zero) == pytest.approx(math.log(8))
    assert np.isfinite(list(summary_statistics(with_zero).values())).all()


def test_pooling_vector_keeps_the_largest_lifetimes():
    rng = np.random.default_rng(3)
    b = rng.uniform(0, 1, 25)
    life = rng.uniform(0, 1, 25)
    top = pooling_vector(np.column_stack([b, b + life]))
    np.testing.assert_allclose(top, np.sort(life)[::-1][:10], rtol=1e-12)


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
