"""The synthetic store of conftest, with what the training_dynamics, layers and persistence reports read.

On top of :func:`tests.reports.conftest.fill_store` (persistence statistics on):

- measure values at epoch 2 on layer 'all' (every statistic; the conftest has
  epoch 1 at -100 and epoch 3 at the final values);
- per-layer ``neural_collapse`` rows (cdnv, ncc_accuracy_train/test) on layers
  fc1 .. fc<depth> and output, with a stale version and an earlier epoch as traps;
- ``activation_persistence`` diagrams at epoch 3 (two bootstrap draws, H0 with
  one infinite death, H1 finite), and an earlier epoch as a trap.

All values are random but stored, so tests recompute their references from the
rows with :func:`rows`.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import polars as pl

from tests.reports.conftest import LAST_EPOCH, _insert, connection_factory, fill_store

NC_LAYER_STATS = ("cdnv", "ncc_accuracy_train", "ncc_accuracy_test")


def _layer_rows(rid: str, depth: int, rng: np.random.Generator) -> list[dict]:
    names = [f"fc{i}" for i in range(1, depth + 1)] + ["output"]
    out = []
    for idx, layer in enumerate(names, start=1):
        for stat in NC_LAYER_STATS:
            value = float(rng.uniform(0, 1))
            value = (value + idx) / (depth + 2) if stat.startswith("ncc") else value / idx
            row = {"run_id": rid, "measure": "neural_collapse", "layer": layer, "statistic": stat}
            out += [dict(row, epoch=LAST_EPOCH, value=value, version=2, measure_key=f"nc/{rid}"),
                    dict(row, epoch=LAST_EPOCH, value=-50.0, version=1, measure_key=f"nc/{rid}/old"),
                    dict(row, epoch=1, value=-60.0, version=2, measure_key=f"nc/{rid}/1")]
    return out


def _diagram_rows(rid: str, rng: np.random.Generator) -> list[dict]:
    out = []
    for boot in (0, 1):
        row = {"run_id": rid, "epoch": LAST_EPOCH, "measure": "activation_persistence", "layer": "all",
               "bootstrap": boot}
        n0, n1 = int(rng.integers(3, 7)), int(rng.integers(0, 4))
        deaths = np.round(rng.uniform(0.05, 0.9, n0), 2)
        out += [dict(row, dim=0, birth=0.0, death=float(d)) for d in deaths]
        out.append(dict(row, dim=0, birth=0.0, death=float("inf")))
        for _ in range(n1):
            b = round(float(rng.uniform(0.1, 0.6)), 2)
            out.append(dict(row, dim=1, birth=b, death=round(b + float(rng.uniform(0.01, 0.3)), 2)))
        out.append(dict(row, epoch=1, dim=1, birth=0.0, death=5.0))
    return out


def fill_kinds_store(con: duckdb.DuckDBPyConnection, n_runs: int = 24, seed: int = 0) -> None:
    """Fill ``con`` with the conftest store and the rows of the module docstring."""
    fill_store(con, n_runs=n_runs, seed=seed, persistence=True)
    rng = np.random.default_rng(seed + 1)
    final = con.execute("SELECT run_id, measure, statistic FROM measures WHERE epoch = ? AND layer = 'all' "
                        "AND version = 2 ORDER BY ALL", [LAST_EPOCH]).fetchall()
    mid = [{"run_id": r, "epoch": 2, "measure": m, "layer": "all", "statistic": s, "value": float(rng.normal()),
            "version": 2, "measure_key": f"{m}/{r}/2"} for r, m, s in final]
    layers, diagrams = [], []
    for rid, axes in con.execute("SELECT run_id, axes FROM runs WHERE status = 'done' ORDER BY run_id").fetchall():
        layers += _layer_rows(rid, json.loads(axes)["model.depth"], rng)
        diagrams += _diagram_rows(rid, rng)
    _insert(con, "measures", mid + layers)
    _insert(con, "diagrams", diagrams)


def rows(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """Every row of a store table, as polars (references are computed from these)."""
    return con.sql(f"SELECT * FROM {table}").pl()


def store_factory():
    """Generator behind a test module's ``kinds_store`` fixture: yields the factory
    ``kinds_store(n_runs=24, seed=0)`` of in-memory stores (module docstring), then closes them."""
    yield from connection_factory(fill_kinds_store)


def one_store():
    """Generator behind a module-scoped ``store`` fixture: one store of the default size, closed after."""
    for factory in store_factory():
        yield factory()


def report_kinds() -> list[str]:
    """Every registered report kind, in list order."""
    from reports.kinds import list_kinds

    return list_kinds()


def build_kind(con: duckdb.DuckDBPyConnection, kind: str):
    """The document of report kind ``kind`` on ``con``, with its default options and the test catalog."""
    from reports.kinds import get_kind
    from tests.reports.conftest import CATALOG

    return get_kind(kind).build(con, None, CATALOG)
