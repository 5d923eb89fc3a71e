"""The ``persistence`` document, built from the tables the report stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import numpy as np

from reports.document import Column, Figure, Notice, Paragraph, Report, Section
from reports.document_parts import group_label, grouping, runs_report, sql_table
from reports.figures import new_figure, plot_bands
from reports.formatting import sig
from reports.kinds.persistence.compute import KIND, TABLES, PersistenceResult
from reports.kinds.persistence.options import TITLE

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

#: Heading of the document.


def _diagram_figure(con: duckdb.DuckDBPyConnection, reps: list[tuple]) -> MplFigure:
    """One panel per representative run: its first bootstrap draw, every dimension."""
    fig = new_figure((3.2 * len(reps), 3.2))
    for i, (role, run_id, gap) in enumerate(reps):
        ax = fig.add_subplot(1, len(reps), i + 1)
        pts = con.execute('SELECT dim, birth, death FROM "persistence_pairs" WHERE run_id = ? AND '
                          'bootstrap = (SELECT min(bootstrap) FROM "persistence_pairs" WHERE run_id = ?)',
                          [run_id, run_id]).fetchall()
        finite = [v for p in pts for v in p[1:] if np.isfinite(v)]
        top = 1.1 * max(finite) if finite and max(finite) > 0 else 1.0
        for dim in sorted({p[0] for p in pts}):
            b, d = (np.array(v, dtype=float) for v in zip(*[p[1:] for p in pts if p[0] == dim]))
            inf = ~np.isfinite(d)
            ax.scatter(b[~inf], d[~inf], s=10, alpha=0.7, color=f"C{dim}", label=f"H{dim}", edgecolors="none")
            ax.scatter(b[inf], np.full(inf.sum(), top), s=22, marker="^", color=f"C{dim}", edgecolors="none")
        ax.plot([0, top], [0, top], color="#555", lw=0.6)
        ax.axhline(top, color="#999", lw=0.5, ls="--")
        ax.set(xlabel="birth", ylabel="death", xlim=(-0.03 * top, top * 1.02), ylim=(-0.03 * top, top * 1.05))
        ax.set_title(f"{role}: {run_id}\ngap {sig(gap)}", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
    return fig


def _betti_figure(con: duckdb.DuckDBPyConnection, axis: str | None) -> MplFigure:
    dims = [r[0] for r in con.execute('SELECT DISTINCT dim FROM "persistence_betti_bands" ORDER BY dim').fetchall()]
    fig = new_figure((3.6 * len(dims), 3.2))
    for i, dim in enumerate(dims):
        ax = fig.add_subplot(1, len(dims), i + 1)
        rows = con.execute('SELECT group_value, t, q25, median, q75 FROM "persistence_betti_bands" '
                           'WHERE dim = ?', [dim]).fetchall()
        plot_bands(ax, rows, label_of=group_label(axis))
        ax.set(xlabel="filtration value t", ylabel=f"Betti number (H{dim})")
        ax.legend(fontsize=7)
    return fig


def document(con: duckdb.DuckDBPyConnection, ctx: PersistenceResult) -> Report:
    """The ``persistence`` report: diagrams of representative runs, Betti curves, diagram summaries.

    Sections: Data; when a run has diagrams, Persistence diagrams, Betti curves
    and Diagram summaries.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : PersistenceResult
        What :func:`reports.kinds.persistence.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    cfg = ctx.config
    report, _ = runs_report(
        KIND, TITLE, ctx,
        f"{ctx.n_runs} runs have persistence diagrams of {cfg.measure} on layer '{cfg.layer}', read "
        f"at the last epoch they were computed (no later than the run's last epoch). Runs are grouped by "
        f"{grouping(ctx.axis)}",
        f"No run has persistence diagrams of {cfg.measure} on layer '{cfg.layer}': there is nothing to show.")
    if ctx.n_runs == 0:
        return report
    reps = con.execute(f'SELECT role, run_id, final_gap FROM "{TABLES["representatives"]}" '
                       f'ORDER BY position').fetchall()
    report.sections.append(Section("Persistence diagrams", [
        Paragraph("The diagrams (first bootstrap draw) of the runs with the smallest, median and "
                  "largest final generalization gap. Triangles on the dashed line: essential classes "
                  "(infinite death)."),
        Figure("diagrams", "Persistence diagrams of representative runs.", _diagram_figure(con, reps)),
        sql_table(con, ctx, KIND, "representatives", "Representative runs.",
                  f'SELECT role, run_id, group_value, final_gap, epoch\n'
                  f'FROM "{TABLES["representatives"]}" ORDER BY position',
                  [Column("role"), Column("run"), Column("group"), Column("final gap", "num"),
                   Column("epoch", "int")])]))
    if ctx.n_runs < 2:
        report.sections[-1].blocks.append(Notice("Only one run has diagrams: the bands below are that run."))
    report.sections.append(Section("Betti curves", [
        Paragraph(f"Betti curve of a diagram: the number of pairs with birth <= t < death, on "
                  f"{cfg.n_grid} evenly spaced values of t from 0 to the largest finite death of "
                  f"the dimension; mean over a run's bootstrap draws; median and interquartile band "
                  f"over runs."),
        Figure("betti", "Betti curves per homology dimension (median and interquartile band over runs).",
               _betti_figure(con, ctx.axis))]))
    report.sections.append(Section("Diagram summaries", [
        Paragraph("Per run and dimension, averaged over bootstrap draws: finite pairs, essential classes, "
                  "total persistence (sum of death - birth over finite pairs) and the largest finite "
                  "persistence; the table gives their medians over the runs of each group."),
        sql_table(con, ctx, KIND, "summaries", "Medians over runs of the diagram summaries.",
                  f'SELECT group_value, dim, count(*) AS n_runs, median(n_pairs), median(n_essential),\n'
                  f'       median(total_persistence), median(max_persistence)\n'
                  f'FROM "{TABLES["summaries"]}" GROUP BY group_value, dim ORDER BY dim, group_value',
                  [Column("group"), Column("dim", "int"), Column("runs", "int"), Column("pairs", "num"),
                   Column("essential", "num"), Column("total persistence", "num"),
                   Column("max persistence", "num")])]))
    return report
