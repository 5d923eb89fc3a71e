"""Report ``training_dynamics``: measures over checkpoint epochs, and how early they predict the gap.

Jaegerman et al. 2021 (*Probeable DARTS*: measures computed during training
rank the final generalization of networks early) and Corneanu et al. 2020
(*Computing the testing error without a testing set*: topological summaries
over epochs track the gap): for every measure statistic, its value at each
checkpoint epoch (median and interquartile band over runs, one line per value
of a sweep axis), and at each epoch its rank correlation over runs with the
*final* generalization gap (train - test accuracy at each run's last epoch):
Kendall's tau-b (Jiang et al. 2020) and Spearman's rho, with tau-b's p-value
adjusted over every (measure, statistic, epoch) of the report (Holm;
Benjamini-Hochberg, :mod:`reports.stats.multitest`). The document shows, per
measure, the ``top`` statistics by |tau-b| at their last epoch. Train and test
accuracy over epochs come from the ``metrics`` table.

The bands and accuracy curves are SQL models (``training_dynamics_*.sql.j2``
in this folder); the correlations and the top statistics are computed here and
stored as ``report_training_dynamics_correlations`` and ``report_training_dynamics_top``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog
from reports.common import (
    AXES_MODEL,
    KindResult,
    kind_project,
    materialise_grouped,
    report_tables,
    typed_frames,
    write_tables,
)
from reports.kinds.training_dynamics.options import KIND, TrainingDynamicsConfig
from reports.sql import SqlProject
from reports.stats import is_constant
from reports.stats.kendall import kendall_tau_b
from reports.stats.multitest import adjust_pvalues

if TYPE_CHECKING:
    pass

#: SQL models the report materialises, in the order the document cites them.
MODELS = (AXES_MODEL, "training_dynamics_runs", "training_dynamics_values",
          "training_dynamics_bands", "training_dynamics_accuracy")

#: Column types of the correlation table (kept even when it has no rows).
CORRELATION_SCHEMA = {"measure": pl.Utf8, "statistic": pl.Utf8, "epoch": pl.Int64, "n_runs": pl.Int64,
                      "tau_b": pl.Float64, "p_tau": pl.Float64, "p_holm": pl.Float64, "p_bh": pl.Float64,
                      "rho": pl.Float64, "p_rho": pl.Float64, "status": pl.Utf8}

#: Column types of every report table, by short name.
SCHEMAS = {"correlations": CORRELATION_SCHEMA,
           "top": {"measure": pl.Utf8, "position": pl.Int64, "statistic": pl.Utf8, "epoch": pl.Int64,
                   "tau_b": pl.Float64}}

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, SCHEMAS)


def rank_correlations(values: pl.DataFrame, min_runs: int) -> list[dict]:
    """Kendall tau-b and Spearman rho of each statistic at each epoch with the final gap, p-values adjusted.

    Parameters
    ----------
    values : polars.DataFrame
        Rows of ``training_dynamics_values`` (run_id, measure, statistic, epoch,
        value, final_gap), one per run and key.
    min_runs : int
        Fewer runs with a finite value and gap than this: status ``too few runs``.

    Returns
    -------
    list of dict
        One row per (measure, statistic, epoch), see :data:`CORRELATION_SCHEMA`;
        tau_b and rho are left empty when the values or the gaps are constant;
        p_holm and p_bh adjust p_tau over every row that has one.
    """
    import scipy.stats as sps

    rows = []
    keys = values.select("measure", "statistic", "epoch").unique().sort("measure", "statistic", "epoch")
    for measure, statistic, epoch in keys.iter_rows():
        part = values.filter((pl.col("measure") == measure) & (pl.col("statistic") == statistic)
                             & (pl.col("epoch") == epoch)).sort("run_id")
        x, y = part["value"].to_numpy().astype(float), part["final_gap"].to_numpy().astype(float)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        row = {"measure": measure, "statistic": statistic, "epoch": epoch, "n_runs": int(x.size), "status": "ok"}
        if x.size < min_runs:
            row["status"] = f"too few runs (n={x.size} < {min_runs})"
        elif is_constant(x) or is_constant(y):
            row["status"] = "constant " + ("value" if is_constant(x) else "gap")
        else:
            row["tau_b"], row["p_tau"] = kendall_tau_b(x, y)
            res = sps.spearmanr(x, y)
            row["rho"], row["p_rho"] = float(res.statistic), float(res.pvalue)
        rows.append(row)
    adjusted = adjust_pvalues([row.get("p_tau", np.nan) for row in rows])
    for row, holm, bh in zip(rows, adjusted.holm, adjusted.bh):
        if not np.isnan(holm):
            row["p_holm"], row["p_bh"] = float(holm), float(bh)
    return rows


def top_statistics(correlations: list[dict], top: int | None) -> list[dict]:
    """Per measure, the ``top`` statistics by |tau-b| with the final gap at their last epoch with one.

    Parameters
    ----------
    correlations : list of dict
        Rows of :func:`rank_correlations`.
    top : int or None
        Statistics kept per measure (``None``: all).

    Returns
    -------
    list of dict
        measure, position (0 = largest |tau-b|; ties by name), statistic, epoch, tau_b.
    """
    last: dict[tuple[str, str], dict] = {}
    for row in correlations:
        if row.get("tau_b") is not None and not np.isnan(row["tau_b"]):
            key = (row["measure"], row["statistic"])
            if key not in last or row["epoch"] > last[key]["epoch"]:
                last[key] = row
    out = []
    for measure in sorted({m for m, _ in last}):
        ranked = sorted((r for (m, _), r in last.items() if m == measure),
                        key=lambda r: (-abs(r["tau_b"]), r["statistic"]))[:top]
        out += [{"measure": measure, "position": i, "statistic": r["statistic"], "epoch": r["epoch"],
                 "tau_b": r["tau_b"]} for i, r in enumerate(ranked)]
    return out


@dataclass(kw_only=True)
class TrainingDynamicsResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : TrainingDynamicsConfig
    axis : str or None
        The sweep axis grouping the runs (None: one group).
    n_runs : int
        Runs with a final gap.
    """

    config: TrainingDynamicsConfig
    axis: str | None
    n_runs: int


def compute(con: duckdb.DuckDBPyConnection, config: TrainingDynamicsConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> TrainingDynamicsResult:
    """Materialise the SQL models, compute the correlations and store them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_training_dynamics_*`` tables are replaced.
    config : TrainingDynamicsConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    TrainingDynamicsResult
        Its ``tables`` are the correlation and top tables and the SQL models' tables.
    """
    cfg = config or TrainingDynamicsConfig()
    project = project or kind_project(pathlib.Path(__file__).parent)
    axis, params, models = materialise_grouped(con, cfg, MODELS[1:], project)
    values = con.sql('SELECT run_id, measure, statistic, epoch, value, final_gap '
                     'FROM "training_dynamics_values"').pl()
    correlations = rank_correlations(values, cfg.min_runs)
    write_tables(con, TABLES, typed_frames(
        {"correlations": correlations, "top": top_statistics(correlations, cfg.top)}, SCHEMAS))
    n_runs = con.sql('SELECT count(*) FROM "training_dynamics_runs"').fetchall()[0][0]
    return TrainingDynamicsResult(config=cfg, axis=axis, models=models, params=params, n_runs=n_runs,
                                  tables=list(TABLES.values()) + [m.name for m in models])
