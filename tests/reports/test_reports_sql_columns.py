"""Column tests of every packaged SQL model (templates/sql and each report kind's folder), on the
synthetic store (in the manner of dbt's tests).

Each model declares the columns its tests name (each must exist), its unique key, the columns that may not be
NULL, accepted values (a set) or ranges, and row checks (SQL expressions true
on every row). A new template without a declaration here fails
``test_every_model_is_declared``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pytest

from reports.sql import SqlProject, quote_ident
from tests.reports.kinds_store import fill_kinds_store

INF = float("inf")
QUANTILES = ("q25 <= median", "median <= q75")


@dataclass(frozen=True)
class Spec:
    """Column tests of one model: columns it must have, unique key (None: rows may repeat), checks."""

    columns: tuple[str, ...]
    unique: tuple[str, ...] | None
    not_null: tuple[str, ...] = ()
    accepted: dict[str, frozenset] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    checks: tuple[str, ...] = ()


ACCURACY = (0.0, 1.0)
SPECS: dict[str, Spec] = {
    "final_gaps": Spec(
        ("run_id", "experiment", "seed", "dataset", "arch", "regulariser", "axes", "epoch",
         "train_accuracy", "test_accuracy", "gen_gap"), ("run_id",),
        ("run_id", "epoch", "train_accuracy", "test_accuracy", "gen_gap"),
        ranges={"train_accuracy": ACCURACY, "test_accuracy": ACCURACY, "gen_gap": (-1.0, 1.0)},
        checks=("abs(train_accuracy - test_accuracy - gen_gap) < 1e-12",)),
    "run_features": Spec(
        ("run_id", "measure", "statistic", "value", "measure_epoch", "measure_key", "version",
         "gap_epoch", "gen_gap"), ("run_id", "measure", "statistic"),
        ("run_id", "measure", "statistic", "measure_epoch", "gap_epoch", "gen_gap"),
        checks=("measure_epoch <= gap_epoch",)),
    "ranking_run_axes": Spec(("run_id", "axis", "value"), ("run_id", "axis"), ("run_id", "axis", "value")),
    "ranking_axes": Spec(("axis", "n_runs", "n_values", "value_list", "varied"), ("axis",),
                         ("axis", "n_runs", "n_values", "varied"), accepted={"varied": frozenset({True, False})},
                         ranges={"n_values": (1, INF)}, checks=("varied = (n_values >= 2)",)),
    "regulariser_runs": Spec(
        ("run_id", "experiment", "seed", "network", "method", "regulariser", "weight", "epoch",
         "train_accuracy", "val_accuracy", "test_accuracy", "gen_gap"), ("run_id",),
        ("run_id", "network", "method", "regulariser", "weight", "gen_gap"),
        ranges={"train_accuracy": ACCURACY, "val_accuracy": ACCURACY, "test_accuracy": ACCURACY,
                "weight": (0.0, INF)}),
    "regulariser_cells": Spec(
        ("experiment", "network", "method", "regulariser", "weight", "n_runs", "val_accuracy",
         "test_accuracy", "gen_gap"),
        ("experiment", "network", "method"), ("network", "method", "n_runs", "gen_gap"),
        ranges={"n_runs": (1, INF), "val_accuracy": ACCURACY, "test_accuracy": ACCURACY}),
    "regulariser_selected": Spec(
        ("experiment", "network", "method", "regulariser", "weight", "n_runs", "val_accuracy",
         "test_accuracy", "gen_gap"),
        ("experiment", "network", "regulariser"), ("network", "method", "regulariser", "n_runs", "gen_gap"),
        ranges={"n_runs": (1, INF), "val_accuracy": ACCURACY, "test_accuracy": ACCURACY},
        checks=("method = regulariser",)),
    "training_dynamics_axes": Spec(("axis", "n_values", "n_runs"), ("axis",), ("axis", "n_values", "n_runs"),
                                   ranges={"n_values": (1, INF), "n_runs": (1, INF)}),
    "training_dynamics_runs": Spec(("run_id", "group_value", "final_epoch", "final_gap"), ("run_id",),
                                   ("run_id", "group_value", "final_epoch", "final_gap")),
    "training_dynamics_values": Spec(
        ("run_id", "group_value", "epoch", "measure", "statistic", "value", "final_gap"),
        ("run_id", "epoch", "measure", "statistic"),
        ("run_id", "group_value", "epoch", "measure", "statistic", "final_gap")),
    "training_dynamics_bands": Spec(
        ("group_value", "measure", "statistic", "epoch", "n_runs", "q25", "median", "q75"),
        ("group_value", "measure", "statistic", "epoch"),
        ("group_value", "measure", "statistic", "epoch", "n_runs", "q25", "median", "q75"),
        ranges={"n_runs": (1, INF)}, checks=QUANTILES),
    "training_dynamics_accuracy": Spec(
        ("group_value", "split", "epoch", "n_runs", "q25", "median", "q75"), ("group_value", "split", "epoch"),
        ("group_value", "split", "epoch", "n_runs", "q25", "median", "q75"),
        accepted={"split": frozenset({"train", "test"})}, ranges={"q25": ACCURACY, "q75": ACCURACY},
        checks=QUANTILES),
    "layers_values": Spec(
        ("run_id", "depth", "layer", "layer_index", "n_layers", "statistic", "value", "epoch"),
        ("run_id", "layer", "statistic"), ("run_id", "depth", "layer", "layer_index", "n_layers", "statistic"),
        accepted={"statistic": frozenset({"cdnv", "ncc_accuracy_train", "ncc_accuracy_test"})},
        ranges={"layer_index": (1, INF)}, checks=("layer_index <= n_layers", "layer <> 'all'")),
    "layers_bands": Spec(
        ("depth", "layer_index", "statistic", "n_runs", "q25", "median", "q75"), ("depth", "layer_index", "statistic"),
        ("depth", "layer_index", "statistic", "n_runs", "q25", "median", "q75"), checks=QUANTILES),
    "persistence_runs": Spec(("run_id", "group_value", "final_gap", "epoch"), ("run_id",),
                             ("run_id", "group_value", "final_gap", "epoch")),
    "persistence_pairs": Spec(
        ("run_id", "group_value", "epoch", "bootstrap", "dim", "birth", "death", "persistence"), None,
        ("run_id", "bootstrap", "dim", "birth", "death"), accepted={"dim": frozenset({0, 1})},
        checks=("death >= birth", "persistence >= 0")),
    "persistence_betti": Spec(
        ("run_id", "group_value", "dim", "t_index", "t", "betti", "n_bootstraps"), ("run_id", "dim", "t_index"),
        ("run_id", "dim", "t_index", "t", "betti", "n_bootstraps"), ranges={"betti": (0, INF), "t": (0, INF)}),
    "persistence_betti_bands": Spec(
        ("group_value", "dim", "t_index", "t", "n_runs", "q25", "median", "q75"), ("group_value", "dim", "t_index"),
        ("group_value", "dim", "t_index", "t", "n_runs", "q25", "median", "q75"), checks=QUANTILES),
}


def violations(con: duckdb.DuckDBPyConnection, table: str, spec: Spec) -> list[str]:
    """What table ``table`` breaks of ``spec``, one line per broken test (empty: all pass)."""
    t = quote_ident(table)
    out = []
    cols = {r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()}
    named = set(spec.columns) | set(spec.unique or ()) | set(spec.not_null) | set(spec.accepted) | set(spec.ranges)
    if named - cols:
        out.append(f"no columns {sorted(named - cols)}")
        return out
    if spec.unique:
        key = ", ".join(quote_ident(c) for c in spec.unique)
        dup = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {t} GROUP BY ALL HAVING count(*) > 1)").fetchall()
        if dup[0][0]:
            out.append(f"{dup[0][0]} duplicated keys {spec.unique}")
    for c in spec.not_null:
        n = con.execute(f"SELECT count(*) FROM {t} WHERE {quote_ident(c)} IS NULL").fetchall()[0][0]
        if n:
            out.append(f"{n} NULLs in {c}")
    for c, allowed in spec.accepted.items():
        seen = {r[0] for r in con.execute(f"SELECT DISTINCT {quote_ident(c)} FROM {t}").fetchall()} - {None}
        if seen - allowed:
            out.append(f"{c} takes values {sorted(seen - allowed, key=str)} outside {sorted(allowed, key=str)}")
    for c, (lo, hi) in spec.ranges.items():
        n = con.execute(f"SELECT count(*) FROM {t} WHERE {quote_ident(c)} < ? OR {quote_ident(c)} > ?",
                        [lo, hi]).fetchall()[0][0]
        if n:
            out.append(f"{n} values of {c} outside [{lo}, {hi}]")
    for expr in spec.checks:
        n = con.execute(f"SELECT count(*) FROM {t} WHERE NOT ({expr})").fetchall()[0][0]
        if n:
            out.append(f"{n} rows where not ({expr})")
    return out


@pytest.fixture(scope="module")
def materialised():
    """Every packaged model built with its default parameters on the kinds store."""
    con = duckdb.connect()
    fill_kinds_store(con, n_runs=12)
    SqlProject().materialise(con, SqlProject().names())
    yield con
    con.close()


def test_every_model_is_declared():
    missing = sorted(set(SqlProject().names()) - set(SPECS))
    assert not missing, f"declare the column tests of {missing} in SPECS"
    assert not set(SPECS) - set(SqlProject().names()), "SPECS names a model that no longer exists"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_model_columns(materialised, name):
    if name not in SqlProject().names():
        pytest.fail(f"{name}.sql.j2 is declared in SPECS but missing")
    n = materialised.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchall()[0][0]
    assert n > 0, f"{name} is empty on the synthetic store: its column tests would test nothing"
    assert violations(materialised, name, SPECS[name]) == []


def test_the_checks_catch_broken_tables():
    con = duckdb.connect()
    con.execute("CREATE TABLE b AS SELECT * FROM (VALUES (1, 'train', 0.2, 0.5, 0.4), (1, 'val', NULL, 0.1, 2.0)) "
                "AS v(k, split, q25, median, q75)")
    spec = Spec(("k", "split", "q25", "median", "q75"), ("k",), ("q25",),
                accepted={"split": frozenset({"train", "test"})}, ranges={"q75": ACCURACY}, checks=QUANTILES)
    assert violations(con, "b", spec) == [
        "1 duplicated keys ('k',)", "1 NULLs in q25", "split takes values ['val'] outside ['test', 'train']",
        "1 values of q75 outside [0.0, 1.0]", "1 rows where not (median <= q75)"]
    assert violations(con, "b", Spec(("k", "x"), None, ("y",))) == ["no columns ['x', 'y']"]
    con.close()
