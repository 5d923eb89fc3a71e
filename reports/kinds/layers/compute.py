"""Report ``layers``: neural collapse layer by layer, for networks of growing depth.

Galanti et al. 2023 (*Comparative generalization bounds for deep neural
networks*, TMLR; their figures of intermediate neural collapse): the NCC
accuracy and the CDNV of every layer, for networks of each depth, one line per
depth with the layer index on the x axis. NCC train accuracy rising towards 1
and CDNV falling towards 0 with the layer index is the intermediate neural
collapse the paper reports. The per-layer values are the ``neural_collapse``
measure's statistics ``cdnv``, ``ncc_accuracy_train`` and ``ncc_accuracy_test``.

The per-layer values and their bands are SQL models (``layers_*.sql.j2`` in
this folder). Computed here and stored: the trend over layers (Spearman's
rho between layer index and value, over every run and layer of a depth) as
``report_layers_trend``, and each run's epsilon-effective depth (Galanti et al.
2023: the first layer whose NCC train error is at most epsilon) as
``report_layers_effective_depth``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog
from functional.collapse import effective_depth
from reports.common import KindResult, kind_project, materialise, report_tables, typed_frames, write_tables
from reports.kinds.layers.options import KIND, LayersConfig
from reports.sql import SqlProject
from reports.stats import is_constant

if TYPE_CHECKING:
    pass

#: SQL models the report materialises.
MODELS = ("layers_values", "layers_bands")

#: Column types of the trend table (kept even when it has no rows).
TREND_SCHEMA = {"depth": pl.Int64, "statistic": pl.Utf8, "n_runs": pl.Int64, "n_layers": pl.Int64,
                "n_points": pl.Int64, "rho": pl.Float64, "p": pl.Float64, "status": pl.Utf8}


#: Column types of the effective-depth table.
EFFECTIVE_DEPTH_SCHEMA = {"run_id": pl.Utf8, "depth": pl.Int64, "n_layers": pl.Int64, "epsilon": pl.Float64,
                          "effective_depth": pl.Int64}

#: Column types of every report table, by short name.
SCHEMAS = {"trend": TREND_SCHEMA, "effective_depth": EFFECTIVE_DEPTH_SCHEMA}

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, SCHEMAS)


def layer_trends(values: pl.DataFrame, min_points: int) -> list[dict]:
    """Spearman's rho between layer index and value, per depth and statistic.

    Parameters
    ----------
    values : polars.DataFrame
        Rows of ``layers_values`` (run_id, depth, layer, layer_index, statistic, value).
    min_points : int
        Fewer finite (run, layer) values than this: status ``too few values``.

    Returns
    -------
    list of dict
        One row per (depth, statistic), see :data:`TREND_SCHEMA`; rho > 0 means
        the statistic grows with depth into the network.
    """
    import scipy.stats as sps

    rows = []
    keys = values.select("depth", "statistic").unique().sort("depth", "statistic")
    for depth, statistic in keys.iter_rows():
        part = values.filter((pl.col("depth") == depth) & (pl.col("statistic") == statistic))
        x = part["layer_index"].to_numpy().astype(float)
        y = part["value"].to_numpy().astype(float)
        keep = np.isfinite(y)
        row = {"depth": depth, "statistic": statistic, "n_runs": part["run_id"].n_unique(),
               "n_layers": int(np.unique(x).size), "n_points": int(keep.sum()), "status": "ok"}
        if keep.sum() < min_points:
            row["status"] = f"too few values (n={int(keep.sum())} < {min_points})"
        elif is_constant(x[keep]) or is_constant(y[keep]):
            row["status"] = "one layer only" if is_constant(x[keep]) else "constant value"
        else:
            res = sps.spearmanr(x[keep], y[keep])
            row["rho"], row["p"] = float(res.statistic), float(res.pvalue)
        rows.append(row)
    return rows


def effective_depths(values: pl.DataFrame, epsilon: float) -> list[dict]:
    """Each run's epsilon-effective depth (Galanti et al. 2023).

    The smallest layer index whose NCC train error, 1 - ``ncc_accuracy_train``,
    is at most ``epsilon``; empty when no layer of the run reaches it. The
    ``output`` layer is the classifier, not one of the network's layers, so
    never a candidate (as the ``effective_depth`` of :mod:`measures.neural_collapse`).

    Parameters
    ----------
    values : polars.DataFrame
        Rows of ``layers_values`` (run_id, depth, layer, layer_index, statistic, value).
    epsilon : float
        Error threshold in [0, 1).

    Returns
    -------
    list of dict
        One row per run with NCC train accuracies (see ``EFFECTIVE_DEPTH_SCHEMA``).
    """
    ncc = values.filter(pl.col("statistic") == "ncc_accuracy_train").sort("run_id", "layer_index")
    rows = []
    for (run_id, depth), part in ncc.group_by("run_id", "depth", maintain_order=True):
        hidden = part.filter(pl.col("layer") != "output")
        d = effective_depth((1.0 - hidden["value"]).to_list(), 1, epsilon)  # the measure's definition, on rates
        rows.append({"run_id": run_id, "depth": depth, "n_layers": len(part), "epsilon": epsilon,
                     "effective_depth": None if d is None else int(hidden["layer_index"][d - 1])})
    return rows


@dataclass(kw_only=True)
class LayersResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : LayersConfig
    n_runs : int
        Runs with per-layer values.
    """

    config: LayersConfig
    n_runs: int


def compute(con: duckdb.DuckDBPyConnection, config: LayersConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> LayersResult:
    """Materialise the SQL models, compute the trends over layers and store them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_layers_*`` tables are replaced.
    config : LayersConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    LayersResult
        Its ``tables`` are the kind's tables and the SQL models' tables.
    """
    cfg = config or LayersConfig()
    project = project or kind_project(pathlib.Path(__file__).parent)
    params, models = materialise(con, cfg, MODELS, project)
    values = con.sql('SELECT run_id, depth, layer, layer_index, statistic, value FROM "layers_values"').pl()
    rows = {"trend": layer_trends(values, cfg.min_points), "effective_depth": effective_depths(values, cfg.epsilon)}
    write_tables(con, TABLES, typed_frames(rows, SCHEMAS))
    return LayersResult(config=cfg, models=models, params=params, n_runs=values["run_id"].n_unique(),
                        tables=list(TABLES.values()) + [m.name for m in models])
