"""The result store: Parquet files per run (the source of truth) and a DuckDB file of views.

Layout under the store root::

    genlab.duckdb                     views over the Parquet files, report tables
    runs/<run_id>/state.json          what is done (read by the plan)
    runs/<run_id>/run.parquet         one row of the ``runs`` table
    runs/<run_id>/metrics.parquet     loss and accuracy per epoch and split
    runs/<run_id>/checkpoints/epoch_0040.pt
    runs/<run_id>/measures/e0040-<measure>.parquet    one file per measurement
    runs/<run_id>/diagrams/e0040-<measure>.parquet
    runs/<run_id>/timings/<phase>.parquet

Every file is written to a temporary name and renamed, so a crash never leaves
a half-written file, and a measurement always rewrites the same file, so a
recomputation never leaves duplicate rows. Workers write only their own run's
directory; the coordinator alone writes the DuckDB file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import schema as store_schema
from core.schema import GAPS_VIEW, GLOBS  # noqa: F401  (the store's schema lives in core)
from runner import files
from runner.compaction import read_compacted, view_sql
from runner.rows import table as schema_table

if TYPE_CHECKING:
    import pyarrow as pa


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as Parquet: temporary file, fsync, rename, fsync of the folder."""
    files.write_parquet(table, path)


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write ``obj`` as JSON to ``path``: temporary file, fsync, rename, fsync of the folder."""
    files.write_json(obj, path)


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts) of the core table ``name`` as an Arrow table with its fixed schema."""
    columns = {f.name: [r.get(f.name) for r in rows] for f in store_schema.SCHEMAS[name]}
    return schema_table(name, columns, len(rows))


class RunDir:
    """Files of one run. Only the worker that owns the run writes here."""

    def __init__(self, root: Path, run_id: str):
        self.run_id = run_id
        self.path = Path(root) / "runs" / run_id

    def state(self) -> dict:
        """What is done: ``{"trained": bool, "checkpoints": [...], "measurements": {...}, ...}``."""
        f = self.path / "state.json"
        return json.loads(f.read_text()) if f.exists() else {}

    def write_state(self, state: dict) -> None:
        """Write the run's ``state.json`` atomically."""
        write_json_atomic(state, self.path / "state.json")

    def checkpoint_path(self, epoch: int) -> Path:
        """Where the weights of ``epoch`` are saved."""
        return self.path / "checkpoints" / f"epoch_{epoch:04d}.pt"

    def save_checkpoint(self, epoch: int, state_dict: dict) -> None:
        """Save the weights of ``epoch`` (CPU tensors, written atomically)."""
        import torch

        files.write_via(self.checkpoint_path(epoch), lambda tmp: torch.save(state_dict, tmp))

    def load_checkpoint(self, epoch: int) -> dict:
        """The state dict saved at ``epoch``, loaded with ``weights_only=True``."""
        import torch

        return torch.load(self.checkpoint_path(epoch), map_location="cpu", weights_only=True)

    def table_path(self, table: str, shard: str | None = None) -> Path:
        """Where rows of a core table go: ``run.parquet``/``metrics.parquet``, or ``<table>/<shard>.parquet``."""
        if table == "runs":
            return self.path / "run.parquet"
        if table == "metrics":
            return self.path / "metrics.parquet"
        return self.path / table / f"{shard}.parquet"

    def write_table(self, table: str, data: pa.Table, shard: str | None = None) -> None:
        """Write the Arrow table ``data`` of the core table ``table`` (a shard of it where it has shards)."""
        write_atomic(data, self.table_path(table, shard))

    def write(self, table: str, rows: list[dict], shard: str | None = None) -> None:
        """Write rows (dicts) of a core table; see :meth:`write_table`."""
        self.write_table(table, to_table(table, rows), shard)

    def read_table(self, table: str, shard: str | None = None) -> pa.Table:
        """Read back rows of a core table that an earlier process wrote (from its shard, or compacted).

        Raises
        ------
        FileNotFoundError
            If neither the shard nor a compacted part holds them.
        """
        import pyarrow.parquet as pq

        path = self.table_path(table, shard)
        if path.exists():
            return pq.read_table(path)
        found = read_compacted(self.path.parents[1], table, self.run_id, shard or "")
        if found is None:
            raise FileNotFoundError(f"no {table} rows of run {self.run_id} in the store (expected {path})")
        return found


class Store:
    """The store root: run directories and the DuckDB file over them."""

    DB_NAME = "genlab.duckdb"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def db_path(self) -> Path:
        """The DuckDB file beside the Parquet shards."""
        return self.root / self.DB_NAME

    def run(self, run_id: str) -> RunDir:
        """The files of run ``run_id``."""
        return RunDir(self.root, run_id)

    def states(self) -> dict[str, dict]:
        """``{run_id: state}`` of every run directory in the store."""
        runs = self.root / "runs"
        if not runs.is_dir():
            return {}
        return {d.name: RunDir(self.root, d.name).state() for d in sorted(runs.iterdir()) if d.is_dir()}

    def require(self) -> None:
        """Raise ``FileNotFoundError`` (saying to run ``runner apply``) when the store has no database yet."""
        if not self.db_path.exists():
            raise FileNotFoundError(f"no result store at {self.root} (expected {self.db_path}); "
                                    "run `runner apply MANIFEST` first")

    def connect(self, read_only: bool = False):
        """Open the DuckDB file. The writable connection (coordinator only) refreshes the views.

        Raises
        ------
        FileNotFoundError
            If ``read_only`` and the store has no database yet.
        """
        import duckdb

        if read_only:
            self.require()
            try:
                con = duckdb.connect(str(self.db_path), read_only=True)
            except duckdb.IOException as exc:
                if "not a valid duckdb database" not in str(exc).lower():
                    raise
                return self._in_memory()
            self._search_here(con)
            return con
        self.root.mkdir(parents=True, exist_ok=True)
        con = _connect_writable(self.db_path)
        self._search_here(con)
        self.refresh_views(con)
        return con

    def _in_memory(self):
        """Views over the Parquet files in an in-memory database: reading survives an unreadable database file
        (a write cut short by a full disk) until the next writable connection rebuilds it."""
        import duckdb

        print(f"warning: {self.db_path} is not a readable DuckDB file (a write cut short?); reading the Parquet "
              "files directly (report tables are missing until the next `runner apply` rebuilds it)",
              file=sys.stderr)
        con = duckdb.connect()
        self._search_here(con)
        self.refresh_views(con, write_empty=False)
        return con

    def _search_here(self, con) -> None:
        """Resolve relative file paths (the views' shards) against the store root, wherever it now lives."""
        con.execute(f"SET file_search_path = '{_sql_str(str(self.root.resolve()))}'")

    def refresh_views(self, con, write_empty: bool = True) -> None:
        """(Re)create a view per core table over its Parquet shards, and the ``gaps`` view.

        Views name their files relative to the store root (``file_search_path``
        is set to it on every connection), so a moved or copied store reads its
        own files. Another DuckDB client opening ``genlab.duckdb`` runs
        ``SET file_search_path = '<store>'`` first (or starts in the store).
        """
        import pyarrow.parquet as pq

        for name in GLOBS:
            empty = self.root / "_empty" / f"{name}.parquet"
            if write_empty and (not empty.exists() or pq.read_schema(empty) != store_schema.SCHEMAS[name]):
                write_atomic(to_table(name, []), empty)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {view_sql(self.root, name)}")
        con.execute(GAPS_VIEW)


def _connect_writable(path: Path, attempts: int = 20, wait_s: float = 0.25):
    """Open the DuckDB file for writing, waiting a little while another process holds it.

    Raises
    ------
    OSError
        Naming the file and what to do when it stays locked (a ``runner sql``
        session or another program holds it open).
    """
    import duckdb

    for attempt in range(attempts):
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "not a valid duckdb database" in str(exc).lower():
                return _rebuilt(path)
            if "lock" not in str(exc).lower():
                raise
            if attempt == attempts - 1:
                raise OSError(f"the result database {path} is held open by another process ({exc}); "
                              "close it (e.g. a `runner sql` session) and run the command again. "
                              "The Parquet files hold every result; nothing was lost.") from None
            time.sleep(wait_s)
    raise AssertionError("unreachable")


def _rebuilt(path: Path):
    """A fresh database in place of an unreadable one (a write cut short by a full disk).

    The file holds only views over the Parquet shards (the source of truth) and
    report tables that `runner report` rebuilds, so nothing is lost; the old
    file is kept beside it as ``genlab.duckdb.unreadable-<time>`` for inspection.
    """
    import duckdb

    aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
    os.replace(path, aside)
    for wal in (path.with_name(path.name + ".wal"),):
        if wal.exists():
            os.replace(wal, aside.with_name(aside.name + ".wal"))
    print(f"warning: {path} was not a readable DuckDB file (a write cut short?); moved it to {aside.name} "
          "and rebuilt the views from the Parquet files", file=sys.stderr)
    return duckdb.connect(str(path))


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def __getattr__(name: str):
    """``SCHEMAS``, re-exported from :mod:`core.schema` when first asked for (it imports pyarrow)."""
    if name == "SCHEMAS":
        return store_schema.SCHEMAS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
