"""Report ``regulariser_comparison``: which regulariser setting trains the best networks?

Ballester, Casacuberta and Escalera, *Decorrelating neurons using persistence*
(2024): the topological regularisers are compared with no regularisation, L1, L2
and all-pairs decorrelation over many networks by the average rank of each
method's test accuracy, Friedman's test (Iman-Davenport F) and a Nemenyi
critical-difference diagram at alpha = 0.05. Here the blocks are the network
configurations (the runs' sweep axes other than the regulariser's, with the seed
unless seeds are pooled) and the methods are the regulariser settings (name and
weight from ``runs.config``), or, with ``select_weight``, the regularisers with the
weight chosen per network on validation accuracy as the paper does. For the final
test accuracy (higher is better) and the final generalization gap (train - test
accuracy, lower is better): mean and standard deviation per method, average
ranks, Friedman's test and the Iman-Davenport F, Nemenyi's critical difference and
its cliques, and pairwise Wilcoxon signed-rank tests with Holm's correction
(:mod:`reports.stats.ranks`, :mod:`reports.stats.posthoc`, Demšar 2006).

This module computes and stores the ``report_regulariser_comparison_*`` tables;
:mod:`reports.kinds.regulariser_comparison.document` turns them into the document.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog
from reports.common import KindResult, kind_project, materialise, report_tables, typed_frames, write_tables
from reports.kinds.regulariser_comparison.options import KIND, RegulariserComparisonConfig
from reports.sql import SqlProject
from reports.stats import posthoc as sp
from reports.stats import ranks as sr

#: Criteria compared: name -> (column of regulariser_cells, higher is better, label).
CRITERIA = {"accuracy": ("test_accuracy", True, "test accuracy"),
            "gap": ("gen_gap", False, "generalization gap")}

#: Column types of every report table (kept even when a table has no rows).
SCHEMAS = {
    "cells": {"experiment": pl.Utf8, "network": pl.Utf8, "method": pl.Utf8,
              "regulariser": pl.Utf8, "weight": pl.Float64, "n_runs": pl.Int64,
              "val_accuracy": pl.Float64, "test_accuracy": pl.Float64, "gen_gap": pl.Float64, "used": pl.Boolean,
              "rank_accuracy": pl.Float64, "rank_gap": pl.Float64},
    "methods": {"criterion": pl.Utf8, "position": pl.Int64, "method": pl.Utf8,
                "regulariser": pl.Utf8, "weight": pl.Float64, "n_blocks": pl.Int64,
                "mean": pl.Float64, "std": pl.Float64, "avg_rank": pl.Float64},
    "tests": {"criterion": pl.Utf8, "n_blocks": pl.Int64, "n_methods": pl.Int64,
              "chi2": pl.Float64, "p_chi2": pl.Float64, "f": pl.Float64, "p_f": pl.Float64,
              "alpha": pl.Float64, "q_alpha": pl.Float64, "cd": pl.Float64, "status": pl.Utf8},
    "pairs": {"criterion": pl.Utf8, "method_a": pl.Utf8, "method_b": pl.Utf8,
              "rank_a": pl.Float64, "rank_b": pl.Float64, "rank_diff": pl.Float64,
              "nemenyi_p": pl.Float64, "nemenyi_different": pl.Boolean,
              "wilcoxon_t": pl.Float64, "wilcoxon_p": pl.Float64, "holm_p": pl.Float64,
              "holm_different": pl.Boolean},
    "cliques": {"criterion": pl.Utf8, "test": pl.Utf8, "clique": pl.Int64,
                "position": pl.Int64, "method": pl.Utf8},
}

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, SCHEMAS)


@dataclass
class Design:
    """The cells arranged as blocks x methods.

    Attributes
    ----------
    methods : list of str
        Method labels, 'none' first, then by regulariser name and weight.
    blocks : list of (str, str)
        ``(experiment, network)`` of every block that has all methods.
    incomplete : list of (str, str, list of str)
        Blocks left out, with the methods they lack.
    scores : dict of str -> ndarray of shape (n_blocks, n_methods)
        Per criterion (:data:`CRITERIA`).
    settings : dict of str -> (str, float or None)
        Method -> (regulariser name, weight); the weight is None when it was chosen
        per network (``select_weight``).
    """

    methods: list[str]
    blocks: list[tuple[str, str]]
    incomplete: list[tuple[str, str, list[str]]]
    scores: dict[str, np.ndarray]
    settings: dict[str, tuple[str, float | None]]


def design(cells: pl.DataFrame) -> Design:
    """Arrange the rows of ``regulariser_cells`` as complete blocks x methods.

    Parameters
    ----------
    cells : polars.DataFrame
        Columns experiment, network, method, regulariser, weight, test_accuracy, gen_gap.

    Returns
    -------
    Design
    """
    keys = cells.group_by("method").agg(pl.col("regulariser").first(), pl.col("weight").min(),
                                        pl.col("weight").n_unique().alias("n_weights"))
    keys = keys.sort([pl.col("regulariser") != "none", "regulariser", "weight", "method"])
    methods = keys["method"].to_list()
    settings = {r["method"]: (r["regulariser"], r["weight"] if r["n_weights"] == 1 else None)
                for r in keys.iter_rows(named=True)}
    value = {(r["experiment"], r["network"], r["method"]): r for r in cells.iter_rows(named=True)}
    blocks, incomplete = [], []
    for exp, net in sorted({(e, n) for e, n, _ in value}):
        lacking = [m for m in methods if (exp, net, m) not in value]
        if lacking:
            incomplete.append((exp, net, lacking))
        else:
            blocks.append((exp, net))
    scores = {c: np.array([[value[(e, n, m)][col] for m in methods] for e, n in blocks],
                          dtype=float).reshape(len(blocks), len(methods))
              for c, (col, _, _) in CRITERIA.items()}
    return Design(methods, blocks, incomplete, scores, settings)


def enough_for_tests(d: Design, cfg: RegulariserComparisonConfig) -> bool:
    """True when the design has ``cfg.min_blocks`` complete blocks and 2 methods or more."""
    return len(d.blocks) >= cfg.min_blocks and len(d.methods) >= 2


def analyse(d: Design, cells: pl.DataFrame, cfg: RegulariserComparisonConfig) -> dict[str, pl.DataFrame]:
    """Compute the rows of every report table.

    Parameters
    ----------
    d : Design
    cells : polars.DataFrame
        Rows of ``regulariser_cells``.
    cfg : RegulariserComparisonConfig

    Returns
    -------
    dict of str -> polars.DataFrame
        One frame per table, typed by :data:`SCHEMAS`.
    """
    rows: dict[str, list[dict]] = {k: [] for k in SCHEMAS}
    enough = enough_for_tests(d, cfg)
    ranks = {c: sr.block_ranks(d.scores[c], higher_is_better=hib) if enough else None
             for c, (_, hib, _) in CRITERIA.items()}
    where = {b: i for i, b in enumerate(d.blocks)}
    for r in cells.iter_rows(named=True):
        i = where.get((r["experiment"], r["network"]))
        j = d.methods.index(r["method"])
        rows["cells"].append(dict(r, used=i is not None and enough, **{
            f"rank_{c}": float(ranks[c][i, j]) if enough and i is not None else None
            for c in CRITERIA}))
    if enough:
        for c in CRITERIA:
            _criterion_rows(c, d, ranks[c], cfg, rows)
    return typed_frames(rows, SCHEMAS)


def _criterion_rows(c: str, d: Design, ranks: np.ndarray, cfg: RegulariserComparisonConfig,
                    rows: dict[str, list[dict]]) -> None:
    x = d.scores[c]
    n, k = x.shape
    avg = ranks.mean(axis=0)
    std = x.std(axis=0, ddof=1) if n > 1 else np.full(k, np.nan)
    for pos, j in enumerate(np.argsort(avg, kind="stable")):
        m = d.methods[j]
        rows["methods"].append({
            "criterion": c, "position": pos, "method": m, "regulariser": d.settings[m][0],
            "weight": d.settings[m][1], "n_blocks": n, "mean": float(x[:, j].mean()),
            "std": float(std[j]), "avg_rank": float(avg[j])})
    q = sp.nemenyi_q(k, cfg.alpha)
    cd = sp.critical_difference(k, n, cfg.alpha)
    test = {"criterion": c, "n_blocks": n, "n_methods": k, "alpha": cfg.alpha, "q_alpha": q,
            "cd": cd, "status": "ok"}
    if k >= 3:
        fr = sr.friedman_test(x)
        test.update(chi2=fr.chi2, p_chi2=fr.p_chi2, f=fr.f, p_f=fr.p_f)
    else:
        test["status"] = "Friedman's test needs at least 3 methods"
    rows["tests"].append(test)
    nem = sp.nemenyi_pvalues(avg, n)
    wil = sp.wilcoxon_holm(x, cfg.alpha)
    for (a, b), t, p, ph, rej in zip(wil.pairs, wil.statistic, wil.p, wil.p_holm, wil.reject):
        rows["pairs"].append({
            "criterion": c, "method_a": d.methods[a], "method_b": d.methods[b],
            "rank_a": avg[a], "rank_b": avg[b], "rank_diff": abs(avg[a] - avg[b]),
            "nemenyi_p": nem[a, b], "nemenyi_different": bool(abs(avg[a] - avg[b]) >= cd),
            "wilcoxon_t": t, "wilcoxon_p": p, "holm_p": ph, "holm_different": bool(rej)})
    holm = np.zeros((k, k), dtype=bool)
    for (a, b), rej in zip(wil.pairs, wil.reject):
        holm[a, b] = holm[b, a] = rej
    for test_name, groups in (("nemenyi", sp.cd_cliques(avg, cd)),
                              ("wilcoxon_holm", sp.cliques(avg, holm))):
        for g, members in enumerate(groups):
            rows["cliques"] += [{"criterion": c, "test": test_name, "clique": g, "position": p,
                                 "method": d.methods[j]} for p, j in enumerate(members)]


@dataclass(kw_only=True)
class RegulariserComparisonResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : RegulariserComparisonConfig
    design : Design
        The cells as blocks x methods.
    n_runs : int
        Runs with a test accuracy and a gap.
    enough : bool
        The tests were run (:func:`enough_for_tests`).
    """

    config: RegulariserComparisonConfig
    design: Design
    n_runs: int
    enough: bool


def compute(con: duckdb.DuckDBPyConnection, config: RegulariserComparisonConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> RegulariserComparisonResult:
    """Materialise the SQL models, run the rank statistics and write the report tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_regulariser_comparison_*`` tables are replaced.
    config : RegulariserComparisonConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used (the criteria are accuracy and gap, not measures); the kinds' common signature.
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    RegulariserComparisonResult
    """
    cfg = config or RegulariserComparisonConfig()
    project = project or kind_project(pathlib.Path(__file__).parent)
    params, models = materialise(con, cfg, [cfg.cells_model], project)
    cells = con.sql(f'SELECT experiment, network, method, regulariser, weight, n_runs, '
                    f'val_accuracy, test_accuracy, gen_gap FROM "{cfg.cells_model}" '
                    f'ORDER BY experiment, network, method').pl()
    n_runs = con.sql('SELECT count(*) FROM "regulariser_runs"').fetchall()[0][0]
    d = design(cells)
    write_tables(con, TABLES, analyse(d, cells, cfg))
    return RegulariserComparisonResult(config=cfg, models=models, params=params, design=d, n_runs=n_runs,
                                       enough=enough_for_tests(d, cfg), tables=list(TABLES.values()))
