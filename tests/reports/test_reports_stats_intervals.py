"""reports.stats.multitest and reports.stats.bootstrap on cases with known answers.

Holm and Benjamini-Hochberg, by hand, for p = (0.01, 0.04, 0.03, 0.005) (m = 4; sorted
0.005, 0.01, 0.03, 0.04):

- Holm: 4 x 0.005 = 0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
  -> (0.03, 0.06, 0.06, 0.02) in the original order;
- BH: 4/1 x 0.005 = 0.02, 4/2 x 0.01 = 0.02, 4/3 x 0.03 = 0.04, 4/4 x 0.04 = 0.04, then the
  running minimum from the largest -> (0.02, 0.04, 0.04, 0.02).

Bootstrap intervals of Kendall's tau: a perfectly monotone measure gives (1, 1), a perfectly
reversed one (-1, -1), an independent one an interval around 0; a loop over the same
resamples (drawn at once from the seed, as documented) is the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from reports.stats.bootstrap import bootstrap_kendall, bootstrap_mean, percentile_interval
from reports.stats.multitest import adjust_pvalues


def test_holm_and_bh_by_hand():
    adj = adjust_pvalues([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj.holm, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adj.bh, [0.02, 0.04, 0.04, 0.02])


def test_untested_p_values_stay_out_of_the_family():
    adj = adjust_pvalues([0.01, np.nan, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj.holm, [0.03, np.nan, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adj.bh, [0.02, np.nan, 0.04, 0.04, 0.02])
    assert np.isnan(adjust_pvalues([np.nan]).holm).all() and adjust_pvalues([]).bh.size == 0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        adjust_pvalues([0.5, 1.5])


def _tau_distinct_pairs(x, y, idx):
    """Mean sign product over ordered pairs of positions holding different runs (a plain loop)."""
    total, count = 0.0, 0
    for i in idx:
        for j in idx:
            if i != j:
                total += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
                count += 1
    return total / count


def test_bootstrap_kendall_against_a_loop_over_the_same_resamples():
    rng = np.random.default_rng(5)
    x = rng.normal(size=12)
    y = x + rng.normal(size=12)
    idx = np.random.default_rng(7).integers(0, 12, size=(200, 12))
    taus = [_tau_distinct_pairs(x, y, row) for row in idx]
    expected = np.percentile(taus, [2.5, 97.5])
    got = bootstrap_kendall(x, y, n_boot=200, random_state=7)
    np.testing.assert_allclose(got, expected)


def test_bootstrap_kendall_known_answers():
    x = np.linspace(0, 1, 30)
    assert bootstrap_kendall(x, 2 * x + 1) == (1.0, 1.0)  # monotone: the interval collapses on 1
    assert bootstrap_kendall(x, -x) == (-1.0, -1.0)
    rng = np.random.default_rng(0)
    low, high = bootstrap_kendall(rng.normal(size=60), rng.normal(size=60))  # independent
    assert low < 0 < high and high - low < 0.5
    assert bootstrap_kendall([1, 2], [1, 2]) == pytest.approx((np.nan, np.nan), nan_ok=True)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=25), rng.normal(size=25)
    assert bootstrap_kendall(x, y, random_state=3) == bootstrap_kendall(x, y, random_state=3)
    assert bootstrap_kendall(x, y, random_state=3) != bootstrap_kendall(x, y, random_state=4)
    low, high = bootstrap_kendall(x, y, level=0.5)
    wide = bootstrap_kendall(x, y, level=0.99)
    assert wide.low <= low <= high <= wide.high


def test_bootstrap_mean_of_fold_scores():
    assert bootstrap_mean([0.7] * 10) == (pytest.approx(0.7), pytest.approx(0.7))
    scores = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.55, 0.65, 0.75, 0.85, 0.95])
    low, high = bootstrap_mean(scores, random_state=1)
    assert scores.min() < low < scores.mean() < high < scores.max()
    idx = np.random.default_rng(1).integers(0, 10, size=(1000, 10))
    np.testing.assert_allclose((low, high), np.percentile(scores[idx].mean(axis=1), [2.5, 97.5]))
    assert np.isnan(bootstrap_mean([np.nan]).low)


def test_errors():
    with pytest.raises(ValueError, match=r"'level' parameter must be a float in the range \(0, 1\)"):
        percentile_interval([1.0], 1.5)
    with pytest.raises(ValueError, match=r"'n_boot' parameter of bootstrap_kendall must be an int"):
        bootstrap_kendall([1, 2, 3], [1, 2, 3], n_boot=0)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_kendall([1, np.nan, 3], [1, 2, 3])
