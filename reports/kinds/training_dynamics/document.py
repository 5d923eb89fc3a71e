"""The ``training_dynamics`` document, built from the tables the report stored.

Every number shown is read back from the store with the SQL shown beside it.
"""

from __future__ import annotations

import duckdb

from reports.document import Column, Figure, Notice, Paragraph, Report, Section
from reports.document_parts import group_label, grouping, runs_report, sql_table
from reports.figures import new_figure, plot_bands
from reports.kinds.training_dynamics.compute import KIND, TABLES, TrainingDynamicsResult
from reports.kinds.training_dynamics.options import TITLE

#: Heading of the document.


def _accuracy_section(con: duckdb.DuckDBPyConnection, ctx: TrainingDynamicsResult) -> Section:
    sec = Section("Accuracy over epochs", [Paragraph(
        "Train and test accuracy at each epoch: median over runs (line) and interquartile "
        "band (25th to 75th percentile, linear interpolation)" + (
            f", one line per value of the sweep axis {ctx.axis}." if ctx.axis else "."))])
    rows = con.execute('SELECT group_value, split, epoch, q25, median, q75 '
                       'FROM "training_dynamics_accuracy"').fetchall()
    if not rows:
        sec.blocks.append(Notice("The metrics table holds no train or test accuracy for these runs."))
        return sec
    fig = new_figure((8, 3.2))
    for i, split in enumerate(("train", "test")):
        ax = fig.add_subplot(1, 2, i + 1)
        plot_bands(ax, [(r[0], *r[2:]) for r in rows if r[1] == split], label_of=group_label(ctx.axis))
        ax.set_title(f"{split} accuracy", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    sec.blocks.append(Figure("accuracy", "Train and test accuracy over epochs (median and "
                             "interquartile band over runs).", fig))
    return sec


def _shown(con: duckdb.DuckDBPyConnection, ctx: TrainingDynamicsResult, measure: str,
           sec: Section) -> list[str]:
    """The statistics of ``measure`` the section shows (the stored top ones), with a notice of the rest."""
    every = [r[0] for r in con.execute('SELECT DISTINCT statistic FROM "training_dynamics_bands" '
                                       'WHERE measure = ? ORDER BY statistic', [measure]).fetchall()]
    shown = [r[0] for r in con.execute(f'SELECT statistic FROM "{TABLES["top"]}" WHERE measure = ? '
                                       f'ORDER BY position', [measure]).fetchall()]
    how = "those with the largest |tau-b| with the final gap at their last epoch"
    if not shown:  # no correlation was computed: the first ones by name
        shown, how = every[:ctx.config.top], "the first by name (no correlation was computed)"
    if len(shown) < len(every):
        sec.blocks.append(Notice(
            f"{len(shown)} of the {len(every)} statistics of {measure} are shown, {how} (option top); "
            f"the correlations of all of them are in the table {TABLES['correlations']}."))
    return shown


def _measure_section(con: duckdb.DuckDBPyConnection, ctx: TrainingDynamicsResult, measure: str) -> Section:
    sec = Section(f"Measure {measure}")
    epochs = [r[0] for r in con.execute('SELECT DISTINCT epoch FROM "training_dynamics_bands" '
                                        'WHERE measure = ? ORDER BY epoch', [measure]).fetchall()]
    if len(epochs) < 2:
        sec.blocks.append(Notice(f"{measure} is stored at epoch {epochs[0]} only: there are no "
                                 f"dynamics to show, only the correlations at that epoch."))
    statistics = _shown(con, ctx, measure, sec)
    bands = con.execute('SELECT statistic, group_value, epoch, q25, median, q75 FROM '
                        '"training_dynamics_bands" WHERE measure = ?', [measure]).fetchall()
    ncols = min(3, len(statistics))
    nrows = -(-len(statistics) // ncols)
    fig = new_figure((3.1 * ncols, 2.5 * nrows))
    for i, stat in enumerate(statistics):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        plot_bands(ax, [r[1:] for r in bands if r[0] == stat], label_of=group_label(ctx.axis))
        ax.set_title(stat, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=6)
    fig.supxlabel("epoch", fontsize=9)
    sec.blocks.append(Figure(f"values-{measure}", f"Statistics of {measure} over checkpoint epochs: "
                             f"median over runs and interquartile band.", fig))
    corr = [r for r in con.execute(f'SELECT statistic, epoch, tau_b FROM "{TABLES["correlations"]}" '
                                   f"WHERE measure = ? AND status = 'ok'", [measure]).fetchall()
            if r[0] in statistics]
    if corr:
        fig = new_figure((6, 3.4))
        ax = fig.add_subplot()
        for i, stat in enumerate(s for s in statistics if s in {r[0] for r in corr}):
            x, tau = zip(*sorted((r[1], r[2]) for r in corr if r[0] == stat))
            ax.plot(x, tau, marker="o", ms=3, lw=1.2, color=f"C{i % 10}", label=stat)
        ax.axhline(0, color="#555", lw=0.6)
        ax.set(xlabel="epoch", ylabel="Kendall tau-b with the final gap", ylim=(-1.05, 1.05))
        ax.grid(alpha=0.3, lw=0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        sec.blocks.append(Figure(f"tau-{measure}", f"Kendall tau-b between each statistic of {measure} "
                                 f"at an epoch and the final generalization gap, over runs.", fig))
    skipped = con.execute(f'SELECT count(*), min(status) FROM "{TABLES["correlations"]}" '
                          f"WHERE measure = ? AND status <> 'ok'", [measure]).fetchall()[0]
    if skipped[0]:
        sec.blocks.append(Notice(f"{skipped[0]} correlations of {measure} were not computed "
                                 f"(e.g. {skipped[1]}); see the status column."))
    sec.blocks.append(sql_table(
        con, ctx, KIND, f"correlations-{measure}",
        f"Rank correlation of each statistic of {measure} shown at each epoch with the final gap.",
        f'SELECT statistic, epoch, n_runs, tau_b, p_tau, p_holm, p_bh, rho, p_rho, status\n'
        f'FROM "{TABLES["correlations"]}" WHERE measure = ? AND list_contains(?, statistic)\n'
        f'ORDER BY list_position(?, statistic), epoch',
        [Column("statistic"), Column("epoch", "int"), Column("runs", "int"),
         Column("Kendall tau-b", "num"), Column("p (tau-b)", "p"), Column("p (Holm)", "p"),
         Column("p (BH)", "p"), Column("Spearman rho", "num"), Column("p (rho)", "p"),
         Column("status")], [measure, statistics, statistics]))
    return sec


def document(con: duckdb.DuckDBPyConnection, ctx: TrainingDynamicsResult) -> Report:
    """The ``training_dynamics`` report: accuracy and measure bands over epochs, correlations with the gap.

    Sections: Data; when a run has a final gap, Accuracy over epochs and one
    section per measure (bands, Kendall tau-b by epoch, the correlation table
    with Holm and Benjamini-Hochberg adjusted p-values), each for the ``top``
    statistics of the measure by |tau-b| at their last epoch.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : TrainingDynamicsResult
        What :func:`reports.kinds.training_dynamics.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    cfg = ctx.config
    report, data = runs_report(
        KIND, TITLE, ctx,
        f"{ctx.n_runs} runs (statuses: {', '.join(cfg.statuses)}) have a final generalization "
        f"gap (train minus test accuracy at their last epoch). Measure statistics are those of "
        f"layer '{cfg.layer}', at every stored checkpoint epoch up to that last epoch; among "
        f"stored versions the newest is used. Runs are grouped by {grouping(ctx.axis)}",
        "No run has a generalization gap: there is nothing to show.")
    if ctx.n_runs == 0:
        return report
    report.sections.append(_accuracy_section(con, ctx))
    measures = [r[0] for r in con.execute('SELECT DISTINCT measure FROM "training_dynamics_bands" '
                                          'ORDER BY measure').fetchall()]
    if not measures:
        data.blocks.append(Notice(f"No measure is stored on layer '{cfg.layer}' for these runs."))
    report.sections += [_measure_section(con, ctx, m) for m in measures]
    return report
