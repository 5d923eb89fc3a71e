"""A small synthetic result store for the report tests.

``make_store`` fills the store tables (runs, metrics, measures, diagrams, and
the gaps view) with networks whose final generalization gap is a known linear
function of one feature, ``cdnv_last_hidden`` of ``neural_collapse``, plus
noise; every ``weight_spectrum`` statistic is noise. Traps a report must not
fall into: earlier epochs with other values, stale measure versions, per-layer
rows, a failed and a still-running run.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import polars as pl
import pytest

from core.catalog import Statistic

WEIGHT_STATS = ("mean_frobenius_norm", "mean_spectral_norm", "mean_stable_rank",
                "mean_effective_rank", "mean_condition_number", "mean_stable_quality",
                "log_prod_spectral_norm", "log_prod_frobenius_norm")
NC_STATS = ("cdnv_last_hidden", "ncc_accuracy_train_last_hidden",
            "ncc_accuracy_test_last_hidden")
PERSISTENCE_STATS = ("h0_std_death", "h0_mean_death", "h1_std_birth", "h1_std_death",
                     "h1_mean_birth", "h1_mean_death", "h0_persistent_entropy")
SLOPE, INTERCEPT, NOISE = 0.05, 0.12, 0.004
LAST_EPOCH = 3


def _family(family: str, names: tuple[str, ...], higher_is_better: bool | None = None) -> tuple[Statistic, ...]:
    return tuple(Statistic(n, higher_is_better, families=(family,)) for n in names)


#: The statistics the measures declare, as the runner hands them to the reports (a small
#: :data:`core.catalog.Catalog` written here, so the report tests never import the measures).
#: Measures in this order give the feature families of gap_regression in the order the report
#: has always listed them; the signs (higher_is_better) are those of the measures' papers.
CATALOG = {
    "weight_spectrum": _family("weight_spectrum", WEIGHT_STATS),
    "neural_collapse": (Statistic("cdnv_last_hidden", False, families=("neural_collapse",)),
                        *_family("neural_collapse", NC_STATS[1:], True),
                        Statistic("cdnv", False, "layer"), Statistic("ncc_accuracy_train", True, "layer"),
                        Statistic("ncc_accuracy_test", True, "layer")),
    "activation_persistence": (*_family("activation_persistence", PERSISTENCE_STATS[:6]),
                               Statistic("h0_persistent_entropy")),
    "interpex": _family("pgdl_winners", ("db_times_mixup_error",), False),
    "always_generalize": _family("pgdl_winners", ("augmentation_penalty",), False),
    "brain": _family("pgdl_winners", ("label_variation",), False),
    "functional_graph": _family("functional_graph", ("h1_life", "h1_midlife")),
    "norm_measures": _family("jiang_norms", (
        "log_prod_of_spec", "log_prod_of_fro", "log_sum_of_spec", "log_sum_of_fro", "fro_over_spec",
        "frobenius_distance", "dist_spec_init", "param_norm"), False),
    "output_margin": _family("jiang_margin_path_norm", ("inverse_margin",), False),
    "path_norm_measures": _family("jiang_margin_path_norm", ("path_norm", "path_norm_over_margin"), False),
    "pac_bayes": _family("jiang_pac_bayes", ("pacbayes_init", "pacbayes_orig", "pacbayes_flatness"), False),
    "pac_bayes_magnitude": _family("jiang_pac_bayes_magnitude", (
        "pacbayes_mag_init", "pacbayes_mag_orig", "pacbayes_mag_flatness"), False),
    "steps_to_loss": (*_family("jiang_optimisation", ("epochs_to_loss_0.1",)), Statistic("epochs_to_loss_*")),
    "perturbation_response": _family("perturbation_response", (
        "gi_score_interclass_mixup", "pal_score_interclass_mixup", "gi_score_intraclass_mixup",
        "pal_score_intraclass_mixup"), False),
}


@pytest.fixture
def catalog():
    """The measure catalog :data:`CATALOG`."""
    return CATALOG


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""CREATE TABLE runs(run_id VARCHAR, experiment VARCHAR, seed BIGINT,
        dataset VARCHAR, arch VARCHAR, regulariser VARCHAR, config VARCHAR, axes VARCHAR,
        status VARCHAR, error VARCHAR, device VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, wall_s DOUBLE)""")
    con.execute("""CREATE TABLE metrics(run_id VARCHAR, epoch INTEGER, split VARCHAR,
        loss DOUBLE, accuracy DOUBLE)""")
    con.execute("""CREATE TABLE measures(run_id VARCHAR, epoch INTEGER, measure VARCHAR,
        layer VARCHAR, statistic VARCHAR, value DOUBLE, measure_key VARCHAR, version INTEGER)""")
    con.execute("""CREATE TABLE diagrams(run_id VARCHAR, epoch INTEGER, measure VARCHAR,
        layer VARCHAR, bootstrap INTEGER, dim INTEGER, birth DOUBLE, death DOUBLE)""")
    con.execute("""CREATE VIEW gaps AS
        SELECT run_id, epoch,
               max(accuracy) FILTER (WHERE split = 'train') AS train_accuracy,
               max(accuracy) FILTER (WHERE split = 'test') AS test_accuracy,
               max(accuracy) FILTER (WHERE split = 'train')
                 - max(accuracy) FILTER (WHERE split = 'test') AS gen_gap
        FROM metrics GROUP BY run_id, epoch""")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    if rows:
        frame = pl.from_dicts(rows)  # noqa: F841 (read by DuckDB's replacement scan)
        cols = ", ".join(rows[0])
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM frame")


def fill_store(con: duckdb.DuckDBPyConnection, n_runs: int = 40, seed: int = 0, *,
               constant_gap: bool = False, persistence: bool = False) -> None:
    """Create and fill the store tables on ``con`` (see module docstring)."""
    rng = np.random.default_rng(seed)
    _create_tables(con)
    runs, metrics, measures = [], [], []
    for i in range(n_runs):
        rid = f"run{i:03d}"
        depth = int(rng.integers(1, 4))
        runs.append({"run_id": rid, "experiment": "synthetic", "seed": i, "dataset": "mnist1d",
                         "arch": "mlp", "regulariser": "none",
                         "config": json.dumps({"seed": i}), "axes": json.dumps({"model.depth": depth}),
                         "status": "done"})
        cdnv = float(rng.uniform(0.0, 2.0))
        gap = INTERCEPT if constant_gap else INTERCEPT + SLOPE * cdnv + NOISE * rng.normal()
        test = 0.6 + 0.1 * float(rng.uniform())
        for epoch in range(1, LAST_EPOCH + 1):
            tr = test + gap if epoch == LAST_EPOCH else 0.5
            metrics += [{"run_id": rid, "epoch": epoch, "split": "train", "loss": 1.0, "accuracy": tr},
                        {"run_id": rid, "epoch": epoch, "split": "test", "loss": 1.0,
                             "accuracy": test if epoch == LAST_EPOCH else 0.5}]
        final = {"neural_collapse": dict(zip(NC_STATS, [cdnv, *rng.uniform(0.5, 1.0, 2)])),
                 "weight_spectrum": dict(zip(WEIGHT_STATS, rng.normal(5, 1, len(WEIGHT_STATS))))}
        if persistence:
            final["activation_persistence"] = dict(
                zip(PERSISTENCE_STATS, rng.uniform(0.1, 0.9, len(PERSISTENCE_STATS))))
        for measure, values in final.items():
            for stat, value in values.items():
                row = {"run_id": rid, "measure": measure, "statistic": stat}
                measures += [
                    dict(row, epoch=1, layer="all", value=-100.0, version=2,
                         measure_key=f"{measure}/{rid}/1"),
                    dict(row, epoch=LAST_EPOCH, layer="fc1", value=-200.0, version=2,
                         measure_key=f"{measure}/{rid}/{LAST_EPOCH}"),
                    dict(row, epoch=LAST_EPOCH, layer="all", value=-300.0, version=1,
                         measure_key=f"{measure}/{rid}/{LAST_EPOCH}/old"),
                    dict(row, epoch=LAST_EPOCH, layer="all", value=float(value), version=2,
                         measure_key=f"{measure}/{rid}/{LAST_EPOCH}"),
                ]
    runs += [{"run_id": "zfailed", "experiment": "synthetic", "seed": 998, "dataset": "mnist1d",
                  "arch": "mlp", "regulariser": "none", "config": "{}", "axes": "{}", "status": "failed"},
             {"run_id": "zrunning", "experiment": "synthetic", "seed": 999, "dataset": "mnist1d",
                  "arch": "mlp", "regulariser": "none", "config": "{}", "axes": "{}", "status": "running"}]
    metrics += [{"run_id": "zrunning", "epoch": 1, "split": s, "loss": 1.0, "accuracy": a}
                for s, a in (("train", 0.9), ("test", 0.1))]
    _insert(con, "runs", runs)
    _insert(con, "metrics", metrics)
    _insert(con, "measures", measures)


def connection_factory(fill):
    """Generator behind a store fixture: yields ``factory(**kwargs)``, which returns a new
    in-memory DuckDB connection filled by ``fill(con, **kwargs)``; closes them all after."""
    cons = []

    def factory(**kwargs) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        cons.append(con)
        fill(con, **kwargs)
        return con

    yield factory
    for con in cons:
        con.close()


@pytest.fixture
def make_store():
    """Factory: ``make_store(n_runs=40, seed=0, constant_gap=False, persistence=False)``
    returns an in-memory DuckDB connection holding a synthetic store."""
    yield from connection_factory(fill_store)


@pytest.fixture
def store(make_store):
    """A 40-run synthetic store."""
    return make_store()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The gap_regression report built once per module from a 40-run store.

    Returns a dict with ``con``, ``paths``, ``out_dir``, ``html`` and ``tex``.
    """
    from reports.render import build_report

    con = duckdb.connect()
    fill_store(con)
    out_dir = tmp_path_factory.mktemp("report")
    paths = build_report(con, ["gap_regression"], out_dir, title="Synthetic_study & co",
                         manifest_text=MANIFEST, catalog=CATALOG)
    yield {"con": con, "paths": paths, "out_dir": out_dir,
               "html": (out_dir / "gap_regression.html").read_text(encoding="utf-8"),
               "tex": (out_dir / "gap_regression.tex").read_text(encoding="utf-8")}
    con.close()


#: A manifest with characters that HTML and LaTeX must escape.
MANIFEST = """# study_1: gap ~ measures {tiny}
[sweep]
"model.depth" = [1, 2, 3]
"dataset.label_noise" = [0.0, 0.2]  # 20% & <more>
"""
