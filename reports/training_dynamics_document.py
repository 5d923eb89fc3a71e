"""The ``training_dynamics`` document, and the band plots and SQL tables the layer and persistence reports share.

Every number shown is read back from the store with the SQL shown beside it.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
from matplotlib.figure import Figure as MplFigure

from reports.document import Column, Figure, Notice, Paragraph, Report, Section, Table
from reports.gap_regression_document import lineage_sql
from reports.training_dynamics import KIND, TABLES


def group_order(values) -> list[str]:
    """Distinct group values, numeric ones first in numeric order, then text in order."""
    def key(v: str):
        try:
            return (0, float(v), "")
        except (TypeError, ValueError):
            return (1, 0.0, str(v))
    return sorted(set(values), key=key)


def sql_table(con: duckdb.DuckDBPyConnection, ctx: dict, kind: str, key: str, caption: str,
              sql: str, columns: list[Column], params: list | None = None) -> Table:
    """A document table read from the store with ``sql``, showing that SQL and its lineage.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    ctx : dict
        What the kind's ``compute`` returned (``models`` and ``params`` are read).
    kind, key, caption : str
    sql : str
        One SELECT whose columns match ``columns``; ``?`` placeholders take ``params``.
    columns : list of Column
    params : list, optional

    Returns
    -------
    reports.document.Table
    """
    rows = con.execute(sql, params or []).fetchall()
    note = f"-- {kind}: the document reads these rows with"
    if params:
        note += f"\n-- (parameters bound: {json.dumps(params)})"
    text = f"{note}:\n{sql.strip()};\n\n{lineage_sql(ctx['models'], ctx['params'])}"
    return Table(key, caption, columns, [tuple(r) for r in rows], text)


def plot_bands(ax, rows: list[tuple], *, label_of=str, log: bool = False) -> None:
    """Median lines with interquartile bands, one per group.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    rows : list of tuple
        ``(group, x, q25, median, q75)``, any order.
    label_of : callable
        Group -> legend label.
    log : bool
        Logarithmic y axis (non-positive values are left out).
    """
    groups = group_order(r[0] for r in rows)
    for i, g in enumerate(groups):
        part = sorted((r[1:] for r in rows if r[0] == g), key=lambda r: r[0])
        x, lo, med, hi = (np.array(v, dtype=float) for v in zip(*part))
        if log:
            lo, med, hi = (np.where(v > 0, v, np.nan) for v in (lo, med, hi))
        ax.plot(x, med, marker="o" if x.size <= 20 else None, ms=2.5, lw=1.2, color=f"C{i % 10}",
                label=label_of(g))
        ax.fill_between(x, lo, hi, color=f"C{i % 10}", alpha=0.2, lw=0)
    if log and any(r[3] is not None and r[3] > 0 for r in rows):
        ax.set_yscale("log")
    ax.grid(alpha=0.3, lw=0.5)


def _group_label(ctx: dict):
    axis = ctx["axis"]
    return (lambda g: f"{axis} = {g}") if axis else (lambda g: "all runs")


def _accuracy_section(con: duckdb.DuckDBPyConnection, ctx: dict) -> Section:
    sec = Section("Accuracy over epochs", [Paragraph(
        "Train and test accuracy at each epoch: median over runs (line) and interquartile "
        "band (25th to 75th percentile, linear interpolation)" + (
            f", one line per value of the sweep axis {ctx['axis']}." if ctx["axis"] else "."))])
    rows = con.execute('SELECT group_value, split, epoch, q25, median, q75 '
                       'FROM "training_dynamics_accuracy"').fetchall()
    if not rows:
        sec.blocks.append(Notice("The metrics table holds no train or test accuracy for these runs."))
        return sec
    fig = MplFigure(figsize=(8, 3.2), layout="constrained")
    for i, split in enumerate(("train", "test")):
        ax = fig.add_subplot(1, 2, i + 1)
        plot_bands(ax, [(r[0], *r[2:]) for r in rows if r[1] == split], label_of=_group_label(ctx))
        ax.set_title(f"{split} accuracy", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    sec.blocks.append(Figure("accuracy", "Train and test accuracy over epochs (median and "
                             "interquartile band over runs).", fig))
    return sec


def _measure_section(con: duckdb.DuckDBPyConnection, ctx: dict, measure: str) -> Section:
    sec = Section(f"Measure {measure}")
    epochs = [r[0] for r in con.execute('SELECT DISTINCT epoch FROM "training_dynamics_bands" '
                                        'WHERE measure = ? ORDER BY epoch', [measure]).fetchall()]
    if len(epochs) < 2:
        sec.blocks.append(Notice(f"{measure} is stored at epoch {epochs[0]} only: there are no "
                                 f"dynamics to show, only the correlations at that epoch."))
    statistics = [r[0] for r in con.execute('SELECT DISTINCT statistic FROM "training_dynamics_bands" '
                                            'WHERE measure = ? ORDER BY statistic', [measure]).fetchall()]
    bands = con.execute('SELECT statistic, group_value, epoch, q25, median, q75 FROM '
                        '"training_dynamics_bands" WHERE measure = ?', [measure]).fetchall()
    ncols = min(3, len(statistics))
    nrows = -(-len(statistics) // ncols)
    fig = MplFigure(figsize=(3.1 * ncols, 2.5 * nrows), layout="constrained")
    for i, stat in enumerate(statistics):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        plot_bands(ax, [r[1:] for r in bands if r[0] == stat], label_of=_group_label(ctx))
        ax.set_title(stat, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=6)
    fig.supxlabel("epoch", fontsize=9)
    sec.blocks.append(Figure(f"values-{measure}", f"Statistics of {measure} over checkpoint epochs: "
                             f"median over runs and interquartile band.", fig))
    corr = con.execute(f'SELECT statistic, epoch, tau FROM "{TABLES["correlations"]}" '
                       f"WHERE measure = ? AND status = 'ok'", [measure]).fetchall()
    if corr:
        fig = MplFigure(figsize=(6, 3.4), layout="constrained")
        ax = fig.add_subplot()
        for i, stat in enumerate(sorted({r[0] for r in corr})):
            x, tau = zip(*sorted((r[1], r[2]) for r in corr if r[0] == stat))
            ax.plot(x, tau, marker="o", ms=3, lw=1.2, color=f"C{i % 10}", label=stat)
        ax.axhline(0, color="#555", lw=0.6)
        ax.set(xlabel="epoch", ylabel="Kendall tau with the final gap", ylim=(-1.05, 1.05))
        ax.grid(alpha=0.3, lw=0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        sec.blocks.append(Figure(f"tau-{measure}", f"Kendall tau between each statistic of {measure} "
                                 f"at an epoch and the final generalization gap, over runs.", fig))
    skipped = con.execute(f'SELECT count(*), min(status) FROM "{TABLES["correlations"]}" '
                          f"WHERE measure = ? AND status <> 'ok'", [measure]).fetchall()[0]
    if skipped[0]:
        sec.blocks.append(Notice(f"{skipped[0]} correlations of {measure} were not computed "
                                 f"(e.g. {skipped[1]}); see the status column."))
    sec.blocks.append(sql_table(
        con, ctx, KIND, f"correlations-{measure}",
        f"Rank correlation of each statistic of {measure} at each epoch with the final gap.",
        f'SELECT statistic, epoch, n_runs, tau, p_tau, rho, p_rho, status\n'
        f'FROM "{TABLES["correlations"]}" WHERE measure = ? ORDER BY statistic, epoch',
        [Column("statistic"), Column("epoch", "int"), Column("runs", "int"),
         Column("Kendall tau", "num"), Column("p (tau)", "p"), Column("Spearman rho", "num"),
         Column("p (rho)", "p"), Column("status")], [measure]))
    return sec


def document(con: duckdb.DuckDBPyConnection, ctx: dict) -> Report:
    """Assemble the ``training_dynamics`` report from the stored tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    ctx : dict
        What :func:`reports.training_dynamics.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    report = Report(KIND, "Measures over training epochs and early prediction of the gap",
                    tables=list(ctx["tables"]))
    cfg = ctx["config"]
    data = Section("Data", [Paragraph(
        f"{ctx['n_runs']} runs (statuses: {', '.join(cfg.statuses)}) have a final generalization "
        f"gap (train minus test accuracy at their last epoch). Measure statistics are those of "
        f"layer '{cfg.layer}', at every stored checkpoint epoch up to that last epoch; among "
        f"stored versions the newest is used. Runs are grouped by "
        + (f"the sweep axis {ctx['axis']}." if ctx["axis"] else "nothing (one group, all runs)."))])
    report.sections.append(data)
    if ctx["n_runs"] == 0:
        data.blocks.append(Notice("No run has a generalization gap: there is nothing to show."))
        return report
    report.sections.append(_accuracy_section(con, ctx))
    measures = [r[0] for r in con.execute('SELECT DISTINCT measure FROM "training_dynamics_bands" '
                                          'ORDER BY measure').fetchall()]
    if not measures:
        data.blocks.append(Notice(f"No measure is stored on layer '{cfg.layer}' for these runs."))
    report.sections += [_measure_section(con, ctx, m) for m in measures]
    return report
