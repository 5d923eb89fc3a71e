"""The compute skeleton every report kind shares.

A kind's ``compute`` binds its options to its SQL models (:func:`kind_project`:
its own and the shared ones) and materialises them (:func:`materialise`, or
:func:`materialise_grouped` when runs are grouped by a sweep axis), computes its
rows in Python, writes them back as typed tables (:func:`typed_frames`,
:func:`write_tables`) named by :func:`report_tables`, and returns a typed result,
a subclass of :class:`KindResult`, that its ``document`` reads.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import polars as pl

from reports.kinds._options import AUTO
from reports.sql import Model, SqlProject, quote_ident, shared_template_dir
from reports.stats import is_constant

#: ``axis`` option value that picks the sweep axis from the store (see :func:`choose_axis`).

#: The SQL model listing the runs' sweep axes (axis, n_values, n_runs) that :func:`choose_axis` reads.
AXES_MODEL = "training_dynamics_axes"


@dataclass(kw_only=True)
class KindResult:
    """What every kind's ``compute`` returns; each kind's result adds its own fields.

    Attributes
    ----------
    models : list of reports.sql.Model
        The SQL models executed, in execution order (the lineage of every table).
    params : dict
        The values bound to them.
    tables : list of str
        The store tables the kind wrote.
    """

    models: list[Model]
    params: dict[str, Any]
    tables: list[str]


def kind_project(folder: str | pathlib.Path) -> SqlProject:
    """The SQL models a kind sees: its own (``<folder>/*.sql.j2``) and the shared ones (``templates/sql``)."""
    return SqlProject([shared_template_dir(), pathlib.Path(folder)])


class KindConfig(Protocol):
    """Options of a report kind: what its SQL models are bound to."""

    def sql_params(self) -> dict[str, Any]:
        """Values bound to the kind's SQL models."""


def report_tables(kind: str, shorts: Iterable[str]) -> dict[str, str]:
    """Store names of a kind's tables, ``report_<kind>_<short>``, by short name."""
    return {short: f"report_{kind}_{short}" for short in shorts}


def materialise(con: duckdb.DuckDBPyConnection, cfg: KindConfig, names: Iterable[str],
                project: SqlProject) -> tuple[dict[str, Any], list[Model]]:
    """Bind ``cfg.sql_params()`` to the SQL models ``names`` and create their tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    cfg : KindConfig
        The kind's options.
    names : iterable of str
        SQL models to create (their dependencies are created first).
    project : SqlProject
        The kind's SQL models (:func:`kind_project`).

    Returns
    -------
    params : dict
        The values bound.
    models : list of reports.sql.Model
        The models executed, in execution order.
    """
    params = cfg.sql_params()
    return params, project.materialise(con, names, params)


def choose_axis(axes: pl.DataFrame, requested: str | None) -> str | None:
    """The sweep axis to group runs by.

    Parameters
    ----------
    axes : polars.DataFrame
        Rows of the :data:`AXES_MODEL` model (axis, n_values, n_runs).
    requested : str or None
        ``"auto"``, an axis name, or ``None`` (no grouping).

    Returns
    -------
    str or None
        ``requested`` unless it is ``"auto"``; then the axis with the fewest
        distinct values among those with at least 2 (ties: by name), or ``None``.
        The seed is a replicate, never chosen automatically.
    """
    if requested != AUTO:
        return requested
    varied = axes.filter((pl.col("n_values") >= 2) & (pl.col("axis") != "seed")).sort("n_values", "axis")
    return varied["axis"][0] if len(varied) else None


def materialise_grouped(con: duckdb.DuckDBPyConnection, cfg: Any, names: Iterable[str],
                        project: SqlProject) -> tuple[str | None, dict[str, Any], list[Model]]:
    """Choose the sweep axis that groups the runs, then create the SQL models ``names``.

    The :data:`AXES_MODEL` model is created with ``cfg.sql_params()``, the axis
    chosen from it by :func:`choose_axis` with ``cfg.axis``, and ``names`` created
    with ``cfg.sql_params(axis)``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    cfg : config with an ``axis`` option and ``sql_params(axis=None)``
    names : iterable of str
        SQL models to create after the axis is chosen.
    project : SqlProject
        The kind's SQL models (:func:`kind_project`); the shared ones hold :data:`AXES_MODEL`.

    Returns
    -------
    axis : str or None
        The chosen axis (None: all runs in one group).
    params : dict
        The values bound to ``names``.
    models : list of reports.sql.Model
        The models executed for ``names``, with the axes model second.
    """
    axes_models = project.materialise(con, [AXES_MODEL], cfg.sql_params())
    axis = choose_axis(con.sql(f'SELECT * FROM "{AXES_MODEL}"').pl(), cfg.axis)
    params = cfg.sql_params(axis)
    models = project.materialise(con, names, params)
    models.insert(1, axes_models[-1])
    return axis, params, models


def final_gaps(con: duckdb.DuckDBPyConnection, min_runs: int) -> tuple[pl.DataFrame, bool]:
    """The materialised ``final_gaps`` model and whether it can be analysed.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the ``final_gaps`` model created.
    min_runs : int
        Fewest runs an analysis needs.

    Returns
    -------
    gaps : polars.DataFrame
        run_id, epoch and gen_gap (train - test accuracy) of each run, by run_id.
    enough : bool
        True when there are ``min_runs`` runs or more and the gap is not constant.
    """
    gaps = con.sql('SELECT run_id, epoch, gen_gap FROM "final_gaps" ORDER BY run_id').pl()
    y = gaps["gen_gap"].to_numpy()
    return gaps, len(y) >= min_runs and not is_constant(y)


def typed_frames(rows: Mapping[str, list[dict]], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, pl.DataFrame]:
    """One polars.DataFrame per table of ``schemas``, typed by it (kept even when it has no rows).

    Parameters
    ----------
    rows : mapping of str to list of dict
        Rows of each table, by short name; a row may leave columns out (null).
    schemas : mapping of str to mapping of str to polars type
        Column types of each table, by short name.

    Returns
    -------
    dict of str to polars.DataFrame
        In the order of ``schemas``.
    """
    return {short: pl.from_dicts(rows[short], schema=schema) for short, schema in schemas.items()}


def write_tables(con: duckdb.DuckDBPyConnection, tables: Mapping[str, str],
                 frames: Mapping[str, pl.DataFrame]) -> None:
    """Write each frame to the store table ``tables[short]`` (replaced).

    Raises
    ------
    KeyError
        A frame's short name is not one of ``tables``.
    """
    for short, frame in frames.items():
        write_table(con, tables[short], frame)


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    """Write a polars or pandas data frame or Arrow table to table ``name`` (replaced).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection to the store (writable).
    name : str
        Table name, e.g. ``"report_gap_regression_r2"``.
    frame : polars.DataFrame or pyarrow.Table
        Rows to store; its schema is kept even when it has no rows.
    """
    data = frame.to_arrow() if hasattr(frame, "to_arrow") else frame
    view = "__genlab_write_" + name
    con.register(view, data)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS "
                    f"SELECT * FROM {quote_ident(view)}")
    finally:
        con.unregister(view)
