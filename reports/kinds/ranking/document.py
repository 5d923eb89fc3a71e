"""The ``ranking`` document, built from the tables the report stored.

Every number shown is read back from the store with the SQL shown beside it.
"""

from __future__ import annotations

from functools import partial

import duckdb
import numpy as np

from reports.document import Column, Figure, Notice, Paragraph, Report, Section
from reports.document_parts import new_report, sql_table
from reports.figures import scatter_with_fit
from reports.formatting import sig
from reports.kinds.ranking.compute import KIND, TABLES, RankingResult
from reports.kinds.ranking.options import TITLE

#: Heading of the document.

#: Tables of rows this kind computed in Python and stored.
_sql_table = partial(sql_table, computed=True)


def _data_section(con: duckdb.DuckDBPyConnection, ctx: RankingResult) -> Section:
    cfg, axes = ctx.config, ctx.axes
    y = ctx.gaps["gen_gap"].to_numpy()
    epoch = "the last epoch of each run" if cfg.epoch is None else f"epoch {cfg.epoch}"
    sec = Section("Data")
    if len(y):
        sec.blocks.append(Paragraph(
            f"{len(y)} runs (statuses: {', '.join(cfg.statuses)}) have a generalization gap "
            f"(train minus test accuracy) at {epoch}: mean {sig(np.mean(y))}, min "
            f"{sig(np.min(y))}, max {sig(np.max(y))}. Each measure statistic of layer "
            f"'{cfg.layer}' is taken at the last epoch it was computed, no later than the "
            f"gap's epoch."))
    if len(y) < cfg.min_runs:
        sec.blocks.append(Notice(f"Only {len(y)} runs have a generalization gap; the ranking "
                                 f"needs at least {cfg.min_runs}. Nothing was ranked."))
    elif not ctx.enough:
        sec.blocks.append(Notice(f"The generalization gap is the same ({sig(y[0])}) for every "
                                 f"run: there is nothing to rank against. Nothing was ranked."))
    elif not axes:
        sec.blocks.append(Notice(
            "No sweep axis takes two values or more over these runs (runs.axes): the "
            "granulated Kendall coefficients, the CMI score and the robust sign-error need "
            "hyperparameter axes and are left out; only Kendall's tau over all runs is shown."))
    elif min(cfg.cmi_subset_sizes) > len(axes):
        sec.blocks.append(Notice(
            f"The CMI score conditions on sets of {', '.join(map(str, cfg.cmi_subset_sizes))} "
            f"axes but the sweep has {len(axes)}: no CMI score was computed. Setting "
            f"cmi_subset_sizes to (0, 1, 2) gives the definition of Jiang et al. 2020 (ICLR)."))
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "axes", "Sweep axes (keys of runs.axes): runs naming them, distinct values; "
        "only axes with two values or more are used.",
        f'SELECT axis, n_runs, n_values, value_list, used\nFROM "{TABLES["axes"]}" ORDER BY position',
        [Column("axis"), Column("runs", "int"), Column("values", "int"),
         Column("value list", "long"), Column("used")]))
    return sec


def _ranking_section(con: duckdb.DuckDBPyConnection, ctx: RankingResult) -> Section:
    cfg = ctx.config
    ci = (f"CI: the {100 * cfg.ci_level:g}% percentile bootstrap interval of tau-a ({cfg.n_bootstrap} "
          f"resamples of the runs, seed {cfg.bootstrap_seed}; pairs of copies of one run left out). "
          if cfg.n_bootstrap else "")
    sec = Section("Ranking", [Paragraph(
        "tau-a: Kendall's rank correlation of the statistic with the generalization gap over "
        "all runs, Jiang et al. 2020 (ICLR) Eq. (3): the mean over ordered pairs of runs of "
        "sign(difference of the statistic) x sign(difference of the gap), tied pairs "
        f"counting 0. {ci}p: two-sided p-value of scipy's Kendall test (tau-b, whose numerator "
        "tau-a shares); p (Holm) and p (BH): that p-value adjusted over every statistic of the "
        "table, by Holm's step-down method (family-wise error) and by Benjamini and Hochberg's "
        "(false discovery rate): with many statistics some raw p < 0.05 are expected by chance. "
        "Oriented tau-a: tau-a times the sign the statistic's measure declares, +1 when larger values "
        "are declared to go with a larger gap (higher_is_better false), -1 when with a smaller gap "
        "(higher_is_better true); positive when the statistic orders the gaps the way its measure "
        "says, empty when the measure declares no sign. Rows by decreasing |tau-a|.")])
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "ranking", "Measure statistics ranked by |tau-a| with the generalization gap.",
        f'SELECT position + 1 AS rank, measure, statistic, n_runs, tau_a, tau_a_low, tau_a_high, p,\n'
        f'       p_holm, p_bh, oriented_tau_a, status\nFROM "{TABLES["measures"]}" ORDER BY position',
        [Column("rank", "int"), Column("measure"), Column("statistic"), Column("runs", "int"),
         Column("tau-a", "num"), Column("CI low", "num"), Column("CI high", "num"), Column("p", "p"),
         Column("p (Holm)", "p"), Column("p (BH)", "p"), Column("oriented tau-a", "num"),
         Column("status")]))
    if not ctx.signed:
        sec.blocks.append(Notice(
            "No ranked statistic has a declared sign in the measure catalog the report was built "
            "with: the oriented tau-a is empty."))
    best = con.execute(f'SELECT measure, statistic, tau_a FROM "{TABLES["measures"]}"\n'
                       f'WHERE tau_a IS NOT NULL AND NOT isnan(tau_a) ORDER BY position LIMIT 1').fetchall()
    if best:
        measure, statistic, tau = best[0]
        x, y = (np.array(v, dtype=float) for v in zip(*con.execute(
            'SELECT value, gen_gap FROM "run_features" WHERE measure = ? AND statistic = ? '
            'AND isfinite(value) ORDER BY run_id', [measure, statistic]).fetchall()))
        fig = scatter_with_fit(x, y, xlabel=f"{statistic} ({measure})",
                               ylabel="generalization gap", title=f"Kendall tau-a = {sig(tau)}")
        sec.blocks.append(Figure("top", f"The first-ranked statistic, {statistic} of {measure}, "
                                 f"against the generalization gap ({len(x)} runs); line: least "
                                 f"squares.", fig))
    return sec


def _robustness_section(con: duckdb.DuckDBPyConnection, ctx: RankingResult) -> Section:
    cfg, axes = ctx.config, ctx.axes
    sizes = ", ".join(str(s) for s in cfg.cmi_subset_sizes)
    tolerance = f" by more than {sig(cfg.gap_tolerance)}" if cfg.gap_tolerance else ""
    sec = Section("Robustness over hyperparameters", [Paragraph(
        "psi(axis): the granulated coefficient of Jiang et al. 2020 Eq. (4), tau-a over the runs that "
        "differ only in that axis, averaged over the cells of the other axes; Psi: their mean, "
        "Eq. (5). CMI: the PGDL score (Jiang et al. 2020, arXiv 2012.07976): over ordered pairs of "
        "runs, I(statistic orders the pair; gap orders the pair | both runs' values of the axes in "
        f"S) / H(gap orders the pair | same), minimised over the sets S of {sizes} axes; 0 to 1, "
        "blind to the statistic's sign. Sign error: the robust sign-error of Dziugaite et al. 2020 "
        "(NeurIPS): an environment is one axis that varies with every other axis at one setting; "
        "in each, the mean over its pairs of runs (whose gaps differ"
        f"{tolerance}) of (1 - sign(difference of the statistic) x sign(difference of the gap)) / 2, "
        "the statistic oriented by its declared sign, else by the sign of its tau-a; worst: the "
        "largest over the environments (0: never wrong, 0.5: chance), mean: their mean.")])
    psi_cols = "".join(f",\n       max(s.psi) FILTER (WHERE s.axis = ?) AS psi_{i}" for i in range(len(axes)))
    sql = (f'SELECT m.position + 1 AS rank, m.measure, m.statistic{psi_cols},\n'
           f'       m.psi_mean, m.cmi, m.sign_error, m.sign_error_mean\nFROM "{TABLES["measures"]}" AS m\n'
           f'LEFT JOIN "{TABLES["psi"]}" AS s ON s.measure = m.measure AND s.statistic = m.statistic\n'
           f'GROUP BY m.position, m.measure, m.statistic, m.psi_mean, m.cmi, m.sign_error, m.sign_error_mean\n'
           f'ORDER BY m.position')
    columns = ([Column("rank", "int"), Column("measure"), Column("statistic")]
               + [Column(f"psi({a})", "num") for a in axes]
               + [Column("Psi", "num"), Column("CMI", "num"), Column("sign error (worst)", "num"),
                  Column("sign error (mean)", "num")])
    sec.blocks.append(_sql_table(con, ctx, KIND, "robustness", "Granulated Kendall coefficients, CMI "
                                 "score and robust sign-error of each statistic.", sql, columns, list(axes)))
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "environments", "The environment where each statistic's sign-error is worst.",
        f'SELECT position + 1 AS rank, measure, statistic, sign_error, n_environments, worst_environment\n'
        f'FROM "{TABLES["measures"]}" WHERE n_environments > 0 ORDER BY position',
        [Column("rank", "int"), Column("measure"), Column("statistic"), Column("sign error (worst)", "num"),
         Column("environments", "int"), Column("worst environment")]))
    lonely = [a for (a,) in con.execute(f'SELECT axis FROM "{TABLES["psi"]}" GROUP BY axis '
                                        f'HAVING max(n_pairs) = 0 ORDER BY axis').fetchall()]
    if lonely:
        sec.blocks.append(Notice(
            f"psi and the sign-error are undefined for {', '.join(lonely)}: no two runs differ in that "
            "axis only (as in a fractional factorial design); Eq. (4) needs runs that share every other "
            "axis value."))
    n_cmi = con.execute(f'SELECT count(*) FROM "{TABLES["measures"]}" '
                        f'WHERE cmi IS NOT NULL AND NOT isnan(cmi)').fetchall()[0][0]
    if not n_cmi and min(cfg.cmi_subset_sizes) <= len(axes):
        sec.blocks.append(Notice(
            "The CMI score is undefined for every statistic: within each value of the "
            "conditioning axes of both runs, the gap orders every pair the same way "
            "(H(gap orders the pair | S) = 0), as with one run per configuration and no more "
            "axes than the conditioning sets hold."))
    if n_cmi:
        sec.blocks.append(_sql_table(
            con, ctx, KIND, "cmi", "CMI score of each statistic and the conditioning set S that "
            "attains the minimum.",
            f'SELECT measure, statistic, cmi, cmi_conditioning FROM "{TABLES["measures"]}"\n'
            f'WHERE cmi IS NOT NULL AND NOT isnan(cmi) ORDER BY cmi DESC, measure, statistic',
            [Column("measure"), Column("statistic"), Column("CMI", "num"),
             Column("conditioning set S")]))
    return sec


def _clusters_section(con: duckdb.DuckDBPyConnection, ctx: RankingResult) -> Section | None:
    if not con.execute(f'SELECT count(*) FROM "{TABLES["clusters"]}"').fetchall()[0][0]:
        return None
    measures = ", ".join(ctx.config.cluster_measures)
    sec = Section("Clusters of statistic and gap", [Paragraph(
        f"Ballester et al. 2023: for each statistic of {measures}, K-means with k = 2 "
        "(scikit-learn, random_state=0, 10 initialisations) on the points (statistic, gap) of "
        "the runs, raw values; clusters numbered by increasing mean gap. The paper found "
        "that such clusters follow the networks' depth.")])
    sec.blocks.append(_sql_table(
        con, ctx, KIND, "clusters", "K-means clusters of each statistic with the generalization gap.",
        f'SELECT measure, statistic, cluster, n_runs, mean_value, mean_gap\n'
        f'FROM "{TABLES["clusters"]}" ORDER BY measure, statistic, cluster',
        [Column("measure"), Column("statistic"), Column("cluster", "int"), Column("runs", "int"),
         Column("mean statistic", "num"), Column("mean gap", "num")]))
    return sec


def document(con: duckdb.DuckDBPyConnection, ctx: RankingResult) -> Report:
    """The ``ranking`` report: its data, the ranked statistics and their clusters.

    Sections: Data (runs, gap, sweep axes); when ``ctx.enough``, Ranking (tau-a,
    its bootstrap interval, raw and adjusted p-values; the first-ranked statistic
    against the gap), when a sweep axis varies, Robustness over hyperparameters
    (psi per axis, Psi, CMI, robust sign-error) and, when any statistic was
    clustered, Clusters of statistic and gap.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : RankingResult
        What :func:`reports.kinds.ranking.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    report = new_report(KIND, TITLE, ctx)
    report.sections.append(_data_section(con, ctx))
    if ctx.enough:
        report.sections.append(_ranking_section(con, ctx))
        if ctx.axes:
            report.sections.append(_robustness_section(con, ctx))
        clusters = _clusters_section(con, ctx)
        if clusters is not None:
            report.sections.append(clusters)
    return report
