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

Pairs and Betti curves are SQL models (``templates/sql/persistence_*.sql.j2``);
the run summaries and the representative runs are computed here and stored as
``report_persistence_summaries`` and ``report_persistence_representatives``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from reports.common import AUTO, make_build, materialise_grouped, report_tables, typed_frames, write_tables
from reports.sql import SqlProject

KIND = "persistence"
SUMMARY = "Persistence diagrams of representative runs, Betti curves and diagram summaries by sweep axis"

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


@dataclass(frozen=True)
class PersistenceConfig:
    """Options of the ``persistence`` report.

    Parameters
    ----------
    measure : str
        Measure whose diagrams are read.
    layer : str
        Layer of the diagrams.
    axis : str or None
        Key of the runs' ``axes`` to group by (``"auto"``: see
        :func:`reports.common.choose_axis`; ``None``: all runs together).
    n_grid : int
        Grid points of the Betti curves (at least 2).
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    """

    measure: str = "activation_persistence"
    layer: str = "all"
    axis: str | None = AUTO
    n_grid: int = 64
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")

    def __post_init__(self) -> None:
        if self.n_grid < 2:
            raise ValueError(f"The 'n_grid' option of {KIND} must be an int in the range [2, inf). "
                             f"Got {self.n_grid} instead.")

    def sql_params(self, axis: str | None = None) -> dict[str, Any]:
        """Values bound to the SQL models, with ``axis`` the chosen sweep axis."""
        return {"epoch": None, "experiment": self.experiment, "statuses": list(self.statuses),
                "measure": self.measure, "layer": self.layer, "axis": axis, "n_grid": self.n_grid}


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


def compute(con: duckdb.DuckDBPyConnection, config: PersistenceConfig | None = None,
            *, project: SqlProject | None = None) -> dict[str, Any]:
    """Materialise the SQL models, summarise the diagrams and store the results.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_persistence_*`` tables are replaced.
    config : PersistenceConfig, optional
    project : SqlProject, optional

    Returns
    -------
    dict
        ``config``, ``axis``, ``models``, ``params``, ``n_runs`` (runs with
        diagrams), ``tables`` (the names written).
    """
    cfg = config or PersistenceConfig()
    axis, params, models = materialise_grouped(con, cfg, MODELS, project)
    runs = con.sql('SELECT run_id, group_value, final_gap, epoch FROM "persistence_runs"').pl()
    pairs = con.sql('SELECT run_id, group_value, bootstrap, dim, birth, death FROM "persistence_pairs"').pl()
    draws = pairs.select("run_id", "group_value", "bootstrap").unique()
    rows = {"summaries": diagram_summaries(pairs, draws), "representatives": representatives(runs)}
    write_tables(con, TABLES, typed_frames(rows, SCHEMAS))
    return {"config": cfg, "axis": axis, "models": models, "params": params, "n_runs": len(runs),
            "tables": list(TABLES.values()) + [m.name for m in models]}


#: The options of this kind (a manifest's ``[[reports]]`` keys besides ``kind`` and ``formats``).
CONFIG = PersistenceConfig
build = make_build(KIND, compute, "reports.persistence_document")
