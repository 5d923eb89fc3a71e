"""reports.stats.ranks against Demšar (2006), scipy, scikit-posthocs and autorank.

References
----------
- Demšar, *Statistical comparisons of classifiers over multiple data sets*, JMLR 7
  (2006): Table 5 (q_alpha of the Nemenyi test) and the paper's worked example of
  the Friedman and Nemenyi tests (four C4.5 variants on 14 data sets: average ranks
  3.143, 2.000, 2.893, 1.964; chi²_F = 9.28; F_F = 3.69; CD = 1.25 at alpha = 0.05).
- scikit-posthocs 0.17: ``posthoc_nemenyi_friedman``, ``posthoc_wilcoxon(p_adjust='holm')``.
- autorank 1.3 (Herbold 2020): Friedman p-value, mean ranks and CD.
- pandas ``DataFrame.rank(method='average')`` for ranks with ties.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reports.stats import posthoc as ph
from reports.stats import ranks as sr

#: Demšar (2006), Table 5: q_0.05 for k = 2..10 (studentized range / sqrt 2).
DEMSAR_Q05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
#: Demšar (2006), Table 5: q_0.10 for k = 2..10.
DEMSAR_Q10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]


def _data(seed=0, n=12, shifts=(0.0, 0.3, 0.6, 1.0), decimals=None):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(shifts))) + np.asarray(shifts)
    return np.round(x, decimals) if decimals is not None else x


@pytest.mark.parametrize("k", range(2, 11))
def test_nemenyi_q_matches_demsar_table5(k):
    # Table 5 rounds to 3 decimals from older tables: 2.343 vs 2.3437, 2.949 vs 2.9479.
    assert ph.nemenyi_q(k, 0.05) == pytest.approx(DEMSAR_Q05[k - 2], abs=1.5e-3)
    assert ph.nemenyi_q(k, 0.10) == pytest.approx(DEMSAR_Q10[k - 2], abs=1.5e-3)


def test_demsar_worked_example():
    ranks = [3.143, 2.000, 2.893, 1.964]
    chi2 = sr.friedman_statistic(ranks, 14)
    assert chi2 == pytest.approx(9.28, abs=0.01)
    f, p_f = sr.iman_davenport(chi2, 14, 4)
    assert f == pytest.approx(3.69, abs=0.01)
    assert f > 2.85 and p_f < 0.05  # F(3, 39) critical value at 0.05 quoted by Demšar
    assert ph.critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    # Demšar: the best variant (1.964) and C4.5 (3.143) differ by 1.179 < CD, so the
    # Nemenyi test cannot tell any two apart: one clique holds all four, best first.
    assert ph.cd_cliques(ranks, ph.critical_difference(4, 14)) == [(3, 1, 2, 0)]


def test_ranks_with_ties_are_averaged():
    scores = np.array([[0.9, 0.9, 0.8, 0.7],
                       [0.5, 0.6, 0.6, 0.6],
                       [0.3, 0.3, 0.3, 0.3]])
    expected = np.array([[1.5, 1.5, 3.0, 4.0],
                         [4.0, 2.0, 2.0, 2.0],
                         [2.5, 2.5, 2.5, 2.5]])  # closed form: ties share mean rank
    np.testing.assert_array_equal(sr.block_ranks(scores), expected)
    np.testing.assert_array_equal(sr.block_ranks(-scores, higher_is_better=False), expected)
    ref = pd.DataFrame(scores).rank(axis=1, ascending=False, method="average").to_numpy()
    np.testing.assert_array_equal(sr.block_ranks(scores), ref)
    np.testing.assert_allclose(sr.average_ranks(scores), expected.mean(axis=0))


def test_friedman_matches_scipy_and_demsar_formula_without_ties():
    x = _data(seed=3, n=15)
    res = sr.friedman_test(x)
    chi2, p = stats.friedmanchisquare(*x.T)
    assert (res.chi2, res.p_chi2) == pytest.approx((chi2, p), rel=1e-12)
    assert res.chi2 == pytest.approx(sr.friedman_statistic(sr.average_ranks(x), 15), rel=1e-12)
    n, k = x.shape
    ff = (n - 1) * chi2 / (n * (k - 1) - chi2)  # Demšar 2006, Iman-Davenport
    assert res.f == pytest.approx(ff) and res.p_f == pytest.approx(stats.f.sf(ff, 3, 42))


def test_against_autorank_with_ties():
    autorank = pytest.importorskip("autorank")
    x = _data(seed=0, n=12, decimals=1)  # rounding makes ties within blocks
    assert any(len(set(row)) < len(row) for row in x)
    names = ["a", "b", "c", "d"]
    res = autorank.autorank(pd.DataFrame(x, columns=names), alpha=0.05,
                            force_mode="nonparametric", order="descending")
    assert res.omnibus == "friedman"
    assert sr.friedman_test(x).p_chi2 == pytest.approx(res.pvalue, rel=1e-10)
    # autorank takes q from statsmodels' qsturng, an interpolated table (6e-6 relative off)
    assert ph.critical_difference(4, 12) == pytest.approx(res.cd, rel=1e-4)
    np.testing.assert_allclose(sr.average_ranks(x), res.rankdf.loc[names, "meanrank"])


def test_nemenyi_pvalues_match_scikit_posthocs():
    sp = pytest.importorskip("scikit_posthocs")
    x = _data(seed=1, n=20, shifts=(0.0, 0.2, 0.5, 0.9, 1.2), decimals=1)
    ref = sp.posthoc_nemenyi_friedman(x).to_numpy()
    np.testing.assert_allclose(ph.nemenyi_pvalues(sr.average_ranks(x), 20), ref, rtol=1e-8)
    # Nemenyi p < 0.05 exactly when the ranks differ by at least CD
    r = sr.average_ranks(x)
    diff = np.abs(r[:, None] - r[None, :])
    cd = ph.critical_difference(5, 20)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_array_equal((ref < 0.05)[off], (diff >= cd)[off])


def test_wilcoxon_holm_matches_scikit_posthocs():
    sp = pytest.importorskip("scikit_posthocs")
    x = _data(seed=2, n=14, shifts=(0.0, 0.4, 0.8, 1.5))
    res = ph.wilcoxon_holm(x)
    long = pd.DataFrame({"v": x.T.ravel(), "g": np.repeat(np.arange(4), x.shape[0])})
    ref = sp.posthoc_wilcoxon(long, val_col="v", group_col="g", p_adjust="holm").to_numpy()
    raw = sp.posthoc_wilcoxon(long, val_col="v", group_col="g").to_numpy()
    assert res.pairs == list(itertools.combinations(range(4), 2))
    np.testing.assert_allclose(res.p_holm, [ref[i, j] for i, j in res.pairs], rtol=1e-10)
    np.testing.assert_allclose(res.p, [raw[i, j] for i, j in res.pairs], rtol=1e-10)
    assert np.all(res.p_holm >= res.p) and res.reject.any()


def test_wilcoxon_holm_identical_methods():
    x = _data(seed=4, n=8, shifts=(0.0, 1.0, 1.0))
    x[:, 2] = x[:, 1]
    res = ph.wilcoxon_holm(x)
    assert res.p[2] == 1.0 and np.isnan(res.statistic[2]) and not res.reject[2]


def test_cliques_closed_form():
    ranks = np.array([1.0, 1.5, 2.6, 3.0, 4.5])
    # CD = 1.2: 1.0-1.5 (|0.5|), 1.5-2.6 (1.1), 2.6-3.0; 1.0-2.6 = 1.6 is not. 4.5 alone.
    assert ph.cd_cliques(ranks, 1.2) == [(0, 1), (1, 2), (2, 3)]
    assert ph.cd_cliques(ranks, 2.05) == [(0, 1, 2, 3), (2, 3, 4)]
    # a difference of exactly CD is significant (Demšar: "differ by at least CD")
    assert ph.cd_cliques(ranks, 2.0) == [(0, 1, 2), (1, 2, 3), (2, 3, 4)]
    assert ph.cd_cliques(ranks, 0.3) == []
    shuffled = np.array([3.0, 1.0, 4.5, 1.5, 2.6])  # same ranks, other method order
    assert ph.cd_cliques(shuffled, 1.2) == [(1, 3), (3, 4), (4, 0)]


def test_cliques_agree_with_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(30):
        r = rng.uniform(1, 6, size=6)
        cd = rng.uniform(0.3, 3.0)
        order = np.argsort(r)
        runs = [tuple(order[a:b + 1]) for a in range(6) for b in range(a + 1, 6)
                if r[order[b]] - r[order[a]] < cd]
        maximal = [c for c in runs if not any(set(c) < set(d) for d in runs)]
        assert sorted(ph.cd_cliques(r, cd)) == sorted(tuple(int(i) for i in c) for c in maximal)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="2-D array"):
        sr.friedman_test([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 blocks.*3 methods"):
        sr.friedman_test(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="finite.*block 1, method 0"):
        sr.block_ranks([[1.0, 2.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="shape"):
        ph.cliques([1.0, 2.0], np.zeros((3, 3), bool))


def test_all_ties_friedman_is_not_significant():
    res = sr.friedman_test(np.ones((6, 3)))
    assert (res.chi2, res.p_chi2, res.p_f) == (0.0, 1.0, 1.0)
