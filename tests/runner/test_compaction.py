"""Compaction: same rows before and after, a rewritten shard wins, crash at any step loses and duplicates nothing."""

from __future__ import annotations

import shutil

import pytest

from runner import compaction, files
from runner.compaction import MAX_PARTS, compact, read_index
from runner.leases import claim, owner
from runner.store import Store

QUERIES = {
    "metrics": "SELECT * FROM metrics ORDER BY ALL",
    "measures": "SELECT * FROM measures ORDER BY ALL",
    "diagrams": "SELECT * FROM diagrams ORDER BY ALL",
    "timings": "SELECT run_id, epoch, phase, name, seconds FROM timings ORDER BY ALL",
    "runs": "SELECT run_id, seed, status FROM runs ORDER BY ALL",
    "gaps": "SELECT * FROM gaps ORDER BY ALL",
}


def _fill(store: Store, run_id: str, seed: int, value: float = 1.0) -> None:
    run = store.run(run_id)
    run.write("runs", [{"run_id": run_id, "seed": seed, "status": "done"}])
    run.write("metrics", [{"run_id": run_id, "epoch": e, "split": s, "loss": 1.0 / (e + 1), "accuracy": a + seed / 100}
                          for e in (1, 2) for s, a in (("train", 0.9), ("test", 0.7))])
    for epoch in (1, 2):
        shard = f"e{epoch:04d}-m"
        run.write("measures", [{"run_id": run_id, "epoch": epoch, "measure": "m", "layer": "all", "statistic": st,
                                "value": value * (i + seed + epoch), "measure_key": "k", "version": 1}
                               for i, st in enumerate(("a", "b"))], shard)
        run.write("diagrams", [{"run_id": run_id, "epoch": epoch, "measure": "m", "layer": "all", "bootstrap": 0,
                                "dim": 0, "birth": 0.0, "death": value}], shard)
        run.write("timings", [{"run_id": run_id, "epoch": epoch, "phase": "measure", "name": "m", "seconds": 0.5}],
                  shard)


def _tables(store: Store) -> dict:
    con = store.connect()
    try:
        return {name: con.sql(q).fetchall() for name, q in QUERIES.items()}
    finally:
        con.close()


def _loose(store: Store) -> list:
    return sorted(p for p in (store.root / "runs").rglob("*.parquet"))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for i in range(3):
        _fill(s, f"r{i}", i)
    return s


def test_compaction_keeps_every_row_and_removes_the_shards(store):
    before = _tables(store)
    done = compact(store.root)
    assert done.generation == 1 and done.runs == 3 and done.shards == 3 * 8
    assert done.rows == {"runs": 3, "metrics": 12, "measures": 12, "diagrams": 6, "timings": 6}
    assert _loose(store) == []
    assert sorted(read_index(store.root)["parts"]) == ["diagrams", "measures", "metrics", "runs", "timings"]
    assert _tables(store) == before


def test_a_shard_rewritten_after_compaction_wins_and_is_counted_once(store):
    compact(store.root)
    _fill(store, "r1", 1, value=10.0)  # recomputed: every shard of r1 rewritten with new values
    expected = _tables(store)
    assert [r for r in expected["measures"] if r[0] == "r1"][0][5] == 10.0 * 2
    assert len(expected["measures"]) == 12 and len(expected["runs"]) == 3
    compact(store.root)  # the new shards overlap the first part: the parts are merged
    assert _tables(store) == expected
    assert all(len(p) == 1 for p in read_index(store.root)["parts"].values())


def test_a_crash_before_the_index_is_written_changes_nothing(store, monkeypatch):
    before, shards = _tables(store), _loose(store)

    def crash(obj, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_json", crash)
    with pytest.raises(OSError):
        compact(store.root)
    monkeypatch.undo()
    assert _loose(store) == shards and read_index(store.root)["generation"] == 0
    assert _tables(store) == before
    assert not list((store.root / "compacted").rglob(".*tmp-*"))
    compact(store.root)  # the next compaction removes the unlisted parts of the crashed one
    assert _tables(store) == before
    assert len(list((store.root / "compacted").glob("*/*.parquet"))) == 5


def test_a_crash_after_the_index_before_removing_shards_counts_nothing_twice(store, monkeypatch):
    before = _tables(store)
    monkeypatch.setattr(compaction, "_remove_if_unchanged", lambda path, st: None)
    compact(store.root)
    assert len(_loose(store)) == 24  # every shard is also in a part
    assert _tables(store) == before


def test_runs_a_worker_holds_stay_loose(store):
    lease = claim(store.root / "runs" / "r2", owner())
    done = compact(store.root, busy={"r0"})
    loose_runs = {p.relative_to(store.root / "runs").parts[0] for p in _loose(store)}
    assert done.runs == 1 and loose_runs == {"r0", "r2"}
    lease.release()


def test_many_compactions_are_merged_into_one_part(store):
    for i in range(MAX_PARTS + 1):
        _fill(store, f"n{i}", 10 + i)
        compact(store.root)
    parts = read_index(store.root)["parts"]["measures"]
    assert len(parts) <= MAX_PARTS
    assert len(_tables(store)["runs"]) == 3 + MAX_PARTS + 1


def test_a_copied_compacted_store_reads_its_own_parts(store, tmp_path):
    compact(store.root)
    before = _tables(store)
    shutil.copytree(store.root, tmp_path / "copy")
    shutil.rmtree(store.root)
    assert _tables(Store(tmp_path / "copy")) == before


def test_a_run_reads_back_its_compacted_rows(store):
    before = store.run("r1").read_table("metrics")
    compact(store.root)
    assert not store.run("r1").table_path("metrics").exists()
    after = store.run("r1").read_table("metrics")
    assert after.sort_by([("epoch", "ascending"), ("split", "ascending")]).equals(
        before.sort_by([("epoch", "ascending"), ("split", "ascending")]))
    with pytest.raises(FileNotFoundError, match="no metrics rows of run nope"):
        store.run("nope").read_table("metrics")
