"""Document parts every report kind shares: SQL-backed tables with their lineage, the data section.

Every number a document shows is read back from the store with the SQL shown
beside it (:func:`sql_table`), followed by the SQL models it was built from and
their bound parameters (:func:`lineage_sql`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import duckdb

from reports.common import KindResult
from reports.document import Column, Notice, Paragraph, Report, Section, Table


class RunsResult(Protocol):
    """A kind's result that counts the runs it found (``n_runs``)."""

    tables: list[str]
    n_runs: int


def lineage_sql(models: Sequence, params: Mapping[str, Any]) -> str:
    """The SQL models behind a report table, with their bound parameter values.

    Parameters
    ----------
    models : sequence of reports.sql.Model
        The models executed, in execution order.
    params : mapping
        The values the models were bound to (each model shows the ones it uses).

    Returns
    -------
    str
        One ``-- <name>: parameters bound {...}`` comment and ``CREATE ... AS SELECT``
        statement per model, separated by blank lines.
    """
    parts = []
    for m in models:
        bound = json.dumps(m.bind(params), default=str, sort_keys=True)
        parts.append(f"-- {m.name}: parameters bound {bound}\n{m.statement()};")
    return "\n\n".join(parts)


def sql_table(con: duckdb.DuckDBPyConnection, ctx: KindResult, kind: str, key: str, caption: str,
              sql: str, columns: list[Column], params: list | None = None, *, computed: bool = False) -> Table:
    """A document table read from the store with ``sql``, showing that SQL and its lineage.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    ctx : reports.common.KindResult
        What the kind's ``compute`` returned (``models`` and ``params`` are read).
    kind, key, caption : str
        The report kind, the table's key in the document and its caption.
    sql : str
        One SELECT whose columns match ``columns``; ``?`` placeholders take ``params``.
    columns : list of Column
    params : list, optional
        Values of the ``?`` placeholders (shown in the SQL comment).
    computed : bool, default False
        The rows were computed in Python by ``reports.kinds.<kind>`` and stored (said in the SQL
        comment); otherwise they are read from the SQL models directly.

    Returns
    -------
    reports.document.Table
    """
    rows = con.execute(sql, params or []).fetchall()
    if computed:
        note = (f"-- {kind} computed these rows in Python (reports.kinds.{kind}) from the tables\n"
                f"-- built below and stored them; the document reads them with")
    else:
        note = f"-- {kind}: the document reads these rows with"
    if params:
        note += f"\n-- (parameters bound: {json.dumps(params)})"
    text = f"{note}:\n{sql.strip()};\n\n{lineage_sql(ctx.models, ctx.params)}"
    return Table(key, caption, columns, [tuple(r) for r in rows], text)


def group_label(axis: str | None) -> Callable[[Any], str]:
    """Legend label of a group of runs: ``"<axis> = <value>"``, or ``"all runs"`` when not grouped."""
    return (lambda g: f"{axis} = {g}") if axis else (lambda g: "all runs")


def grouping(axis: str | None) -> str:
    """The end of the sentence "Runs are grouped by ..." for the sweep axis ``axis`` (None: not grouped)."""
    return f"the sweep axis {axis}." if axis else "nothing (one group, all runs)."


def new_report(kind: str, title: str, ctx: KindResult) -> Report:
    """An empty report of ``kind`` listing the tables its ``compute`` wrote (``ctx.tables``)."""
    return Report(kind, title, tables=list(ctx.tables))


def runs_report(kind: str, title: str, ctx: RunsResult, data: str, empty: str) -> tuple[Report, Section]:
    """A report opening with its data section; a notice there when no run has data.

    Parameters
    ----------
    kind, title : str
    ctx : RunsResult
        What the kind's ``compute`` returned (``tables`` and ``n_runs`` are read).
    data : str
        The data section's paragraph.
    empty : str
        The notice added when ``ctx.n_runs`` is 0.

    Returns
    -------
    report : reports.document.Report
    data_section : reports.document.Section
        Its first section, for further notices.
    """
    report = new_report(kind, title, ctx)
    section = Section("Data", [Paragraph(data)])
    report.sections.append(section)
    if ctx.n_runs == 0:
        section.blocks.append(Notice(empty))
    return report, section
