"""Report ``gap_regression``: how well does each measure family predict the gap?

Ballester et al. 2023 (*Predicting the generalization gap in neural networks
using topological data analysis*): for each family of measures, a
linear model of the final generalization gap (train - test accuracy) on the
family's features, one row per trained network; R² over 5x2 cross-validation
(``RepeatedKFold(n_splits=2, n_repeats=5, random_state=1)``); families compared
with Dietterich's 5x2cv paired t-test (and Alpaydin's combined F-test) on the
same folds. Added here: ridge regression, in-sample OLS tables and the Kendall
tau of every single feature with the gap (Jiang et al. 2020).

Feature families are defined in :mod:`reports.families`. This module
computes and stores; :mod:`reports.gap_regression_document` turns
the stored tables into the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import polars as pl

from reports import stats
from reports.common import final_gaps, make_build, materialise, report_tables, typed_frames, write_tables
from reports.families import DEFAULT_FAMILIES, Family, FamilyData, family_data, is_constant, standardise
from reports.sql import SqlProject
from reports.stats_kendall import kendall_tau_b

KIND = "gap_regression"
SUMMARY = "R² (5x2cv) of linear models of the gap on each measure family; 5x2cv tests; OLS; Kendall tau"

#: Tables the report writes, by short name.
TABLES = report_tables(KIND, ("families", "r2", "folds", "tests", "ols", "kendall"))


@dataclass(frozen=True)
class GapRegressionConfig:
    """Options of the ``gap_regression`` report.

    Parameters
    ----------
    families : sequence of Family or (name, features) pairs
        Feature families, in report order. Defaults to :data:`DEFAULT_FAMILIES`.
    models : tuple of str
        Regression models, see :func:`reports.stats.make_regressor`.
    epoch : int or None
        Epoch of the gap; ``None`` takes each run's last epoch.
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    layer : str
        Layer of the measure rows (``'all'``: network-level aggregates).
    n_splits, n_repeats, random_state : int
        Cross-validation (5x2cv tests need 2 and 5).
    min_runs : int
        Fewer runs than this and a family is not analysed.
    """

    families: tuple[Family, ...] = DEFAULT_FAMILIES
    models: tuple[str, ...] = ("linear", "ridge")
    epoch: int | None = None
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    layer: str = "all"
    n_splits: int = 2
    n_repeats: int = 5
    random_state: int = 1
    min_runs: int = 10

    def __post_init__(self) -> None:
        fams = tuple(f if isinstance(f, Family) else Family(f[0], tuple(f[1]), *f[2:])
                     for f in self.families)
        object.__setattr__(self, "families", fams)
        names = [f.name for f in fams]
        if len(set(names)) != len(names):
            raise ValueError(f"Family names must be unique. Got {names} instead.")
        for m in self.models:
            if m not in stats.CV_MODELS:
                raise ValueError(f"The 'models' option of gap_regression must hold names "
                                 f"in {list(stats.CV_MODELS)}. Got {m!r} instead.")
        if self.min_runs < 4:
            raise ValueError(f"The 'min_runs' option of gap_regression must be an int in "
                             f"the range [4, inf). Got {self.min_runs} instead.")

    def sql_params(self) -> dict[str, Any]:
        """Values bound to the SQL models ``final_gaps`` and ``run_features``."""
        measures = sorted({f.measure for f in self.families if f.measure})
        any_measure = any(f.measure is None for f in self.families)
        return {"epoch": self.epoch, "experiment": self.experiment,
                "statuses": list(self.statuses), "layer": self.layer,
                "measures": None if any_measure else measures,
                "statistics": sorted({s for f in self.families for s in f.features})}


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
               "r2_median": pl.Float64, "r2_min": pl.Float64, "r2_max": pl.Float64, "status": pl.Utf8},
    "folds": {"family": pl.Utf8, "model": pl.Utf8, "repeat": pl.Int64, "fold": pl.Int64,
                  "r2": pl.Float64},
    "tests": {"family_a": pl.Utf8, "family_b": pl.Utf8, "model": pl.Utf8, "n_runs": pl.Int64,
                  "t": pl.Float64, "p_t": pl.Float64, "f": pl.Float64, "p_f": pl.Float64,
                  "status": pl.Utf8},
    "ols": {"position": pl.Int64, "family": pl.Utf8, "term_index": pl.Int64, "term": pl.Utf8,
                "coef": pl.Float64, "se": pl.Float64, "t": pl.Float64, "p": pl.Float64,
                "r2": pl.Float64, "adj_r2": pl.Float64, "n_runs": pl.Int64},
    "kendall": {"family": pl.Utf8, "measure": pl.Utf8, "feature": pl.Utf8, "n_runs": pl.Int64,
                    "tau": pl.Float64, "p": pl.Float64},
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
                row["tau"], row["p"] = kendall_tau_b(x[keep], y[keep])
            rows.append(row)
    return rows


def compute(con: duckdb.DuckDBPyConnection, config: GapRegressionConfig | None = None,
            *, project: SqlProject | None = None) -> dict[str, Any]:
    """Materialise the SQL models, run the statistics and write the report tables.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable); its ``report_gap_regression_*`` tables are replaced.
    config : GapRegressionConfig, optional
    project : SqlProject, optional
        SQL models; defaults to the packaged templates.

    Returns
    -------
    dict
        ``config``, ``models`` (the executed :class:`reports.sql.Model` s),
        ``params`` (bound values), ``gaps`` (polars.DataFrame of final_gaps),
        ``features`` (polars.DataFrame of run_features), ``enough`` (bool),
        ``tables`` (the names written).
    """
    cfg = config or GapRegressionConfig()
    params, models = materialise(con, cfg, ["final_gaps", "run_features"], project)
    gaps, enough = final_gaps(con, cfg.min_runs)
    features = con.sql('SELECT run_id, measure, statistic, value FROM "run_features"').pl()
    datas = [family_data(f, features, gaps, cfg.min_runs) for f in cfg.families]
    write_tables(con, TABLES, analyse(datas, features, gaps, cfg, enough).frames())
    return {"config": cfg, "models": models, "params": params, "gaps": gaps, "features": features,
                "enough": enough, "tables": list(TABLES.values())}


#: The options of this kind (a manifest's ``[[reports]]`` keys besides ``kind`` and ``formats``).
CONFIG = GapRegressionConfig
build = make_build(KIND, compute, "reports.gap_regression_document")
