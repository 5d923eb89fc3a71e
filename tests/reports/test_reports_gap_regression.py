"""The gap_regression report on synthetic stores with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from reports.document import Notice, Table
from reports.formatting import pvalue, sig
from reports.kinds.gap_regression import build
from reports.kinds.gap_regression.compute import TABLES, compute
from reports.kinds.gap_regression.families import Family, families_from_catalog, family_data
from reports.kinds.gap_regression.options import GapRegressionConfig
from reports.render import build_report
from reports.stats import regression as stats
from reports.stats.bootstrap import bootstrap_mean
from reports.stats.kendall import kendall_tau_b
from tests.reports.conftest import CATALOG


def _r2(con, family, model="linear"):
    return con.execute(f'SELECT r2_mean, r2_min, status, n_runs FROM "{TABLES["r2"]}" '
                       f"WHERE family = ? AND model = ?", [family, model]).fetchall()[0]


def _matrix(con, measure, features):
    """X (runs x features) and y from run_features, sorted by run_id."""
    rows = con.execute('SELECT run_id, statistic, value, gen_gap FROM "run_features" '
                       "WHERE measure = ? ORDER BY run_id", [measure]).fetchall()
    runs = sorted({r[0] for r in rows})
    val = {(r[0], r[1]): r[2] for r in rows}
    gap = {r[0]: r[3] for r in rows}
    X = np.array([[val[(run, f)] for f in features] for run in runs])
    return X, np.array([gap[r] for r in runs])


def test_signal_family_predicts_and_noise_family_does_not(built):
    con = built["con"]
    mean, lo, status, n = _r2(con, "neural_collapse")
    assert status == "ok" and n == 40
    assert mean > 0.9 and lo > 0.8
    for model in ("linear", "ridge"):
        assert _r2(con, "weight_spectrum", model)[0] < 0.3
    assert _r2(con, "activation_persistence")[2] == "not computed"


def test_fold_scores_and_pvalues_agree_with_stats(built):
    con = built["con"]
    feats = ("cdnv_last_hidden", "ncc_accuracy_train_last_hidden",
             "ncc_accuracy_test_last_hidden")
    X, y = _matrix(con, "neural_collapse", feats)
    folds = {
        fam: np.array([r[0] for r in con.execute(
            f'SELECT r2 FROM "{TABLES["folds"]}" WHERE family = ? AND model = \'linear\' '
            "ORDER BY repeat, fold", [fam]).fetchall()])
        for fam in ("neural_collapse", "weight_spectrum")}
    np.testing.assert_allclose(folds["neural_collapse"], stats.cv_r2(X, y), rtol=1e-10)
    t, p_t, f, p_f = con.execute(
        f'SELECT t, p_t, f, p_f FROM "{TABLES["tests"]}" WHERE family_a = \'weight_spectrum\' '
        "AND family_b = 'neural_collapse' AND model = 'linear'").fetchall()[0]
    assert (t, p_t) == pytest.approx(stats.paired_ttest_5x2cv(folds["weight_spectrum"],
                                                              folds["neural_collapse"]))
    assert (f, p_f) == pytest.approx(stats.combined_ftest_5x2cv(folds["weight_spectrum"],
                                                                folds["neural_collapse"]))
    assert t < 0  # the signal family (B) scores higher


def test_ols_and_kendall_agree_with_stats(built):
    con = built["con"]
    feats = ("cdnv_last_hidden", "ncc_accuracy_train_last_hidden",
             "ncc_accuracy_test_last_hidden")
    X, y = _matrix(con, "neural_collapse", feats)
    Z = (X - X.mean(0)) / X.std(0)
    ref = stats.ols_fit(Z, y, feats)
    rows = con.execute(f'SELECT term, coef, se, r2 FROM "{TABLES["ols"]}" '
                       "WHERE family = 'neural_collapse' ORDER BY term_index").fetchall()
    assert [r[0] for r in rows] == list(ref.terms)
    np.testing.assert_allclose([r[1] for r in rows], ref.coef, rtol=1e-9)
    np.testing.assert_allclose([r[2] for r in rows], ref.se, rtol=1e-9)
    assert rows[0][3] == pytest.approx(ref.r2)
    assert rows[1][1] == pytest.approx(0.05 * X[:, 0].std(), rel=0.05)  # slope x sd(cdnv)
    tau, p = con.execute(f'SELECT tau_b, p FROM "{TABLES["kendall"]}" '
                         "WHERE feature = 'cdnv_last_hidden'").fetchall()[0]
    assert (tau, p) == pytest.approx(kendall_tau_b(X[:, 0], y))


def test_html_shows_the_store_numbers_and_follows_changes(make_store, tmp_path):
    con = make_store()
    build_report(con, ["gap_regression"], tmp_path, manifest_text="", title="t",
                 formats=("html",), catalog=CATALOG)
    html = (tmp_path / "gap_regression.html").read_text()
    mean = _r2(con, "neural_collapse")[0]
    tau = con.execute(f'SELECT tau_b FROM "{TABLES["kendall"]}" '
                      "WHERE feature = 'mean_spectral_norm'").fetchall()[0][0]
    p_t = con.execute(f'SELECT p_t FROM "{TABLES["tests"]}" WHERE model = \'linear\'')\
        .fetchall()[0][0]
    for number in (sig(mean), sig(tau), pvalue(p_t)):
        assert f">{number}<" in html
    # Move one run's spectral norm far away: its tau and the noise family's R² change.
    con.execute("UPDATE measures SET value = 1e6 WHERE run_id = 'run000' AND layer = 'all' "
                "AND statistic = 'mean_spectral_norm' AND epoch = 3 AND version = 2")
    build_report(con, ["gap_regression"], tmp_path, manifest_text="", title="t",
                 formats=("html",), catalog=CATALOG)
    html2 = (tmp_path / "gap_regression.html").read_text()
    tau2 = con.execute(f'SELECT tau_b FROM "{TABLES["kendall"]}" '
                       "WHERE feature = 'mean_spectral_norm'").fetchall()[0][0]
    assert tau2 != tau and f">{sig(tau2)}<" in html2 and html2 != html


def test_too_few_runs_is_said_not_raised(make_store, tmp_path):
    con = make_store(n_runs=6)
    paths = build_report(con, ["gap_regression"], tmp_path, manifest_text="", title="t", catalog=CATALOG)
    html = (tmp_path / "gap_regression.html").read_text()
    assert "Only 6 runs have a generalization gap" in html
    assert "needs at least 10" in (tmp_path / "gap_regression.tex").read_text()
    assert con.execute(f'SELECT count(*) FROM "{TABLES["tests"]}"').fetchall() == [(0,)]
    assert all(p.exists() for p in paths)


def test_constant_gap_is_said_not_raised(make_store, tmp_path):
    con = make_store(constant_gap=True)
    build_report(con, ["gap_regression"], tmp_path, manifest_text="", title="t", catalog=CATALOG)
    assert "nothing to predict" in (tmp_path / "gap_regression.html").read_text()
    assert con.execute(f'SELECT count(*) FROM "{TABLES["folds"]}"').fetchall() == [(0,)]


def test_configurable_families_and_partial_family(make_store):
    con = make_store(persistence=True)
    cfg = GapRegressionConfig(families=[
        ("h0", ["h0_std_death", "h0_mean_death", "h0_not_stored"]),
        Family("signal", ("cdnv_last_hidden",), "neural_collapse"),
        Family("absent", ("nothing_here",))], models=("linear",))
    compute(con, cfg)
    fams = con.execute(f'SELECT family, used, missing, status FROM "{TABLES["families"]}" '
                       "ORDER BY position").fetchall()
    assert fams == [("h0", "h0_std_death, h0_mean_death", "h0_not_stored", "ok"),
                    ("signal", "cdnv_last_hidden", "", "ok"),
                    ("absent", "", "nothing_here", "not computed")]
    assert _r2(con, "signal")[0] > 0.9
    assert con.execute(f'SELECT count(*) FROM "{TABLES["tests"]}"').fetchall() == [(1,)]


def test_statistic_under_two_measures_needs_a_measure(make_store):
    con = make_store()
    con.execute("INSERT INTO measures SELECT run_id, epoch, 'other', layer, statistic, value, "
                "measure_key, version FROM measures WHERE statistic = 'cdnv_last_hidden'")
    cfg = GapRegressionConfig(families=[("any", ["cdnv_last_hidden"])])
    with pytest.raises(ValueError, match="stored under measures \\['neural_collapse', 'other'\\]"):
        compute(con, cfg)


def test_family_subsets_are_paired_on_common_runs(make_store):
    con = make_store(persistence=True)
    con.execute("DELETE FROM measures WHERE measure = 'activation_persistence' "
                "AND run_id IN ('run000', 'run001', 'run002')")
    compute(con, GapRegressionConfig(models=("linear",)), CATALOG)
    n = con.execute(f'SELECT family_a, family_b, n_runs FROM "{TABLES["tests"]}" '
                    "ORDER BY family_a, family_b").fetchall()
    assert ("neural_collapse", "activation_persistence", 37) in n
    assert ("weight_spectrum", "neural_collapse", 40) in n


def test_constant_feature_is_dropped(make_store):
    con = make_store()
    con.execute("UPDATE measures SET value = 1.0 "
                "WHERE statistic = 'ncc_accuracy_test_last_hidden'")
    compute(con, GapRegressionConfig(models=("linear",)), CATALOG)
    row = con.execute(f'SELECT used, constant FROM "{TABLES["families"]}" '
                      "WHERE family = 'neural_collapse'").fetchall()[0]
    assert row == ("cdnv_last_hidden, ncc_accuracy_train_last_hidden",
                   "ncc_accuracy_test_last_hidden")


def test_config_validation():
    with pytest.raises(ValueError, match="'models' option of gap_regression.*Got 'lasso'"):
        GapRegressionConfig(models=("lasso",))
    with pytest.raises(ValueError, match="'min_runs' option"):
        GapRegressionConfig(min_runs=2)
    with pytest.raises(ValueError, match="unique"):
        GapRegressionConfig(families=[("a", ["x"]), ("a", ["y"])])
    with pytest.raises(ValueError, match="at least one feature"):
        Family("empty", ())


def test_family_data_marks_too_few_complete_runs(store):
    import polars as pl

    compute(store, GapRegressionConfig(models=("linear",)), CATALOG)
    feats = store.sql('SELECT * FROM "run_features"').pl()
    gaps = store.sql('SELECT * FROM "final_gaps"').pl()
    d = family_data(Family("nc", ("cdnv_last_hidden",), "neural_collapse"),
                    feats.filter(pl.col("run_id") < "run005"), gaps, 10)
    assert d.status == "too few runs (n=5 < 10)"


def test_default_families_come_from_the_catalog():
    families = families_from_catalog(CATALOG)
    assert [f.name for f in families] == [
        "weight_spectrum", "neural_collapse", "activation_persistence", "pgdl_winners", "functional_graph",
        "jiang_norms", "jiang_margin_path_norm", "jiang_pac_bayes", "jiang_pac_bayes_magnitude",
        "jiang_optimisation", "perturbation_response"]
    by_name = {f.name: f for f in families}
    assert by_name["neural_collapse"] == Family("neural_collapse", (
        "cdnv_last_hidden", "ncc_accuracy_train_last_hidden", "ncc_accuracy_test_last_hidden"), "neural_collapse")
    # statistics of several measures: a family that matches any measure
    assert by_name["pgdl_winners"] == Family(
        "pgdl_winners", ("db_times_mixup_error", "augmentation_penalty", "label_variation"), None)
    assert by_name["jiang_margin_path_norm"].features == ("inverse_margin", "path_norm", "path_norm_over_margin")
    assert by_name["jiang_optimisation"] == Family("jiang_optimisation", ("epochs_to_loss_0.1",), "steps_to_loss")
    # the order is the catalog's: the families of a reversed catalog come reversed
    reversed_catalog = dict(reversed(list(CATALOG.items())))
    assert [f.name for f in families_from_catalog(reversed_catalog)][:2] == ["perturbation_response",
                                                                            "jiang_optimisation"]


def test_without_catalog_or_families_a_notice_not_an_error(store, tmp_path):
    build_report(store, ["gap_regression"], tmp_path, manifest_text="", title="t", formats=("html",))
    html = (tmp_path / "gap_regression.html").read_text()
    assert "No feature family: the measures declare none" in html
    assert store.execute(f'SELECT count(*) FROM "{TABLES["r2"]}"').fetchall() == [(0,)]
    # a families option needs no catalog
    compute(store, GapRegressionConfig(families=[("signal", ["cdnv_last_hidden"], "neural_collapse")],
                                       models=("linear",)))
    assert _r2(store, "signal")[0] > 0.9


def test_r2_interval_is_the_bootstrap_of_the_stored_folds(built):
    con = built["con"]
    for family in ("neural_collapse", "weight_spectrum"):
        low, high, mean = con.execute(f'SELECT r2_low, r2_high, r2_mean FROM "{TABLES["r2"]}" '
                                      f"WHERE family = ? AND model = 'linear'", [family]).fetchall()[0]
        folds = [r[0] for r in con.execute(f'SELECT r2 FROM "{TABLES["folds"]}" WHERE family = ? AND '
                                           f"model = 'linear' ORDER BY repeat, fold", [family]).fetchall()]
        assert (low, high) == pytest.approx(bootstrap_mean(folds, n_boot=1000, random_state=0))
        assert min(folds) <= low <= mean <= high <= max(folds)
    assert "not of the runs" in built["html"]  # the document says what was resampled


def test_families_without_data_are_left_out_of_the_tables(make_store):
    con = make_store()
    cfg = GapRegressionConfig(families=[("signal", ["cdnv_last_hidden"]), ("absent", ["nothing_here"])],
                              models=("linear",), n_bootstrap=0)
    report = build(con, cfg)
    tables = {b.key: b for s in report.sections for b in s.blocks if isinstance(b, Table)}
    assert [r[0] for r in tables["families"].rows] == [r[0] for r in tables["r2"].rows] == ["signal"]
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert notices[0] == "Left out of the tables, no data (none of their features is in the store): absent."
    assert not any("absent" in t for t in notices[1:])
    assert _r2(con, "absent")[2] == "not computed"  # still in the store
    assert con.execute(f'SELECT count(r2_low) FROM "{TABLES["r2"]}"').fetchall() == [(0,)]  # no interval
