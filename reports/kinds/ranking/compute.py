"""Report ``ranking``: measures ranked by how well they order networks by their gap.

One row per measure statistic (its value at the last epoch it was computed,
no later than the gap's, one value per run; the ``run_features`` SQL model of
``templates/sql``, shared with ``gap_regression``):

- Kendall's tau-a with the generalization gap (Jiang et al. 2020, *Fantastic
  generalization measures*, Eq. (3)), its percentile bootstrap interval
  (:func:`reports.stats.bootstrap.bootstrap_kendall`), scipy's tau-b and p-value,
  and that p-value adjusted over every ranked statistic (Holm; Benjamini-Hochberg);
- the granulated coefficients psi_i per sweep axis and their mean Psi (Eq. (4)-(5));
- the PGDL conditional mutual information score (arXiv 2012.07976, Section 4);
- the robust sign-error of Dziugaite et al. 2020 (:mod:`reports.stats.robust`),

sorted by |tau-a|; the statistic's declared sign and its oriented tau-a (see
:func:`declared_sign`); and, for persistence statistics, Ballester et al. 2023's
K-means clusters of the points (statistic, gap). The sweep axes are the keys
of ``runs.axes`` (SQL model ``ranking_run_axes``). This module computes and
stores; :mod:`reports.kinds.ranking.document` turns the stored tables into the document.
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog, find_statistic
from reports.common import KindResult, final_gaps, kind_project, materialise, report_tables, typed_frames, write_tables
from reports.kinds.ranking.options import KIND, RankingConfig
from reports.sql import SqlProject
from reports.stats import is_constant
from reports.stats.bootstrap import bootstrap_kendall
from reports.stats.clusters import kmeans_summaries_gap
from reports.stats.cmi import cmi_score
from reports.stats.kendall import granulated_kendall, kendall_tau
from reports.stats.multitest import adjust_pvalues
from reports.stats.robust import robust_sign_error

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, ("measures", "psi", "cmi", "axes", "clusters"))

#: SQL models the report materialises (and their dependencies).
MODELS = ("final_gaps", "run_features", "ranking_run_axes", "ranking_axes")

#: Column types of every report table (kept even when a table has no rows).
SCHEMAS = {
    "measures": {"position": pl.Int64, "measure": pl.Utf8, "statistic": pl.Utf8,
                 "n_runs": pl.Int64, "tau_a": pl.Float64, "tau_a_low": pl.Float64,
                 "tau_a_high": pl.Float64, "tau_b": pl.Float64, "p": pl.Float64,
                 "p_holm": pl.Float64, "p_bh": pl.Float64,
                 "psi_mean": pl.Float64, "n_axes": pl.Int64, "cmi": pl.Float64,
                 "cmi_conditioning": pl.Utf8, "sign_error": pl.Float64, "sign_error_mean": pl.Float64,
                 "n_environments": pl.Int64, "worst_environment": pl.Utf8,
                 "sign": pl.Int64, "oriented_tau_a": pl.Float64, "status": pl.Utf8},
    "psi": {"measure": pl.Utf8, "statistic": pl.Utf8, "axis": pl.Utf8, "psi": pl.Float64,
            "n_cells": pl.Int64, "n_pairs": pl.Int64},
    "cmi": {"measure": pl.Utf8, "statistic": pl.Utf8, "conditioning": pl.Utf8,
            "score": pl.Float64},
    "axes": {"position": pl.Int64, "axis": pl.Utf8, "n_runs": pl.Int64, "n_values": pl.Int64,
             "value_list": pl.Utf8, "used": pl.Boolean},
    "clusters": {"measure": pl.Utf8, "statistic": pl.Utf8, "cluster": pl.Int64,
                 "n_runs": pl.Int64, "mean_value": pl.Float64, "mean_gap": pl.Float64},
}


def declared_sign(catalog: Catalog | None, measure: str, statistic: str, layer: str) -> int | None:
    """The direction in which a statistic's measure declares it goes with the gap.

    Parameters
    ----------
    catalog : core.catalog.Catalog or None
        The measures' declared statistics.
    measure, statistic, layer : str
        The stored rows' names.

    Returns
    -------
    int or None
        ``+1`` when larger values are declared to go with a larger
        generalization gap (``higher_is_better`` False: a complexity measure),
        ``-1`` when with a smaller gap (``higher_is_better`` True), ``None``
        when the statistic is undeclared or has no sign. The oriented tau-a,
        ``sign * tau_a``, is positive whenever a statistic orders the networks'
        gaps the way its measure says, whichever its direction.
    """
    declared = find_statistic(catalog, measure, statistic, layer) if catalog else None
    if declared is None or declared.higher_is_better is None:
        return None
    return -1 if declared.higher_is_better else 1


def _nan_last_abs(row: dict) -> tuple:
    tau = row.get("tau_a")
    missing = tau is None or math.isnan(tau)
    return (missing, 0.0 if missing else -abs(tau), row["measure"], row["statistic"])


def rank_statistics(features: pl.DataFrame, run_axes: dict[str, dict[str, Any]],
                    axes: list[str], cfg: RankingConfig, catalog: Catalog | None = None) -> dict[str, list[dict]]:
    """Rows of the ``measures``, ``psi``, ``cmi`` and ``clusters`` tables.

    Parameters
    ----------
    features : polars.DataFrame
        Rows of ``run_features`` (run_id, measure, statistic, value, gen_gap).
    run_axes : dict
        run_id -> {axis: value}; a run without an axis gets ``None`` for it.
    axes : list of str
        The varied sweep axes used for psi and CMI (may be empty).
    cfg : RankingConfig
    catalog : core.catalog.Catalog, optional
        The measures' declared statistics: each row's ``sign`` and ``oriented_tau_a``
        (:func:`declared_sign`); empty without it.

    Returns
    -------
    dict of str to list of dict
        ``measures`` sorted by |tau_a| (NaN last), with ``position`` 0, 1, ...; ``p_holm`` and
        ``p_bh`` adjust ``p`` over every statistic that has one.
    """
    out: dict[str, list[dict]] = {"measures": [], "psi": [], "cmi": [], "clusters": []}
    for (measure, statistic), part in features.sort("run_id").group_by(
            ["measure", "statistic"], maintain_order=True):
        x, y = part["value"].to_numpy().astype(float), part["gen_gap"].to_numpy().astype(float)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y, runs = x[keep], y[keep], part["run_id"].to_numpy()[keep]
        sign = declared_sign(catalog, measure, statistic, cfg.layer)
        row = {"measure": measure, "statistic": statistic, "n_runs": int(x.size), "sign": sign, "status": "ok"}
        out["measures"].append(row)
        if x.size < cfg.min_runs:
            row["status"] = f"too few runs (n={x.size} < {cfg.min_runs})"
            continue
        if is_constant(y):
            row["status"] = "constant gap"
            continue
        k = kendall_tau(x, y)
        row.update(tau_a=k.tau, tau_b=k.tau_b, p=k.p, oriented_tau_a=None if sign is None else sign * k.tau)
        if is_constant(x):
            row["status"] = "constant statistic"
        else:
            if cfg.n_bootstrap:
                row["tau_a_low"], row["tau_a_high"] = bootstrap_kendall(
                    x, y, n_boot=cfg.n_bootstrap, level=cfg.ci_level, random_state=cfg.bootstrap_seed)
            if measure in cfg.cluster_measures:
                km = kmeans_summaries_gap(x, y, n_clusters=2, random_state=0)
                out["clusters"] += [{"measure": measure, "statistic": statistic, "cluster": j,
                                     "n_runs": int(km.sizes[j]), "mean_gap": float(km.mean_gap[j]),
                                     "mean_value": float(x[km.labels == j].mean())} for j in range(2)]
        if axes:
            _by_axes(out, row, x, y, {a: [run_axes.get(r, {}).get(a) for r in runs] for a in axes}, cfg,
                     sign if sign is not None else (-1 if k.tau < 0 else 1))
    adjusted = adjust_pvalues([np.nan if r.get("p") is None else r["p"] for r in out["measures"]])
    for row, holm, bh in zip(out["measures"], adjusted.holm, adjusted.bh):
        row["p_holm"], row["p_bh"] = (None, None) if np.isnan(holm) else (float(holm), float(bh))
    out["measures"].sort(key=_nan_last_abs)
    for i, row in enumerate(out["measures"]):
        row["position"] = i
    return out


def _by_axes(out: dict[str, list[dict]], row: dict, x: np.ndarray, y: np.ndarray, values: dict[str, list],
             cfg: RankingConfig, orientation: int) -> None:
    """psi per axis and Psi, the CMI score and the robust sign-error of one statistic, into ``row`` and ``out``.

    ``orientation`` (+1 or -1) turns the statistic into a measure that predicts a larger gap when
    larger, as the sign-error needs: its declared sign, else the sign of its tau-a.
    """
    measure, statistic, axes = row["measure"], row["statistic"], list(values)
    g = granulated_kendall(x, y, values)
    row.update(psi_mean=g.Psi, n_axes=sum(not math.isnan(v) for v in g.psi.values()))
    out["psi"] += [{"measure": measure, "statistic": statistic, "axis": a, "psi": g.psi[a],
                    "n_cells": g.n_cells[a], "n_pairs": g.n_pairs[a]} for a in axes]
    c = cmi_score(x, y, values, subset_sizes=cfg.cmi_subset_sizes)
    row["cmi"] = c.score
    if not math.isnan(c.score):
        row["cmi_conditioning"] = ", ".join(c.argmin) or "(none)"
    out["cmi"] += [{"measure": measure, "statistic": statistic,
                    "conditioning": ", ".join(s) or "(none)", "score": v} for s, v in c.by_subset.items()]
    se = robust_sign_error(orientation * x, y, values, gap_tolerance=cfg.gap_tolerance)
    if se.n_environments:
        row.update(sign_error=se.max, sign_error_mean=se.mean, n_environments=se.n_environments,
                   worst_environment=se.worst)


@dataclass(kw_only=True)
class RankingResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : RankingConfig
    gaps : polars.DataFrame
        Rows of ``final_gaps`` (run_id, epoch, gen_gap), by run_id.
    axes : list of str
        The varied sweep axes used for psi and CMI.
    enough : bool
        Enough runs and a gap that varies: statistics were ranked.
    signed : int
        Ranked statistics with a declared sign (an oriented tau-a).
    """

    config: RankingConfig
    gaps: pl.DataFrame
    axes: list[str]
    enough: bool
    signed: int


def compute(con: duckdb.DuckDBPyConnection, config: RankingConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> RankingResult:
    """Materialise the SQL models, rank the statistics and write the report tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_ranking_*`` tables are replaced.
    config : RankingConfig, optional
    catalog : core.catalog.Catalog, optional
        The measures' declared statistics: their signs (:func:`declared_sign`).
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    RankingResult
    """
    cfg = config or RankingConfig()
    project = project or kind_project(pathlib.Path(__file__).parent)
    params, models = materialise(con, cfg, MODELS, project)
    gaps, enough = final_gaps(con, cfg.min_runs)
    features = con.sql('SELECT run_id, measure, statistic, value, gen_gap FROM "run_features"').pl()
    axes_rows = con.sql('SELECT axis, n_runs, n_values, value_list, varied FROM "ranking_axes" '
                        'ORDER BY axis').fetchall()
    # The seed is a replicate, not a hyperparameter: pairs of runs that differ only in it are left out.
    axes = [a for a, _, _, _, varied in axes_rows if varied and a != "seed"]
    run_axes: dict[str, dict[str, Any]] = {}
    for run_id, axis, value in con.sql('SELECT run_id, axis, value FROM "ranking_run_axes"').fetchall():
        run_axes.setdefault(run_id, {})[axis] = json.loads(value)
    rows = rank_statistics(features, run_axes, axes, cfg, catalog) if enough else {
        "measures": [], "psi": [], "cmi": [], "clusters": []}
    rows["axes"] = [{"position": i, "axis": a, "n_runs": n, "n_values": k, "value_list": v,
                     "used": a in axes} for i, (a, n, k, v, _) in enumerate(axes_rows)]
    write_tables(con, TABLES, typed_frames(rows, SCHEMAS))
    signed = sum(r.get("oriented_tau_a") is not None for r in rows["measures"])
    return RankingResult(config=cfg, models=models, params=params, gaps=gaps, axes=axes, enough=enough,
                         signed=signed, tables=list(TABLES.values()))
