"""The store: atomic files, views over an empty and a filled store, the gaps view."""

import pyarrow.parquet as pq
import pytest

from runner.store import SCHEMAS, Store, to_table


def test_empty_store_has_typed_empty_views(tmp_path):
    con = Store(tmp_path).connect()
    for name in ("runs", "metrics", "measures", "diagrams", "timings", "gaps"):
        assert con.sql(f"SELECT count(*) FROM {name}").fetchall()[0] == (0,)
    cols = [c for c, *_ in con.sql("DESCRIBE measures").fetchall()]
    assert cols == [f.name for f in SCHEMAS["measures"]]


def test_rows_written_atomically_and_read_back(tmp_path):
    store = Store(tmp_path)
    run = store.run("abc")
    rows = [{"run_id": "abc", "epoch": e, "split": s, "loss": 1.0, "accuracy": acc}
            for e, accs in ((0, (0.1, 0.2)), (5, (0.9, 0.7))) for s, acc in zip(("train", "test"), accs)]
    run.write("metrics", rows)
    assert [p.name for p in run.path.iterdir()] == ["metrics.parquet"]
    back = pq.read_table(run.path / "metrics.parquet")
    assert back.schema == SCHEMAS["metrics"]
    assert back.to_pylist() == [{**r, "regulariser": None, "lr": None} for r in rows]
    con = store.connect()
    got = con.sql("SELECT epoch, round(gen_gap, 6) FROM gaps ORDER BY epoch").fetchall()
    assert got == [(0, -0.1), (5, 0.2)]


def test_read_only_connection_needs_a_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="runner apply"):
        Store(tmp_path / "nothing").connect(read_only=True)


def test_to_table_fills_missing_columns_with_nulls():
    t = to_table("runs", [{"run_id": "x", "seed": 3}])
    assert t.column("status").to_pylist() == [None] and t.column("seed").to_pylist() == [3]


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 100])
def test_an_unreadable_database_file_is_rebuilt_from_the_shards(tmp_path, content, capsys):
    # A full disk can cut the DuckDB file short (0 bytes); it holds only views, so it is rebuilt.
    store = Store(tmp_path)
    store.run("abc").write("metrics", [{"run_id": "abc", "epoch": 1, "split": s, "loss": 1.0, "accuracy": a}
                                       for s, a in (("train", 0.8), ("test", 0.5))])
    store.db_path.write_bytes(content)
    con = store.connect()
    assert con.sql("SELECT round(gen_gap, 6) FROM gaps").fetchall() == [(0.3,)]
    assert len(list(tmp_path.glob("genlab.duckdb.unreadable-*"))) == 1
    assert "rebuilt the views" in capsys.readouterr().err
