"""The ``layers`` document, built from the tables the report stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from reports.document import Column, Figure, Notice, Paragraph, Report, Section
from reports.document_parts import runs_report, sql_table
from reports.figures import new_figure, plot_bands
from reports.kinds.layers.compute import KIND, TABLES, LayersResult
from reports.kinds.layers.options import TITLE

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

#: Heading of the document.

_NAMES = {"ncc_accuracy_train": "NCC train accuracy", "ncc_accuracy_test": "NCC test accuracy",
          "cdnv": "CDNV"}


def _figure(con: duckdb.DuckDBPyConnection, statistic: str) -> MplFigure:
    rows = con.execute('SELECT depth, layer_index, q25, median, q75 FROM "layers_bands" '
                       'WHERE statistic = ?', [statistic]).fetchall()
    fig = new_figure((5, 3.4))
    ax = fig.add_subplot()
    plot_bands(ax, [(str(r[0]), *r[1:]) for r in rows], label_of=lambda d: f"depth {d}",
               log=statistic.startswith("cdnv"))
    ax.set(xlabel="layer index", ylabel=_NAMES.get(statistic, statistic))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return fig


def document(con: duckdb.DuckDBPyConnection, ctx: LayersResult) -> Report:
    """The ``layers`` report: per-layer bands by depth, trends over layers, effective depths.

    Sections: Data; when a run has per-layer rows, one per statistic of
    ``config.statistics`` (bands by depth), Trend over layers and Effective depth.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : LayersResult
        What :func:`reports.kinds.layers.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    cfg = ctx.config
    report, data = runs_report(
        KIND, TITLE, ctx,
        f"{ctx.n_runs} runs have per-layer statistics of {cfg.measure}, read at the last "
        f"epoch they were computed (no later than the run's last epoch). Layers are numbered from "
        f"1 in forward order, the output layer last; the depth of a run is its sweep axis "
        f"{cfg.depth_axis}, or its number of measured layers when it has none.",
        f"No run has per-layer rows of {cfg.measure} (statistics {', '.join(cfg.statistics)}): "
        f"there is nothing to show.")
    if ctx.n_runs == 0:
        return report
    depths = [r[0] for r in con.execute('SELECT DISTINCT depth FROM "layers_values" ORDER BY depth').fetchall()]
    if len(depths) < 2:
        data.blocks.append(Notice(f"All runs have depth {depths[0]}: the report shows one depth only."))
    present = {r[0] for r in con.execute('SELECT DISTINCT statistic FROM "layers_bands"').fetchall()}
    for statistic in cfg.statistics:
        name = _NAMES.get(statistic, statistic)
        sec = Section(name)
        report.sections.append(sec)
        if statistic not in present:
            sec.blocks.append(Notice(f"No run has the per-layer statistic {statistic}."))
            continue
        sec.blocks.append(Figure(f"{statistic}-by-layer", f"{name} at each layer (median over runs "
                                 f"and interquartile band), one line per network depth.",
                                 _figure(con, statistic)))
        sec.blocks.append(sql_table(
            con, ctx, KIND, f"{statistic}-bands", f"{name} per depth and layer index: median and "
            f"quartiles over runs.",
            'SELECT depth, layer_index, n_runs, q25, median, q75 FROM "layers_bands"\n'
            'WHERE statistic = ? ORDER BY depth, layer_index',
            [Column("depth", "int"), Column("layer", "int"), Column("runs", "int"),
             Column("25%", "num"), Column("median", "num"), Column("75%", "num")], [statistic]))
    trend = Section("Trend over layers", [Paragraph(
        "Spearman's rho between the layer index and each statistic over every (run, layer) "
        "value of a depth: rho near 1 for NCC accuracy and near -1 for CDNV is the "
        "intermediate neural collapse of Galanti et al. 2023.")])
    skipped = con.execute(f'SELECT count(*), min(status) FROM "{TABLES["trend"]}" '
                          f"WHERE status <> 'ok'").fetchall()[0]
    if skipped[0]:
        trend.blocks.append(Notice(f"{skipped[0]} trends were not computed (e.g. {skipped[1]})."))
    trend.blocks.append(sql_table(
        con, ctx, KIND, "trend", "Spearman's rho between layer index and value, per depth.",
        f'SELECT depth, statistic, n_runs, n_layers, n_points, rho, p, status\n'
        f'FROM "{TABLES["trend"]}" ORDER BY statistic, depth',
        [Column("depth", "int"), Column("statistic"), Column("runs", "int"), Column("layers", "int"),
         Column("values", "int"), Column("Spearman rho", "num"), Column("p", "p"), Column("status")]))
    report.sections.append(trend)
    report.sections.append(_effective_depth_section(con, ctx))
    return report


def _effective_depth_section(con: duckdb.DuckDBPyConnection, ctx: LayersResult) -> Section:
    eps = ctx.config.epsilon
    sec = Section("Effective depth", [Paragraph(
        f"The {eps}-effective depth of a network (Galanti et al. 2023) is its first layer whose NCC "
        f"train error (1 - NCC train accuracy) is at most {eps}: deeper networks that fit their "
        f"training data reach it at a layer well below their depth. Median and range over runs; runs "
        f"whose layers never reach it are counted apart.")])
    never = con.execute(f'SELECT count(*) FROM "{TABLES["effective_depth"]}" '
                        f'WHERE effective_depth IS NULL').fetchall()[0][0]
    if never:
        sec.blocks.append(Notice(f"{never} runs have no layer with NCC train error at most {eps}."))
    sec.blocks.append(sql_table(
        con, ctx, KIND, "effective-depth", f"The {eps}-effective depth of the runs of each depth.",
        f'SELECT depth, count(*) AS n_runs, count(effective_depth) AS n_reached,\n'
        f'       median(effective_depth), min(effective_depth), max(effective_depth)\n'
        f'FROM "{TABLES["effective_depth"]}" GROUP BY depth ORDER BY depth',
        [Column("depth", "int"), Column("runs", "int"), Column("runs reaching it", "int"),
         Column("median", "num"), Column("min", "int"), Column("max", "int")]))
    return sec
