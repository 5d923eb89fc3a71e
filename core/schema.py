"""The result store's schema: one Arrow schema per table, where its shards live, its views.

Read by the store (which writes the tables) and by the reports' SQL layer
(which names them as sources). Columns may be added, never renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def _schemas() -> dict[str, pa.Schema]:
    import pyarrow as pa

    return {
        "runs": pa.schema([
            ("run_id", pa.string()), ("experiment", pa.string()), ("seed", pa.int64()), ("dataset", pa.string()),
            ("arch", pa.string()), ("regulariser", pa.string()), ("config", pa.string()), ("axes", pa.string()),
            ("status", pa.string()), ("error", pa.string()), ("device", pa.string()),
            ("started_at", pa.timestamp("us")), ("finished_at", pa.timestamp("us")), ("wall_s", pa.float64()),
            ("best_epoch", pa.int32()), ("stopped_epoch", pa.int32()), ("notes", pa.string()),
        ]),
        "metrics": pa.schema([
            ("run_id", pa.string()), ("epoch", pa.int32()), ("split", pa.string()), ("loss", pa.float64()),
            ("accuracy", pa.float64()), ("regulariser", pa.float64()), ("lr", pa.float64()),
        ]),
        "measures": pa.schema([
            ("run_id", pa.string()), ("epoch", pa.int32()), ("measure", pa.string()), ("layer", pa.string()),
            ("statistic", pa.string()), ("value", pa.float64()), ("measure_key", pa.string()), ("version", pa.int32()),
        ]),
        "diagrams": pa.schema([
            ("run_id", pa.string()), ("epoch", pa.int32()), ("measure", pa.string()), ("layer", pa.string()),
            ("bootstrap", pa.int32()), ("dim", pa.int32()), ("birth", pa.float64()), ("death", pa.float64()),
        ]),
        "timings": pa.schema([
            ("run_id", pa.string()), ("epoch", pa.int32()), ("phase", pa.string()), ("name", pa.string()),
            ("seconds", pa.float64()), ("measured_at", pa.timestamp("us")), ("threads", pa.int32()),
        ]),
    }


def __getattr__(name: str):
    """``SCHEMAS`` (one Arrow schema per table) is built, importing pyarrow, when first asked for."""
    if name == "SCHEMAS":
        schemas = globals()["SCHEMAS"] = _schemas()
        return schemas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Where each table's shards live, relative to the store root.
GLOBS = {
    "runs": "runs/*/run.parquet",
    "metrics": "runs/*/metrics.parquet",
    "measures": "runs/*/measures/*.parquet",
    "diagrams": "runs/*/diagrams/*.parquet",
    "timings": "runs/*/timings/*.parquet",
}

GAPS_VIEW = """
CREATE OR REPLACE VIEW gaps AS
SELECT run_id, epoch,
       max(accuracy) FILTER (WHERE split = 'train') AS train_accuracy,
       max(accuracy) FILTER (WHERE split = 'test') AS test_accuracy,
       train_accuracy - test_accuracy AS gen_gap
FROM metrics GROUP BY run_id, epoch
"""

#: Views defined over the tables, by name.
VIEWS: dict[str, str] = {"gaps": GAPS_VIEW}
