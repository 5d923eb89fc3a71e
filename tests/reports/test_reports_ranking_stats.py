"""The ranking report's interval, adjusted p-values and robust sign-error, against their functions on the raw rows.

References: reports.stats.bootstrap.bootstrap_kendall, statsmodels' multipletests and
reports.stats.robust.robust_sign_error (each tested on known answers in its own file),
applied to the values read straight from the raw store tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from reports.kinds.ranking import build
from reports.kinds.ranking.compute import TABLES
from reports.kinds.ranking.options import RankingConfig
from reports.stats.bootstrap import bootstrap_kendall
from reports.stats.robust import robust_sign_error
from tests.reports.conftest import CATALOG
from tests.reports.test_reports_ranking import _raw, _three_axis_store


@pytest.fixture(scope="module")
def ranked():
    con = _three_axis_store()
    build(con, RankingConfig(n_bootstrap=300, bootstrap_seed=4), CATALOG)
    yield con
    con.close()


def test_adjusted_p_values_over_every_statistic(ranked):
    p, holm, bh = (np.array(v, dtype=float) for v in zip(*ranked.execute(
        f'SELECT p, p_holm, p_bh FROM "{TABLES["measures"]}" ORDER BY position').fetchall()))
    assert p.size == 11 and np.all(np.isfinite(p))
    np.testing.assert_allclose(holm, multipletests(p, method="holm")[1])
    np.testing.assert_allclose(bh, multipletests(p, method="fdr_bh")[1])
    assert np.all(holm >= p) and np.all(bh >= p) and np.all(bh <= holm + 1e-12)


def test_bootstrap_interval_of_tau_a(ranked):
    for statistic in ("cdnv_last_hidden", "mean_stable_rank"):
        _, mu, gap, _ = _raw(ranked, statistic)
        tau, low, high = ranked.execute(f'SELECT tau_a, tau_a_low, tau_a_high FROM "{TABLES["measures"]}" '
                                        f'WHERE statistic = ?', [statistic]).fetchall()[0]
        assert (low, high) == pytest.approx(bootstrap_kendall(mu, gap, n_boot=300, random_state=4))
        assert low <= tau <= high
    # the driving statistic's interval stays far from 0; a noise statistic's holds 0
    low, _ = ranked.execute(f'SELECT tau_a_low, 0 FROM "{TABLES["measures"]}" WHERE position = 0').fetchall()[0]
    assert low > 0.6
    low, high = ranked.execute(f'SELECT tau_a_low, tau_a_high FROM "{TABLES["measures"]}" '
                               f"WHERE statistic = 'mean_stable_rank'").fetchall()[0]
    assert low < 0 < high


def test_robust_sign_error_oriented_by_the_declared_sign(ranked):
    for statistic, orientation in (("cdnv_last_hidden", 1), ("ncc_accuracy_train_last_hidden", -1)):
        _, mu, gap, axes = _raw(ranked, statistic)
        ref = robust_sign_error(orientation * mu, gap, axes)
        worst, mean, n, where = ranked.execute(
            f'SELECT sign_error, sign_error_mean, n_environments, worst_environment FROM '
            f'"{TABLES["measures"]}" WHERE statistic = ?', [statistic]).fetchall()[0]
        assert (worst, mean, n, where) == (pytest.approx(ref.max), pytest.approx(ref.mean),
                                           ref.n_environments, ref.worst)
    best = ranked.execute(f'SELECT sign_error, sign_error_mean FROM "{TABLES["measures"]}" '
                          f"WHERE statistic = 'cdnv_last_hidden'").fetchall()[0]
    assert best[1] < 0.25 and best[0] >= best[1]  # the statistic that drives the gap is rarely wrong


def test_undeclared_statistics_are_oriented_by_their_tau(ranked):
    _, mu, gap, axes = _raw(ranked, "mean_stable_rank")
    tau = ranked.execute(f'SELECT tau_a FROM "{TABLES["measures"]}" '
                         f"WHERE statistic = 'mean_stable_rank'").fetchall()[0][0]
    ref = robust_sign_error((1 if tau >= 0 else -1) * mu, gap, axes)
    stored = ranked.execute(f'SELECT sign_error FROM "{TABLES["measures"]}" '
                            f"WHERE statistic = 'mean_stable_rank'").fetchall()[0][0]
    assert stored == pytest.approx(ref.max)


def test_no_bootstrap_and_option_errors(make_store):
    con = make_store()
    build(con, RankingConfig(n_bootstrap=0))
    assert con.execute(f'SELECT count(tau_a_low) FROM "{TABLES["measures"]}"').fetchall()[0][0] == 0
    with pytest.raises(ValueError, match=r"The 'ci_level' option of ranking must be a float in the range \(0, 1\)"):
        RankingConfig(ci_level=1.0)
    with pytest.raises(ValueError, match="'n_bootstrap'"):
        RankingConfig(n_bootstrap=-1)
    with pytest.raises(ValueError, match="'gap_tolerance'"):
        RankingConfig(gap_tolerance=-0.1)
