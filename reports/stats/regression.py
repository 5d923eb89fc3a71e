"""Statistics for gap prediction: cross-validated R², 5x2cv tests, OLS.

Kendall's tau of a measure with the gap is in :mod:`reports.stats.kendall`.

The protocol is Ballester et al. 2023 (*Predicting the generalization gap in
neural networks using topological data analysis*): a linear model of the
generalization gap on a family of measures, R² over
``RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)``, and families
compared with Dietterich's 5x2cv paired t-test on the ten fold scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass

#: Regression models known to :func:`cv_r2`.
CV_MODELS = ("linear", "ridge")
#: Penalties searched by the ridge model (on standardised features).
RIDGE_ALPHAS = np.logspace(-3, 3, 13)


def make_regressor(model: str = "linear"):
    """The scikit-learn estimator named ``model``.

    Parameters
    ----------
    model : {"linear", "ridge"}
        ``"linear"``: ``LinearRegression()`` (Ballester et al. 2023).
        ``"ridge"``: ``StandardScaler`` then ``RidgeCV(alphas=RIDGE_ALPHAS)``
        (penalty chosen by efficient leave-one-out on each training fold).

    Returns
    -------
    estimator : sklearn regressor
    """
    from sklearn.linear_model import LinearRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "linear":
        return LinearRegression()
    if model == "ridge":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
    raise ValueError(f"The 'model' parameter of make_regressor must be one of "
                     f"{list(CV_MODELS)}. Got {model!r} instead.")


def cv_r2(X, y, model: str = "linear", n_splits: int = 2, n_repeats: int = 5,
          random_state: int = 1) -> np.ndarray:
    """Out-of-fold R² of a regression of ``y`` on ``X`` under repeated k-fold CV.

    Ballester et al. 2023: R² of ``LinearRegression`` over
    ``RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)``. Each fold score is
    the coefficient of determination on the held-out half,
    R² = 1 - sum (y - yhat)² / sum (y - mean(y))² (means over the held-out fold).

    Parameters
    ----------
    X : array-like of shape (n_runs, n_features)
        Features (e.g. measures) of each run.
    y : array-like of shape (n_runs,)
        Target, e.g. the generalization gap (train - test accuracy, in [-1, 1]).
    model : {"linear", "ridge"}, default "linear"
        See :func:`make_regressor`.
    n_splits, n_repeats : int, default 2, 5
        Folds per repetition and repetitions.
    random_state : int, default 1
        Seed of the folds: equal seeds give equal folds, so fold scores of two
        feature families on the same runs are paired.

    Returns
    -------
    scores : ndarray of shape (n_repeats * n_splits,)
        R² per fold, repetition-major (``scores[i * n_splits + j]`` is fold j of
        repetition i).
    """
    from sklearn.model_selection import RepeatedKFold, cross_val_score

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"cv_r2 expects X of shape (n_runs, n_features) and y of shape "
                         f"(n_runs,). Got X {X.shape} and y {y.shape} instead.")
    cv = RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return cross_val_score(make_regressor(model), X, y, cv=cv, scoring="r2")


def summarise_scores(scores) -> dict[str, float]:
    """Mean, standard deviation (ddof=0), median, min and max of fold scores.

    Parameters
    ----------
    scores : array-like of shape (n_folds,)

    Returns
    -------
    dict
        Keys ``mean``, ``std``, ``median``, ``min``, ``max``.
    """
    s = np.asarray(scores, dtype=float)
    return {"mean": float(np.mean(s)), "std": float(np.std(s)),
            "median": float(np.median(s)), "min": float(np.min(s)),
            "max": float(np.max(s))}


def _fold_differences(scores_a, scores_b, caller: str) -> np.ndarray:
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    for label, s in (("scores_a", a), ("scores_b", b)):
        if s.shape != (10,):
            raise ValueError(
                f"The {label!r} parameter of {caller} must be an array of 10 fold scores "
                f"(5 repetitions x 2 folds, repetition-major). Got shape {s.shape} instead.")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"The {label!r} parameter of {caller} must be finite. "
                             f"Got {s.tolist()} instead.")
    return (a - b).reshape(5, 2)


def paired_ttest_5x2cv(scores_a, scores_b) -> tuple[float, float]:
    """Dietterich's 5x2cv paired t-test from stored fold scores.

    Dietterich 1998, *Approximate statistical tests for comparing supervised
    classification learning algorithms*, the 5x2cv paired t test: with p_i^(j)
    the score difference (a - b) on fold j of repetition i and
    s_i² = sum_j (p_i^(j) - pbar_i)²,

        t = p_1^(1) / sqrt( (1/5) sum_{i=1}^{5} s_i² ),

    referred to Student's t with 5 degrees of freedom, two-sided. Equals
    ``mlxtend.evaluate.paired_ttest_5x2cv`` on the same folds.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (10,)
        Fold scores of two models on the *same* folds, repetition-major
        (as returned by :func:`cv_r2` with equal ``random_state``).

    Returns
    -------
    t : float
        Positive when ``a`` scores higher on the first fold. NaN when all
        differences are 0; +-inf when only the variance is 0.
    p : float
        Two-sided p-value (NaN when ``t`` is NaN).
    """
    from scipy import stats as sps

    d = _fold_differences(scores_a, scores_b, "paired_ttest_5x2cv")
    s2 = ((d - d.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float(d[0, 0] / np.sqrt(s2.sum() / 5.0))
    p = float(2.0 * sps.t.sf(abs(t), 5)) if not np.isnan(t) else float("nan")
    return t, p


def combined_ftest_5x2cv(scores_a, scores_b) -> tuple[float, float]:
    """Alpaydin's combined 5x2cv F-test from stored fold scores.

    Alpaydin 1999, *Combined 5x2 cv F test for comparing supervised
    classification learning algorithms*: with p_i^(j) and s_i² as in
    :func:`paired_ttest_5x2cv`,

        F = sum_i sum_j (p_i^(j))² / (2 sum_i s_i²),

    referred to the F distribution with (10, 5) degrees of freedom (upper tail).
    Equals ``mlxtend.evaluate.combined_ftest_5x2cv`` on the same folds.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (10,)
        Fold scores of two models on the same folds, repetition-major.

    Returns
    -------
    f : float
        F statistic, >= 0 (NaN when all differences are 0).
    p : float
        p-value (NaN when ``f`` is NaN).
    """
    from scipy import stats as sps

    d = _fold_differences(scores_a, scores_b, "combined_ftest_5x2cv")
    s2 = ((d - d.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = float((d ** 2).sum() / (2.0 * s2.sum()))
    p = float(sps.f.sf(f, 10, 5)) if not np.isnan(f) else float("nan")
    return f, p


@dataclass(frozen=True)
class OLSResult:
    """Ordinary least squares fit with an intercept.

    Attributes
    ----------
    terms : tuple of str of length n_features + 1
        ``"const"`` then the feature names.
    coef, se, t, p : ndarray of shape (n_features + 1,)
        Coefficients, standard errors, t statistics and two-sided p-values.
    r2, adj_r2 : float
        In-sample R² and adjusted R² = 1 - (1 - R²)(n - 1)/(n - k - 1).
    n : int
        Number of observations.
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    r2: float
    adj_r2: float
    n: int


def ols_fit(X, y, feature_names=None) -> OLSResult:
    """OLS of ``y`` on ``X`` with an intercept (statsmodels).

    y = b0 + X b + e; b = (A'A)^-1 A'y with A = [1, X];
    se = sqrt(diag(sigma² (A'A)^-1)), sigma² = RSS / (n - k - 1).

    Parameters
    ----------
    X : array-like of shape (n_runs, n_features)
    y : array-like of shape (n_runs,)
    feature_names : sequence of str of length n_features, optional
        Defaults to ``x0, x1, ...``.

    Returns
    -------
    OLSResult
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"ols_fit expects X of shape (n_runs, n_features) and y of shape "
                         f"(n_runs,). Got X {X.shape} and y {y.shape} instead.")
    names = list(feature_names) if feature_names is not None else [
        f"x{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"The 'feature_names' parameter of ols_fit must have "
                         f"{X.shape[1]} names. Got {len(names)} instead.")
    # statsmodels takes a second to import; the report kinds are imported to list them, so only here
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    A = add_constant(X, has_constant="add")
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = OLS(y, A).fit()
        return OLSResult(("const", *names), np.asarray(fit.params), np.asarray(fit.bse),
                         np.asarray(fit.tvalues), np.asarray(fit.pvalues),
                         float(fit.rsquared), float(fit.rsquared_adj), int(fit.nobs))
