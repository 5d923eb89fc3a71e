"""reports.stats against mlxtend, statsmodels, closed forms and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from mlxtend.evaluate import combined_ftest_5x2cv as mlx_ftest
from mlxtend.evaluate import paired_ttest_5x2cv as mlx_ttest
from scipy import stats as sps
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import RepeatedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from reports.stats import regression as stats
from reports.stats.kendall import kendall_tau_b


def _data(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 0.8 * X[:, 0] + 0.3 * X[:, 2] + rng.normal(scale=0.5, size=n)
    return X, y


def _on_columns(cols):
    """A linear regression on some columns of X (a 'family' of features)."""
    return make_pipeline(ColumnTransformer([("sel", "passthrough", list(cols))]),
                         LinearRegression())


def _mlxtend_folds(est, X, y, seed):
    """Fold R² of ``est`` on the folds mlxtend's 5x2cv functions draw, repetition-major.

    mlxtend: rng = RandomState(seed); per repetition, train_test_split(test_size=0.5,
    random_state=rng.randint(0, 32767)); fold 1 fits the first half and scores the
    second, fold 2 the reverse.
    """
    rng = np.random.RandomState(seed)
    scores = []
    for _ in range(5):
        X1, X2, y1, y2 = train_test_split(X, y, test_size=0.5,
                                          random_state=rng.randint(low=0, high=32767))
        scores.append(r2_score(y2, est.fit(X1, y1).predict(X2)))
        scores.append(r2_score(y1, est.fit(X2, y2).predict(X1)))
    return np.array(scores)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_paired_ttest_5x2cv_matches_mlxtend(seed):
    X, y = _data(seed)
    a, b = _on_columns([0, 1]), _on_columns([2, 3])
    t_ref, p_ref = mlx_ttest(a, b, X, y, scoring="r2", random_seed=seed)
    t, p = stats.paired_ttest_5x2cv(_mlxtend_folds(a, X, y, seed),
                                    _mlxtend_folds(b, X, y, seed))
    assert t == pytest.approx(t_ref, abs=1e-10, rel=1e-10)
    assert p == pytest.approx(p_ref, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_combined_ftest_5x2cv_matches_mlxtend(seed):
    X, y = _data(seed)
    a, b = _on_columns([0]), _on_columns([1, 2, 3])
    f_ref, p_ref = mlx_ftest(a, b, X, y, scoring="r2", random_seed=seed)
    f, p = stats.combined_ftest_5x2cv(_mlxtend_folds(a, X, y, seed),
                                      _mlxtend_folds(b, X, y, seed))
    assert f == pytest.approx(f_ref, abs=1e-10, rel=1e-10)
    assert p == pytest.approx(p_ref, abs=1e-10, rel=1e-10)


# Differences a - b: repetition 1 = (0.3, 0.1), repetitions 2-5 = (0.0, 0.2).
# Every s_i^2 = 2 * 0.1^2 = 0.02, sum = 0.1; p_1^(1) = 0.3; mean of all ten = 0.12.
HAND_A = np.array([0.8, 0.6, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7])
HAND_B = np.full(10, 0.5)


def test_paired_ttest_5x2cv_by_hand():
    t, p = stats.paired_ttest_5x2cv(HAND_A, HAND_B)
    t_hand = 0.3 / np.sqrt(0.1 / 5)  # = 3/sqrt(2)
    assert t == pytest.approx(t_hand, rel=1e-12)
    assert t == pytest.approx(3 / np.sqrt(2), rel=1e-12)
    assert p == pytest.approx(2 * sps.t.sf(t_hand, df=5), rel=1e-12)
    # A numerator using the mean of all ten differences (0.12) would give 0.85.
    mean_based = np.mean(HAND_A - HAND_B) / np.sqrt(0.1 / 5)
    assert abs(t - mean_based) > 1.0
    # Wrong degrees of freedom would move the p-value noticeably.
    for wrong_df in (4, 9, 10):
        assert abs(p - 2 * sps.t.sf(t_hand, df=wrong_df)) > 5e-3


def test_combined_ftest_5x2cv_by_hand():
    f, p = stats.combined_ftest_5x2cv(HAND_A, HAND_B)
    f_hand = (0.3**2 + 0.1**2 + 4 * (0.0 + 0.2**2)) / (2 * 0.1)  # = 1.3
    assert f == pytest.approx(1.3, rel=1e-12)
    assert f == pytest.approx(f_hand, rel=1e-12)
    assert p == pytest.approx(sps.f.sf(1.3, 10, 5), rel=1e-12)
    for wrong in ((5, 10), (10, 10), (10, 9)):
        assert abs(p - sps.f.sf(1.3, *wrong)) > 5e-3


def test_ttest_uses_first_fold_of_first_repetition():
    """Moving the largest difference off p_1^(1) changes t; a mean-based t would not."""
    b = np.zeros(10)
    a1 = np.array([0.9, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3])
    a2 = np.array([0.1, 0.9, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3])  # same variances
    t1, _ = stats.paired_ttest_5x2cv(a1, b)
    t2, _ = stats.paired_ttest_5x2cv(a2, b)
    assert t1 == pytest.approx(9 * t2)


def test_cv_r2_matches_manual_repeated_kfold():
    X, y = _data(3, n=30)
    scores = stats.cv_r2(X, y)
    cv = RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)
    manual = [r2_score(y[te], LinearRegression().fit(X[tr], y[tr]).predict(X[te]))
              for tr, te in cv.split(X)]
    assert scores.shape == (10,)
    np.testing.assert_allclose(scores, manual, rtol=1e-12)


def test_cv_r2_ridge_is_scaled_ridgecv():
    X, y = _data(4, n=30)
    X[:, 1] *= 1000.0
    scores = stats.cv_r2(X, y, model="ridge")
    cv = RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)
    manual = [r2_score(y[te], stats.make_regressor("ridge").fit(X[tr], y[tr]).predict(X[te]))
              for tr, te in cv.split(X)]
    np.testing.assert_allclose(scores, manual, rtol=1e-12)
    X[:, 1] /= 1000.0  # the scaler makes ridge blind to feature units
    np.testing.assert_allclose(stats.cv_r2(X, y, model="ridge"), scores, rtol=1e-8)


def test_cv_r2_same_seed_same_folds():
    X, y = _data(5, n=40)
    np.testing.assert_array_equal(stats.cv_r2(X, y), stats.cv_r2(X, y))
    assert not np.allclose(stats.cv_r2(X, y), stats.cv_r2(X, y, random_state=2))


def test_cv_r2_and_tests_reject_bad_input():
    with pytest.raises(ValueError, match="The 'model' parameter of make_regressor"):
        stats.cv_r2(np.ones((10, 2)), np.ones(10), model="lasso")
    with pytest.raises(ValueError, match="cv_r2 expects X of shape"):
        stats.cv_r2(np.ones(10), np.ones(10))
    with pytest.raises(ValueError, match=r"must be an array of 10 fold scores.*Got shape \(9,\)"):
        stats.paired_ttest_5x2cv(np.ones(9), np.ones(10))
    with pytest.raises(ValueError, match="'scores_b' parameter of combined_ftest_5x2cv"):
        stats.combined_ftest_5x2cv(np.ones(10), np.r_[np.ones(9), np.nan])


def test_identical_scores_give_nan():
    s = np.linspace(0.1, 0.9, 10)
    t, p = stats.paired_ttest_5x2cv(s, s)
    f, pf = stats.combined_ftest_5x2cv(s, s)
    assert np.isnan(t) and np.isnan(p) and np.isnan(f) and np.isnan(pf)


scores10 = st.lists(st.floats(-1, 1, allow_nan=False), min_size=10, max_size=10)


@settings(max_examples=60, deadline=None)
@given(scores10, scores10, st.floats(-5, 5))
def test_tests_symmetries(a, b, shift):
    a, b = np.array(a), np.array(b)
    d = (a - b).reshape(5, 2)
    if np.ptp(d, axis=1).max() < 1e-6:  # no variance: statistics undefined
        return
    t, p = stats.paired_ttest_5x2cv(a, b)
    t_swap, p_swap = stats.paired_ttest_5x2cv(b, a)
    assert t_swap == pytest.approx(-t, rel=1e-9, abs=1e-9)
    assert p_swap == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert 0.0 <= p <= 1.0
    t_shift, _ = stats.paired_ttest_5x2cv(a + shift, b + shift)
    assert t_shift == pytest.approx(t, rel=1e-6, abs=1e-6)
    f, pf = stats.combined_ftest_5x2cv(a, b)
    assert f >= 0 and 0.0 <= pf <= 1.0
    assert stats.combined_ftest_5x2cv(b, a)[0] == pytest.approx(f, rel=1e-9)


def test_ols_fit_matches_closed_form_and_statsmodels():
    rng = np.random.default_rng(11)
    n, k = 50, 3
    X = rng.normal(size=(n, k))
    y = 1.5 + X @ np.array([2.0, -1.0, 0.0]) + rng.normal(scale=0.3, size=n)
    res = stats.ols_fit(X, y, ["a", "b", "c"])
    A = np.column_stack([np.ones(n), X])
    beta = np.linalg.solve(A.T @ A, A.T @ y)
    resid = y - A @ beta
    sigma2 = resid @ resid / (n - k - 1)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(A.T @ A)))
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)
    adj = 1 - (1 - r2) * (n - 1) / (n - k - 1)
    assert res.terms == ("const", "a", "b", "c")
    np.testing.assert_allclose(res.coef, beta, rtol=1e-10)
    np.testing.assert_allclose(res.se, se, rtol=1e-10)
    np.testing.assert_allclose(res.t, beta / se, rtol=1e-10)
    np.testing.assert_allclose(res.p, 2 * sps.t.sf(np.abs(beta / se), n - k - 1), rtol=1e-8)
    assert res.r2 == pytest.approx(r2, rel=1e-12)
    assert res.adj_r2 == pytest.approx(adj, rel=1e-12)
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(res.coef, ref.params, rtol=1e-12)
    assert res.n == n


def test_ols_fit_rejects_bad_names():
    with pytest.raises(ValueError, match="'feature_names' parameter of ols_fit must have 2"):
        stats.ols_fit(np.ones((5, 2)), np.ones(5), ["a"])


def test_kendall_tau_and_summary():
    x = np.arange(12.0)
    assert kendall_tau_b(x, 2 * x + 1) == pytest.approx((1.0, sps.kendalltau(x, x)[1]))
    assert kendall_tau_b(x, -x)[0] == pytest.approx(-1.0)
    s = stats.summarise_scores([1.0, 2.0, 3.0, 10.0])
    assert s == {"mean": 4.0, "std": pytest.approx(np.std([1, 2, 3, 10])), "median": 2.5,
                 "min": 1.0, "max": 10.0}
