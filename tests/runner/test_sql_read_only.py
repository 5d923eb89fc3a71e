"""`runner sql` only reads: writing statements are refused by DuckDB's parser; a copied store reads its own files."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from runner.cli import main
from runner.readonly import ReadOnlyError, check_read_only
from runner.store import Store

RUN = "r0"


@pytest.fixture
def store(tmp_path, write):
    manifest = write("""
        [experiment]
        name = "ro"
        [dataset]
        name = "digits"
        [model]
        name = "mlp"
        """)
    root = tmp_path / "store"
    rows = [{"run_id": RUN, "epoch": 1, "split": s, "loss": 0.5, "accuracy": a}
            for s, a in (("train", 0.9), ("test", 0.7))]
    Store(root).run(RUN).write("metrics", rows)
    Store(root).connect().close()
    return manifest, root


def sql(manifest, root, query, *extra):
    return CliRunner().invoke(main, ["sql", str(manifest), query, "--store", str(root), "--format", "csv", *extra])


WRITES = [
    ("COPY (SELECT * FROM metrics WHERE false) TO '{shard}' (FORMAT parquet)", "COPY"),
    ("EXPORT DATABASE '{tmp}/export'", "EXPORT"),
    ("ATTACH '{tmp}/other.duckdb' AS other (READ_ONLY false)", "ATTACH"),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("INSERT INTO metrics VALUES ('x', 1, 'train', 0, 0, 0, 0)", "INSERT"),
    ("SET GLOBAL threads = 1", "SET"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD parquet", "LOAD"),
    ("SELECT 1; COPY (SELECT 1) TO '{shard}'", "COPY"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{shard}'", "COPY"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("DROP VIEW gaps", "DROP"),
]


@pytest.mark.parametrize("statement, kind", WRITES)
def test_writing_statements_are_refused_and_nothing_changes(store, tmp_path, statement, kind):
    manifest, root = store
    shard = root / "runs" / RUN / "metrics.parquet"
    before = shard.read_bytes()
    result = sql(manifest, root, statement.format(shard=shard, tmp=tmp_path))
    assert result.exit_code == 2, result.output
    assert f"is {kind}" in result.output and "refuses" in result.output
    assert shard.read_bytes() == before and pq.read_table(shard).num_rows == 2
    assert not (tmp_path / "export").exists() and not (tmp_path / "other.duckdb").exists()


@pytest.mark.parametrize("statement, first_line", [
    ("SELECT count(*) AS n FROM metrics", "n"),
    ("WITH g AS (SELECT * FROM gaps) SELECT round(gen_gap, 6) AS gap FROM g", "gap"),
    ("DESCRIBE metrics", "column_name,column_type,null,key,default,extra"),
    ("SUMMARIZE metrics", "column_name,column_type,min,max,approx_unique,avg,std,q25,q50,q75,count,null_percentage"),
    ("FROM gaps SELECT train_accuracy", "train_accuracy"),
])
def test_reading_statements_run(store, statement, first_line):
    manifest, root = store
    result = sql(manifest, root, statement)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == first_line


def test_reading_a_named_file_is_allowed(store, tmp_path):
    manifest, root = store
    (tmp_path / "extra.csv").write_text("a\n3\n4\n")
    result = sql(manifest, root, f"SELECT sum(a) AS s FROM read_csv('{tmp_path / 'extra.csv'}')")
    assert result.exit_code == 0 and result.output.splitlines() == ["s", "7"]


def test_explain_of_a_select_runs_and_the_parser_tells_the_inner_statement():
    assert len(check_read_only("EXPLAIN SELECT 1")) == 1
    assert len(check_read_only("EXPLAIN ANALYZE SELECT 1; SELECT 2")) == 2
    with pytest.raises(ReadOnlyError, match="statement 1 is COPY"):
        check_read_only("EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'")
    with pytest.raises(ReadOnlyError, match="empty"):
        check_read_only("  ")


def test_a_copied_store_reads_its_own_files(store, tmp_path):
    manifest, root = store
    copy = tmp_path / "moved"
    shutil.copytree(root, copy)
    shutil.rmtree(root)  # the original is gone: absolute view paths would now read nothing, or fail
    result = sql(manifest, copy, "SELECT epoch, round(gen_gap, 6) AS gap FROM gaps")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["epoch,gap", "1,0.2"]
