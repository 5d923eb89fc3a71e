"""Report ``persistence``: persistence diagrams, Betti curves and diagram summaries by sweep axis.

The diagrams are those the persistence measures store (``diagrams`` table:
one (birth, death) pair per row, per bootstrap draw and homology dimension;
Ballester et al. 2023, Corneanu et al. 2020). The report shows the diagrams of
a few representative runs (smallest, median and largest final generalization
gap), the Betti curves (number of pairs with birth <= t < death over a grid
of t; Umeda 2017, Chazal & Michel 2021), and per run and dimension the number
of finite pairs, of essential classes, the total persistence (sum of
death - birth over finite pairs; Cohen-Steiner et al. 2010 with p = 1) and the
largest finite persistence, each averaged over bootstrap draws, by sweep axis.

Pairs and Betti curves are SQL models (``persistence_*.sql.j2`` in this folder);
the run summaries and the representative runs are computed here and stored as
``report_persistence_summaries`` and ``report_persistence_representatives``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog
from reports.common import KindResult, kind_project, materialise_grouped, report_tables, typed_frames, write_tables
from reports.kinds.persistence.options import KIND, PersistenceConfig
from reports.sql import SqlProject

#: SQL models the report materialises (after :data:`reports.common.AXES_MODEL`, which picks the axis).
MODELS = ("persistence_runs", "persistence_pairs", "persistence_betti", "persistence_betti_bands")

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, ("summaries", "representatives"))

SCHEMAS = {
    "summaries": {"run_id": pl.Utf8, "group_value": pl.Utf8, "dim": pl.Int64, "n_bootstraps": pl.Int64,
                  "n_pairs": pl.Float64, "n_essential": pl.Float64, "total_persistence": pl.Float64,
                  "max_persistence": pl.Float64},
    "representatives": {"position": pl.Int64, "role": pl.Utf8, "run_id": pl.Utf8, "group_value": pl.Utf8,
                        "final_gap": pl.Float64, "epoch": pl.Int64},
}


def diagram_summaries(pairs: pl.DataFrame, draws: pl.DataFrame) -> list[dict]:
    """Per run and dimension: pair counts and persistence, averaged over bootstrap draws.

    Parameters
    ----------
    pairs : polars.DataFrame
        Rows of ``persistence_pairs`` (run_id, group_value, bootstrap, dim, birth, death).
    draws : polars.DataFrame
        Every (run_id, group_value, bootstrap) with a diagram; a draw with no pair
        of a dimension counts as an empty diagram of that dimension.

    Returns
    -------
    list of dict
        One row per run and dimension (see :data:`SCHEMAS` ``["summaries"]``):
        ``n_pairs`` finite pairs, ``n_essential`` pairs with infinite death,
        ``total_persistence`` sum of death - birth over finite pairs and
        ``max_persistence`` their largest (0 for an empty diagram), each the mean
        over the run's draws.
    """
    rows = []
    dims = sorted(pairs["dim"].unique().to_list())
    for run_id, group_value in draws.select("run_id", "group_value").unique().sort("run_id").iter_rows():
        boots = draws.filter(pl.col("run_id") == run_id)["bootstrap"].to_list()
        mine = pairs.filter(pl.col("run_id") == run_id)
        for dim in dims:
            per_draw = []
            for b in boots:
                d = mine.filter((pl.col("dim") == dim) & (pl.col("bootstrap") == b))
                life = (d["death"] - d["birth"]).to_numpy().astype(float)
                finite = life[np.isfinite(life)]
                per_draw.append((finite.size, np.isinf(life).sum(), finite.sum(),
                                 finite.max() if finite.size else 0.0))
            n, ess, tot, mx = np.mean(np.array(per_draw, dtype=float), axis=0)
            rows.append({"run_id": run_id, "group_value": group_value, "dim": dim, "n_bootstraps": len(boots),
                         "n_pairs": n, "n_essential": ess, "total_persistence": tot, "max_persistence": mx})
    return rows


def representatives(runs: pl.DataFrame) -> list[dict]:
    """The runs with the smallest, median and largest final gap (ties: by run_id).

    Parameters
    ----------
    runs : polars.DataFrame
        Rows of ``persistence_runs`` (run_id, group_value, final_gap, epoch).

    Returns
    -------
    list of dict
        Up to three distinct runs; the median is the lower median, index
        ``(n - 1) // 2`` of the runs sorted by gap.
    """
    ordered = runs.sort("final_gap", "run_id")
    n = len(ordered)
    picks = [("smallest gap", 0), ("median gap", (n - 1) // 2), ("largest gap", n - 1)] if n else []
    rows, seen = [], set()
    for role, i in picks:
        r = ordered.row(i, named=True)
        if r["run_id"] not in seen:
            seen.add(r["run_id"])
            rows.append({"position": len(rows), "role": role, "run_id": r["run_id"],
                         "group_value": r["group_value"], "final_gap": r["final_gap"], "epoch": r["epoch"]})
    return rows


@dataclass(kw_only=True)
class PersistenceResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : PersistenceConfig
    axis : str or None
        The sweep axis grouping the runs (None: one group).
    n_runs : int
        Runs with diagrams.
    """

    config: PersistenceConfig
    axis: str | None
    n_runs: int


def compute(con: duckdb.DuckDBPyConnection, config: PersistenceConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> PersistenceResult:
    """Materialise the SQL models, summarise the diagrams and store the results.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_persistence_*`` tables are replaced.
    config : PersistenceConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    PersistenceResult
        Its ``tables`` are the kind's tables and the SQL models' tables.
    """
    cfg = config or PersistenceConfig()
    project = project or kind_project(pathlib.Path(__file__).parent)
    axis, params, models = materialise_grouped(con, cfg, MODELS, project)
    runs = con.sql('SELECT run_id, group_value, final_gap, epoch FROM "persistence_runs"').pl()
    pairs = con.sql('SELECT run_id, group_value, bootstrap, dim, birth, death FROM "persistence_pairs"').pl()
    draws = pairs.select("run_id", "group_value", "bootstrap").unique()
    rows = {"summaries": diagram_summaries(pairs, draws), "representatives": representatives(runs)}
    write_tables(con, TABLES, typed_frames(rows, SCHEMAS))
    return PersistenceResult(config=cfg, axis=axis, models=models, params=params, n_runs=len(runs),
                             tables=list(TABLES.values()) + [m.name for m in models])
