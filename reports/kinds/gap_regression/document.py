"""The ``gap_regression`` document, built from the tables the report stored.

Every number shown is read back from the store with the SQL shown beside it,
so the document is exactly what ``runner sql`` would find.
"""

from __future__ import annotations

from functools import partial

import duckdb
import numpy as np

from reports.document import Column, Figure, Notice, Paragraph, Report, Section
from reports.document_parts import new_report, sql_table
from reports.figures import scatter_with_fit
from reports.formatting import sig
from reports.kinds.gap_regression.compute import KIND, TABLES, GapRegressionResult
from reports.kinds.gap_regression.options import TITLE

#: Heading of the document.

_MODEL_NAMES = {"linear": "linear regression", "ridge": "ridge regression (RidgeCV)"}

#: Tables of rows this kind computed in Python and stored.
_sql_table = partial(sql_table, computed=True)


def _data_section(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Section:
    cfg = ctx.config
    y = ctx.gaps["gen_gap"].to_numpy()
    epoch = "the last epoch of each run" if cfg.epoch is None else f"epoch {cfg.epoch}"
    sec = Section("Data")
    if len(y):
        sec.blocks.append(Paragraph(
            f"{len(y)} runs (statuses: {', '.join(cfg.statuses)}) have a generalization "
            f"gap (train minus test accuracy) at {epoch}: mean {sig(np.mean(y))}, "
            f"std {sig(np.std(y))}, min {sig(np.min(y))}, max {sig(np.max(y))}. Features "
            f"are the statistics of layer '{cfg.layer}' at the last epoch each measure was "
            f"computed, no later than the gap's epoch."))
    if len(y) < cfg.min_runs:
        sec.blocks.append(Notice(
            f"Only {len(y)} runs have a generalization gap; the gap regression needs at "
            f"least {cfg.min_runs}. No model was fitted."))
    elif not ctx.enough:
        sec.blocks.append(Notice(
            f"The generalization gap is the same ({sig(y[0])}) for every run: there is "
            f"nothing to predict. No model was fitted."))
    fams = con.execute(f'SELECT family, status, used, missing FROM "{TABLES["families"]}" '
                       f"ORDER BY position").fetchall()
    absent = [family for family, status, _, _ in fams if status == "not computed"]
    if not ctx.families:
        sec.blocks.append(Notice("No feature family: the measures declare none in the catalog the report "
                                 "was built with, and the report's families option names none."))
    if absent:
        sec.blocks.append(Notice(f"Left out of the tables, no data (none of their features is in the "
                                 f"store): {', '.join(absent)}."))
    for family, status, _, missing in fams:
        if status != "not computed" and missing:
            sec.blocks.append(Notice(f"Family {family}: features not in the store, left "
                                     f"out: {missing}."))
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "families", "Feature families: features used, missing from the store, "
        "or constant over the runs; runs with every used feature.",
        f'SELECT family, measure, used, missing, constant, n_runs, status\n'
        f'FROM "{TABLES["families"]}" WHERE status <> \'not computed\' ORDER BY position',
        [Column("family"), Column("measure"), Column("features used", "long"),
         Column("missing", "long"), Column("constant", "long"), Column("runs", "int"),
         Column("status")]))
    return sec


def _interval(cfg) -> str:
    """The sentence on the R\u00b2 interval (empty when there is none)."""
    if not cfg.n_bootstrap:
        return ""
    return (f" CI: a {100 * cfg.ci_level:g}% percentile bootstrap interval of the mean R\u00b2, "
            f"from {cfg.n_bootstrap} resamples (seed {cfg.bootstrap_seed}) of the "
            f"{cfg.n_splits * cfg.n_repeats} fold R\u00b2 values, not of the runs: refitting the "
            f"cross-validation on resampled runs would put copies of a run on both sides of a fold. "
            f"The folds share runs, so the interval is narrower than one over new sets of runs.")


def _r2_section(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Section:
    cfg = ctx.config
    models = ", ".join(_MODEL_NAMES[m] for m in cfg.models)
    sec = Section("Cross-validated R\u00b2", [Paragraph(
        f"Regression of the generalization gap on the standardised features of each "
        f"family ({models}). R\u00b2 on the held-out folds of RepeatedKFold("
        f"n_splits={cfg.n_splits}, n_repeats={cfg.n_repeats}, "
        f"random_state={cfg.random_state}), as in Ballester et al. 2023: mean, standard "
        f"deviation, median, minimum and maximum over the "
        f"{cfg.n_splits * cfg.n_repeats} folds.{_interval(cfg)}")])
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "r2", "R\u00b2 of each family over the cross-validation folds.",
        f'SELECT family, model, n_runs, n_features, r2_mean, r2_low, r2_high, r2_std, r2_median,\n'
        f'       r2_min, r2_max, status\nFROM "{TABLES["r2"]}" WHERE status <> \'not computed\'\n'
        f'ORDER BY position, model',
        [Column("family"), Column("model"), Column("runs", "int"),
         Column("features", "int"), Column("mean", "num"), Column("CI low", "num"),
         Column("CI high", "num"), Column("std", "num"), Column("median", "num"),
         Column("min", "num"), Column("max", "num"), Column("status")]))
    return sec


def _tests_section(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Section:
    sec = Section("Comparing families (5x2cv)", [Paragraph(
        "Dietterich's 5x2cv paired t-test (the difference of the two families' R\u00b2 on "
        "the first fold of the first repetition, divided by the square root of the mean "
        "of the five repetitions' variances of the differences; two-sided, 5 degrees of "
        "freedom) and Alpaydin's combined 5x2cv F-test (10 and 5 degrees of freedom), on "
        "the same folds and the runs both families cover. t > 0: family A scores higher "
        "on that first fold.")])
    n = con.execute(f'SELECT count(*) FROM "{TABLES["tests"]}"').fetchall()[0][0]
    if n == 0:
        sec.blocks.append(Notice("No pair of analysed families to compare."))
        return sec
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "tests", "5x2cv tests between each pair of families.",
        f'SELECT family_a, family_b, model, n_runs, t, p_t, f, p_f, status\n'
        f'FROM "{TABLES["tests"]}" ORDER BY family_a, family_b, model',
        [Column("family A"), Column("family B"), Column("model"), Column("runs", "int"),
         Column("t", "num"), Column("p (t-test)", "p"), Column("F", "num"),
         Column("p (F-test)", "p"), Column("status")]))
    return sec


def _ols_section(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Section:
    sec = Section("OLS fits", [Paragraph(
        "In-sample ordinary least squares of the gap on each family's standardised "
        "features (statsmodels): coefficient per standard deviation of the feature, its "
        "standard error, t statistic and two-sided p-value.")])
    fits = con.execute(f'SELECT DISTINCT position, family, r2, adj_r2, n_runs FROM '
                       f'"{TABLES["ols"]}" ORDER BY position').fetchall()
    if not fits:
        sec.blocks.append(Notice("No family was analysed."))
    for _, family, r2, adj, n in fits:
        sec.blocks.append(_sql_table(
            con, ctx, KIND, f"ols-{family}",
            f"OLS, family {family}: n = {n}, R\u00b2 = {sig(r2)}, adjusted R\u00b2 = "
            f"{sig(adj)}.",
            f'SELECT term, coef, se, t, p FROM "{TABLES["ols"]}"\n'
            f'WHERE family = ? ORDER BY term_index',
            [Column("term"), Column("coefficient", "num"), Column("std. error", "num"),
             Column("t", "num"), Column("p", "p")], [family]))
    return sec


def _kendall_section(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Section:
    sec = Section("Single features: Kendall tau-b", [Paragraph(
        "Kendall's tau-b between each feature and the generalization gap over the runs "
        "that have the feature (Jiang et al. 2020).")])
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "kendall", "Kendall tau-b of each feature with the generalization gap.",
        f'SELECT family, feature, n_runs, tau_b, p FROM "{TABLES["kendall"]}"\n'
        f'ORDER BY family, feature',
        [Column("family"), Column("feature"), Column("runs", "int"), Column("tau-b", "num"),
         Column("p", "p")]))
    best = con.execute(f'SELECT measure, feature, tau_b FROM "{TABLES["kendall"]}"\n'
                       f'WHERE tau_b IS NOT NULL AND NOT isnan(tau_b)\n'
                       f'ORDER BY abs(tau_b) DESC, family, feature LIMIT 1').fetchall()
    if not best:
        return sec
    measure, feature, tau = best[0]
    x, y = (np.array(v, dtype=float) for v in zip(*con.execute(
        'SELECT value, gen_gap FROM "run_features" WHERE measure = ? AND statistic = ? '
        'AND isfinite(value) ORDER BY run_id', [measure, feature]).fetchall()))
    fig = scatter_with_fit(x, y, xlabel=f"{feature} ({measure})",
                           ylabel="generalization gap", title=f"Kendall tau-b = {sig(tau)}")
    sec.blocks.append(Figure(
        "scatter", f"The single feature with the largest |tau-b|, {feature} of {measure}, "
        f"against the generalization gap (tau-b = {sig(tau)}, {len(x)} runs); line: "
        f"least squares.", fig))
    return sec


def document(con: duckdb.DuckDBPyConnection, ctx: GapRegressionResult) -> Report:
    """The ``gap_regression`` report: its data and the fits of each family.

    Sections: Data (the families and their features); when ``ctx.enough``,
    Cross-validated R², Comparing families (5x2cv), OLS fits and Single
    features: Kendall tau-b. Families without data are left out of the tables
    (one notice names them).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : GapRegressionResult
        What :func:`reports.kinds.gap_regression.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    report = new_report(KIND, TITLE, ctx)
    report.sections.append(_data_section(con, ctx))
    if ctx.enough:
        report.sections += [_r2_section(con, ctx), _tests_section(con, ctx),
                            _ols_section(con, ctx), _kendall_section(con, ctx)]
    return report
