"""Compaction: many small per-run shards folded into few large sorted Parquet parts per table.

Workers write one small file per run and measurement (35 per quickstart run);
at 10^4 runs a query would open 350,000 files. Compaction copies the shards of
runs that no worker holds into one new *part* per table under
``compacted/<table>/part-<generation>.parquet``, sorted so that DuckDB skips the
row groups a query filters out (measures by measure, statistic, run), with a
``_shard`` column naming the shard each row came from.

Crash-safe at every step, under one writer lock (a lease on ``compacted/``):

1. new parts are written to temporary names, fsynced and renamed;
2. ``compacted/index.json`` (written atomically) lists the parts of the new
   generation: this is the commit point, and views read only listed parts;
3. the compacted shards are removed (each only if unchanged since it was read),
   then parts no index lists (a crash before step 2, a merge) are removed.

A crash before step 2 leaves the old index and every shard: nothing changed.
A crash after it leaves shards that are also in a part: the views prefer a
shard over the part rows of the same run and shard (:func:`view_sql`), so no
row is ever counted twice, and a shard rewritten after compaction (a stale
measure recomputed) supersedes its compacted rows the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core import schema as store_schema
from core.schema import GLOBS
from runner import files
from runner.leases import claim, owner

INDEX = "compacted/index.json"
#: More parts than this per table and the next compaction merges them into one.
MAX_PARTS = 8
#: Rows per Parquet row group (DuckDB's own vector-aligned default): the unit DuckDB skips.
ROW_GROUP = 122_880
#: Sort order of each table's parts: the columns queries filter on first.
SORT = {
    "runs": ("run_id",),
    "metrics": ("run_id", "epoch", "split"),
    "measures": ("measure", "statistic", "run_id", "epoch", "layer"),
    "diagrams": ("measure", "run_id", "epoch", "layer", "bootstrap", "dim"),
    "timings": ("run_id", "epoch", "phase", "name"),
}
#: Regular expression of a shard's file name: group 1 the run, group 2 the shard ('' for one file per run).
SHARD_RE = {
    "runs": r"([^/\\]+)[/\\]run()\.parquet$",
    "metrics": r"([^/\\]+)[/\\]metrics()\.parquet$",
    **{t: rf"([^/\\]+)[/\\]{t}[/\\]([^/\\]+)\.parquet$" for t in ("measures", "diagrams", "timings")},
}


@dataclass
class Compaction:
    """What one compaction did."""

    generation: int = 0
    runs: int = 0
    shards: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    skipped: str = ""


def read_index(root: Path) -> dict:
    """The committed index: ``{"generation": G, "parts": {table: [relative paths]}}`` (empty when none)."""
    try:
        return json.loads((root / INDEX).read_text())
    except FileNotFoundError:
        return {"generation": 0, "parts": {}}


def shard_key(table: str, path: Path) -> tuple[str, str]:
    """``(run_id, shard)`` of a shard file, as :data:`SHARD_RE` reads it in SQL."""
    if table in ("runs", "metrics"):
        return path.parent.name, ""
    return path.parent.parent.name, path.stem


def compact(root: Path, busy: set[str] = frozenset()) -> Compaction:
    """Fold the shards of every run not in ``busy`` (and holding no lease) into new parts.

    Parameters
    ----------
    root : Path
        The store root.
    busy : set of str
        Runs a worker may still write (their shards stay loose).

    Returns
    -------
    Compaction
        ``skipped`` says why nothing was done (another compaction holds the lock).
    """
    lock = claim(root / "compacted", owner("compact"), timeout_s=900)
    if lock is None:
        return Compaction(skipped="another compaction holds the store's compaction lock")
    lock.start_heartbeat()
    try:
        return _compact_locked(root, busy)
    finally:
        lock.release()


def _compact_locked(root: Path, busy: set[str]) -> Compaction:
    import duckdb

    index = read_index(root)
    generation = index["generation"] + 1
    runs = [d for d in sorted((root / "runs").glob("*")) if d.is_dir() and not d.name.startswith("_")
            and d.name not in busy and not (d / "lease.json").exists()]
    result, parts, done = Compaction(generation), {t: list(index["parts"].get(t, [])) for t in store_schema.SCHEMAS}, []
    con = duckdb.connect()
    for table, pattern in GLOBS.items():
        rel = pattern.split("/", 2)[2]  # "run.parquet", "measures/*.parquet", ...
        shards = [f for d in runs for f in sorted(d.glob(rel))]
        if not shards:
            continue
        stamps = [(f, f.stat()) for f in shards]
        merge = len(parts[table]) + 1 > MAX_PARTS or _overlaps(con, root, table, parts[table], shards)
        new = f"compacted/{table}/part-{generation:06d}.parquet"
        result.rows[table] = _write_part(con, root, table, shards, [root / p for p in parts[table]] if merge else [],
                                         root / new)
        parts[table] = [new] if merge else [*parts[table], new]
        done += [(f, st, shard_key(table, f)[0]) for f, st in stamps]
    con.close()
    if not done:
        return result
    files.write_json({"generation": generation, "parts": parts}, root / INDEX)  # the commit point
    for f, st, _ in done:
        _remove_if_unchanged(f, st)
    _remove_unlisted_parts(root, parts)
    result.runs, result.shards = len({run for _, _, run in done}), len(done)
    return result


def _overlaps(con, root: Path, table: str, parts: list[str], shards: list[Path]) -> bool:
    """True when a part already holds rows of one of ``shards`` (a shard rewritten since):
    the new part must then replace the old ones (a merge), or those rows would be stored twice."""
    if not parts:
        return False
    keys = {shard_key(table, f) for f in shards}
    held = con.execute("SELECT DISTINCT run_id, _shard FROM read_parquet($p) WHERE list_contains($runs, run_id)",
                       {"p": [str(root / p) for p in parts], "runs": sorted({r for r, _ in keys})}).fetchall()
    return any(tuple(k) in keys for k in held)


def _write_part(con, root: Path, table: str, shards: list[Path], old_parts: list[Path], dest: Path) -> int:
    """Write the rows of ``shards`` (and of ``old_parts`` when merging, a shard's rows winning) to ``dest``."""
    cols = ", ".join(f'"{c}"' for c in store_schema.SCHEMAS[table].names)
    loose = (f"SELECT {cols}, regexp_extract(filename, $re, 1) AS _run, regexp_extract(filename, $re, 2) AS _shard "
             f"FROM read_parquet($files, union_by_name = true, filename = true)")
    query = f"SELECT {cols}, _shard FROM ({loose})"
    params = {"files": [str(f) for f in shards], "re": SHARD_RE[table]}
    if old_parts:
        query += (f" UNION ALL SELECT {cols}, _shard FROM read_parquet($parts) p WHERE NOT EXISTS "
                  f"(SELECT 1 FROM ({loose}) l WHERE l._run = p.run_id AND l._shard = p._shard)")
        params["parts"] = [str(p) for p in old_parts]
    order = ", ".join(f'"{c}"' for c in SORT[table])
    dest.parent.mkdir(parents=True, exist_ok=True)
    files.write_via(dest, lambda tmp: con.execute(
        f"COPY ({query} ORDER BY {order}) TO '{_sql_str(str(tmp))}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})",
        params))
    return int(con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(dest)}).fetchone()[0])


def read_compacted(root: Path, table: str, run_id: str, shard: str):
    """The rows of one run's shard from the compacted parts, as an Arrow table, or None when none hold it."""
    import duckdb

    parts = [str(root / p) for p in read_index(root)["parts"].get(table, [])]
    if not parts:
        return None
    cols = ", ".join(f'"{c}"' for c in store_schema.SCHEMAS[table].names)
    with duckdb.connect() as con:
        found = con.sql(f"SELECT {cols} FROM read_parquet($p) WHERE run_id = $r AND _shard = $s",
                        params={"p": parts, "r": run_id, "s": shard}).to_arrow_table()
    return found.cast(store_schema.SCHEMAS[table]) if found.num_rows else None


def view_sql(root: Path, table: str) -> str:
    """The ``SELECT`` of a table's view: compacted parts (fixed schema) plus loose shards, a shard winning.

    Paths are relative to the store root (the connection's ``file_search_path``).
    """
    cols = ", ".join(f'"{c}"' for c in store_schema.SCHEMAS[table].names)
    shards = f"['_empty/{table}.parquet', '{GLOBS[table]}']"
    loose = f"read_parquet({shards}, union_by_name = true, allow_empty = true, filename = true)"
    parts = read_index(root)["parts"].get(table, [])
    if not parts:
        return f"SELECT {cols} FROM {loose}"
    regex = SHARD_RE[table].replace("'", "''")
    part_list = "[" + ", ".join(f"'{_sql_str(p)}'" for p in parts) + "]"
    return (f"WITH loose AS (SELECT {cols}, regexp_extract(filename, '{regex}', 1) AS _run, "
            f"regexp_extract(filename, '{regex}', 2) AS _shard FROM {loose}) "
            f"SELECT {cols} FROM read_parquet({part_list}) p "
            f"WHERE NOT EXISTS (SELECT 1 FROM loose l WHERE l._run = p.run_id AND l._shard = p._shard) "
            f"UNION ALL SELECT {cols} FROM loose")


def _remove_if_unchanged(path: Path, before: os.stat_result) -> None:
    try:
        now = path.stat()
    except FileNotFoundError:
        return
    if (now.st_mtime_ns, now.st_size, now.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino):
        path.unlink(missing_ok=True)


def _remove_unlisted_parts(root: Path, parts: dict[str, list[str]]) -> None:
    listed = {root / p for ps in parts.values() for p in ps}
    for f in (root / "compacted").glob("*/*.parquet"):
        if f not in listed:
            f.unlink(missing_ok=True)
    for f in (root / "compacted").glob("*/.*.tmp-*"):
        f.unlink(missing_ok=True)


def _sql_str(s: str) -> str:
    return s.replace("'", "''")
