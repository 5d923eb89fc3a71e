"""Report ``gap_regression``: how well does each measure family predict the gap?

Ballester et al. 2023 (*Predicting the generalization gap in neural networks
using topological data analysis*): for each family of measures, a
linear model of the final generalization gap (train - test accuracy) on the
family's features, one row per trained network; R² over 5x2 cross-validation
(``RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)``); families compared
with Dietterich's 5x2cv paired t-test (and Alpaydin's combined F-test) on the
same folds. Added here: ridge regression, a percentile bootstrap interval of
the mean R² over the folds' R² (:func:`reports.stats.bootstrap.bootstrap_mean`),
in-sample OLS tables and the Kendall tau-b of every single feature with the gap
(Jiang et al. 2020).

The interval resamples the 10 fold scores, not the runs: resampling runs with
replacement would put copies of one run on both sides of a fold (an optimistic
R²) and cost ``n_bootstrap`` x 10 fits per family and model. The folds share
runs, so the interval is narrower than one over new samples of runs.

Feature families are defined in :mod:`reports.kinds.gap_regression.families`;
by default they are the ones the measures declare in the catalog. This module
computes and stores; :mod:`reports.kinds.gap_regression.document` turns the
stored tables into the document.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from core.catalog import Catalog
from reports.common import KindResult, final_gaps, kind_project, report_tables, typed_frames, write_tables
from reports.kinds.gap_regression.families import Family, FamilyData, families_from_catalog, family_data
from reports.kinds.gap_regression.options import KIND, GapRegressionConfig
from reports.sql import Model, SqlProject
from reports.stats import is_constant, standardise
from reports.stats import regression as stats
from reports.stats.bootstrap import bootstrap_mean
from reports.stats.kendall import kendall_tau_b

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, ("families", "r2", "folds", "tests", "ols", "kendall"))


class _Scores:
    """Fold scores per (family, model, run subset), computed once."""

    def __init__(self, cfg: GapRegressionConfig) -> None:
        self.cfg = cfg
        self._cache: dict[tuple, np.ndarray] = {}

    def get(self, data: FamilyData, model: str, run_ids: np.ndarray | None = None) -> np.ndarray:
        rows = slice(None) if run_ids is None else np.isin(data.run_ids, run_ids)
        key = (data.family.name, model, None if run_ids is None else tuple(run_ids))
        if key not in self._cache:
            c = self.cfg
            self._cache[key] = stats.cv_r2(data.X[rows], data.y[rows], model, c.n_splits,
                                           c.n_repeats, c.random_state)
        return self._cache[key]


#: Column types of every report table (kept even when a table has no rows).
SCHEMAS = {
    "families": {"position": pl.Int64, "family": pl.Utf8, "measure": pl.Utf8, "used": pl.Utf8,
                     "missing": pl.Utf8, "constant": pl.Utf8, "n_runs": pl.Int64, "status": pl.Utf8},
    "r2": {"position": pl.Int64, "family": pl.Utf8, "model": pl.Utf8, "n_runs": pl.Int64,
               "n_features": pl.Int64, "r2_mean": pl.Float64, "r2_std": pl.Float64,
               "r2_median": pl.Float64, "r2_min": pl.Float64, "r2_max": pl.Float64,
               "r2_low": pl.Float64, "r2_high": pl.Float64, "status": pl.Utf8},
    "folds": {"family": pl.Utf8, "model": pl.Utf8, "repeat": pl.Int64, "fold": pl.Int64,
                  "r2": pl.Float64},
    "tests": {"family_a": pl.Utf8, "family_b": pl.Utf8, "model": pl.Utf8, "n_runs": pl.Int64,
                  "t": pl.Float64, "p_t": pl.Float64, "f": pl.Float64, "p_f": pl.Float64,
                  "status": pl.Utf8},
    "ols": {"position": pl.Int64, "family": pl.Utf8, "term_index": pl.Int64, "term": pl.Utf8,
                "coef": pl.Float64, "se": pl.Float64, "t": pl.Float64, "p": pl.Float64,
                "r2": pl.Float64, "adj_r2": pl.Float64, "n_runs": pl.Int64},
    "kendall": {"family": pl.Utf8, "measure": pl.Utf8, "feature": pl.Utf8, "n_runs": pl.Int64,
                    "tau_b": pl.Float64, "p": pl.Float64},
}


@dataclass
class Analysis:
    """Rows of every report table, by short name (see :data:`TABLES`)."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in SCHEMAS})

    def frames(self) -> dict[str, pl.DataFrame]:
        """One polars.DataFrame per table, typed by :data:`SCHEMAS`."""
        return typed_frames(self.rows, SCHEMAS)


def analyse(datas: list[FamilyData], features: pl.DataFrame, gaps: pl.DataFrame,
            cfg: GapRegressionConfig, enough: bool) -> Analysis:
    """Compute the rows of every report table.

    Parameters
    ----------
    datas : list of FamilyData
        One per family, in report order.
    features : polars.DataFrame
        Rows of ``run_features`` (run_id, measure, statistic, value).
    gaps : polars.DataFrame
        Rows of ``final_gaps`` (run_id, gen_gap).
    cfg : GapRegressionConfig
    enough : bool
        False when the store has too few runs or a constant gap: then only the
        families table (and not-analysed R² rows) are filled.

    Returns
    -------
    Analysis
    """
    out = Analysis()
    scores = _Scores(cfg)
    for pos, d in enumerate(datas):
        status = d.status if enough or d.status != "ok" else "not analysed"
        out.rows["families"].append({
            "position": pos, "family": d.family.name, "measure": d.family.measure or "any",
            "used": ", ".join(d.features), "missing": ", ".join(d.missing),
            "constant": ", ".join(d.constant), "n_runs": len(d.y), "status": status})
        for model in cfg.models:
            row = {"position": pos, "family": d.family.name, "model": model, "n_runs": len(d.y),
                       "n_features": len(d.features), "status": status}
            if status == "ok":
                s = scores.get(d, model)
                row.update({f"r2_{k}": v for k, v in stats.summarise_scores(s).items()})
                if cfg.n_bootstrap:
                    row["r2_low"], row["r2_high"] = bootstrap_mean(
                        s, n_boot=cfg.n_bootstrap, level=cfg.ci_level, random_state=cfg.bootstrap_seed)
                out.rows["folds"] += [{"family": d.family.name, "model": model,
                                           "repeat": i // cfg.n_splits, "fold": i % cfg.n_splits,
                                           "r2": float(v)} for i, v in enumerate(s)]
            out.rows["r2"].append(row)
        if status == "ok":
            fit = stats.ols_fit(standardise(d.X), d.y, d.features)
            out.rows["ols"] += [{"position": pos, "family": d.family.name, "term_index": i,
                                     "term": term, "coef": fit.coef[i], "se": fit.se[i], "t": fit.t[i],
                                     "p": fit.p[i], "r2": fit.r2, "adj_r2": fit.adj_r2, "n_runs": fit.n}
                                for i, term in enumerate(fit.terms)]
    if enough:
        out.rows["tests"] = _pair_tests(datas, cfg, scores)
        out.rows["kendall"] = _kendall(datas, features, gaps, cfg)
    return out


def _pair_tests(datas: list[FamilyData], cfg: GapRegressionConfig,
                scores: _Scores) -> list[dict]:
    rows = []
    ok = [d for d in datas if d.status == "ok"]
    for i, a in enumerate(ok):
        for b in ok[i + 1:]:
            common = np.intersect1d(a.run_ids, b.run_ids)
            same = len(common) == len(a.run_ids) == len(b.run_ids)
            y = a.y[np.isin(a.run_ids, common)]
            for model in cfg.models:
                row = {"family_a": a.family.name, "family_b": b.family.name, "model": model,
                           "n_runs": len(common), "status": "ok"}
                if (cfg.n_splits, cfg.n_repeats) != (2, 5):
                    row["status"] = "5x2cv needs n_splits=2 and n_repeats=5"
                elif len(common) < cfg.min_runs:
                    row["status"] = f"too few common runs (n={len(common)} < {cfg.min_runs})"
                elif is_constant(y):
                    row["status"] = "constant gap"
                else:
                    sa = scores.get(a, model, None if same else common)
                    sb = scores.get(b, model, None if same else common)
                    row["t"], row["p_t"] = stats.paired_ttest_5x2cv(sa, sb)
                    row["f"], row["p_f"] = stats.combined_ftest_5x2cv(sa, sb)
                rows.append(row)
    return rows


def _kendall(datas: list[FamilyData], features: pl.DataFrame, gaps: pl.DataFrame,
             cfg: GapRegressionConfig) -> list[dict]:
    rows = []
    for d in datas:
        sel = features if d.family.measure is None else features.filter(
            pl.col("measure") == d.family.measure)
        for feat in d.features + d.constant:
            part = (sel.filter(pl.col("statistic") == feat)
                    .join(gaps.select("run_id", "gen_gap"), on="run_id").sort("run_id"))
            x, y = part["value"].to_numpy(), part["gen_gap"].to_numpy()
            keep = np.isfinite(x) & np.isfinite(y)
            row = {"family": d.family.name, "measure": part["measure"][0], "feature": feat,
                       "n_runs": int(keep.sum())}
            if keep.sum() >= cfg.min_runs and not is_constant(x[keep]):
                row["tau_b"], row["p"] = kendall_tau_b(x[keep], y[keep])
            rows.append(row)
    return rows


@dataclass(kw_only=True)
class GapRegressionResult(KindResult):
    """What :func:`compute` returns to the document.

    Attributes
    ----------
    config : GapRegressionConfig
    families : tuple of Family
        The families analysed, in report order (the option, else the catalog's).
    gaps : polars.DataFrame
        Rows of ``final_gaps`` (run_id, epoch, gen_gap), by run_id.
    features : polars.DataFrame
        Rows of ``run_features`` (run_id, measure, statistic, value).
    enough : bool
        Enough runs and a gap that varies: the fits were computed.
    """

    config: GapRegressionConfig
    families: tuple[Family, ...]
    gaps: pl.DataFrame
    features: pl.DataFrame
    enough: bool


def compute(con: duckdb.DuckDBPyConnection, config: GapRegressionConfig | None = None,
            catalog: Catalog | None = None, *, project: SqlProject | None = None) -> GapRegressionResult:
    """Materialise the SQL models, run the statistics and write the report tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_gap_regression_*`` tables are replaced.
    config : GapRegressionConfig, optional
    catalog : core.catalog.Catalog, optional
        The measures' declared statistics; the default families come from it
        (none without it, unless ``config.families`` names them).
    project : SqlProject, optional
        SQL models; defaults to the packaged ones of this kind.

    Returns
    -------
    GapRegressionResult
    """
    cfg = config or GapRegressionConfig()
    families = cfg.families if cfg.families is not None else families_from_catalog(catalog or {})
    params = cfg.sql_params(families)
    models: list[Model] = (project or kind_project(pathlib.Path(__file__).parent)).materialise(
        con, ["final_gaps", "run_features"], params)
    gaps, enough = final_gaps(con, cfg.min_runs)
    features = con.sql('SELECT run_id, measure, statistic, value FROM "run_features"').pl()
    datas = [family_data(f, features, gaps, cfg.min_runs) for f in families]
    write_tables(con, TABLES, analyse(datas, features, gaps, cfg, enough).frames())
    return GapRegressionResult(config=cfg, families=families, models=models, params=params, gaps=gaps,
                               features=features, enough=enough, tables=list(TABLES.values()))
