"""The PGDL conditional mutual information score (arXiv 2012.07976, Section 4).

References: a hand count table; I(X;Y|Z) = H(X|Z) - H(X|Y,Z) written out from
counts below; sklearn.metrics.mutual_info_score (natural log: divided by ln 2
for bits, the unit of the competition's scoring program, which uses log2);
a brute-force loop over ordered pairs and conditioning sets.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from reports.stats.cmi import cmi_score, conditional_mutual_information


def _h(counter: Counter) -> float:
    n = sum(counter.values())
    return -sum(c / n * math.log2(c / n) for c in counter.values() if c)


def _cond_entropy(target, given) -> float:
    """H(target | given) = sum_g p(g) H(target | given = g), from counts."""
    n = len(target)
    groups: dict = {}
    for t, g in zip(target, given):
        groups.setdefault(g, Counter())[t] += 1
    return sum(sum(c.values()) / n * _h(c) for c in groups.values())


def _cmi_direct(x, y, z) -> float:
    return _cond_entropy(x, list(z)) - _cond_entropy(x, list(zip(y, z)))


def test_cmi_by_hand_on_a_count_table():
    # z = 0: (x, y) in {(0,0) x2, (1,1) x2}: X = Y, I = H(X|z=0) = 1 bit.
    # z = 1: (0,0), (0,1), (1,0), (1,1) once each: independent, I = 0.
    # p(z) = 1/2 each -> I(X;Y|Z) = 0.5 bit; H(Y|Z) = 1 bit.
    x = [0, 0, 1, 1, 0, 0, 1, 1]
    y = [0, 0, 1, 1, 0, 1, 0, 1]
    z = [0, 0, 0, 0, 1, 1, 1, 1]
    cmi, h = conditional_mutual_information(x, y, z)
    assert cmi == pytest.approx(0.5) and h == pytest.approx(1.0)
    assert cmi == pytest.approx(_cmi_direct(x, y, z))


def test_cmi_matches_direct_formula_and_sklearn():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, 300)
    x = rng.integers(0, 2, 300)
    y = np.where(rng.uniform(size=300) < 0.3 + 0.2 * z, x, rng.integers(0, 2, 300))
    cmi, h = conditional_mutual_information(x, y, z)
    assert cmi == pytest.approx(_cmi_direct(x.tolist(), y.tolist(), z.tolist()))
    assert h == pytest.approx(_cond_entropy(y.tolist(), z.tolist()))
    # sklearn's mutual_info_score is in nats: per slice, weighted by p(z).
    ref = sum(np.mean(z == k) * mutual_info_score(x[z == k], y[z == k]) for k in range(3))
    assert cmi == pytest.approx(ref / math.log(2))
    mi, _ = conditional_mutual_information(x, y, np.zeros(300))
    assert mi == pytest.approx(mutual_info_score(x, y) / math.log(2))


def _grid(sizes, replicates=1):
    rows = [c for c in itertools.product(*[range(s) for s in sizes]) for _ in range(replicates)]
    return {f"h{i}": [r[i] for r in rows] for i in range(len(sizes))}


def _score_brute_force(mu, g, axes, sizes):
    """min over S of I(V_mu; V_g | U_S) / H(V_g | U_S), looping over ordered pairs."""
    n = len(mu)
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    v_mu = [int(mu[a] > mu[b]) for a, b in pairs]
    v_g = [int(g[a] > g[b]) for a, b in pairs]
    scores = {}
    for size in sizes:
        for s in itertools.combinations(axes, size):
            u = [tuple((axes[k][a], axes[k][b]) for k in s) for a, b in pairs]
            h = _cond_entropy(v_g, u)
            if h > 1e-12:
                scores[s] = _cmi_direct(v_mu, v_g, u) / h
    return min(scores.values()), scores


def test_score_equals_brute_force_on_a_grid():
    axes = _grid((2, 3, 2))
    rng = np.random.default_rng(3)
    h = np.array([axes[k] for k in axes], dtype=float)
    gap = 0.05 * h[0] + 0.02 * h[1] + 0.03 * rng.normal(size=h.shape[1])
    mu = gap + 0.03 * rng.normal(size=gap.size)
    for sizes in ((2,), (0, 1, 2)):
        ref, by = _score_brute_force(mu, gap, axes, sizes)
        res = cmi_score(mu, gap, axes, subset_sizes=sizes)
        assert res.score == pytest.approx(ref)
        assert res.by_subset[res.argmin] == pytest.approx(ref)
        assert {s: res.by_subset[s] for s in by} == pytest.approx(by)
    assert res.n_pairs == 12 * 11


def test_measure_equal_to_gap_scores_one_and_independent_scores_near_zero():
    axes = _grid((3, 3, 3), replicates=2)
    rng = np.random.default_rng(0)
    gap = rng.uniform(0, 0.4, len(axes["h0"]))
    assert cmi_score(gap, gap, axes).score == pytest.approx(1.0)
    assert cmi_score(-gap, gap, axes).score == pytest.approx(1.0)  # sign-blind
    noise = rng.uniform(size=gap.size)
    res = cmi_score(noise, gap, axes)
    assert 0.0 <= res.score < 0.05


def test_score_undefined_when_the_pair_is_decided_by_the_conditioning():
    # Two axes, one model per configuration: U_S for |S| = 2 names both models,
    # so H(V_g | U_S) = 0 everywhere; |S| <= 1 is defined.
    axes = _grid((2, 3))
    gap = np.arange(6) * 0.01
    res = cmi_score(gap, gap, axes)
    assert np.isnan(res.score) and np.isnan(res.by_subset[("h0", "h1")])
    assert cmi_score(gap, gap, axes, subset_sizes=(0, 1)).score == pytest.approx(1.0)
    assert np.isnan(cmi_score(gap, gap, {"h0": axes["h0"]}).score)  # no pair of axes


def test_bad_input_raises():
    with pytest.raises(ValueError, match="same shape"):
        cmi_score([1.0], [1.0, 2.0], {})
    with pytest.raises(ValueError, match="finite"):
        cmi_score([np.inf, 1.0], [1.0, 2.0], {})
    with pytest.raises(ValueError, match="subset_sizes"):
        cmi_score([1.0, 2.0], [1.0, 2.0], {"a": [0, 1]}, subset_sizes=(-1,))
    with pytest.raises(ValueError, match="one shape"):
        conditional_mutual_information([0, 1], [0], [0, 1])
