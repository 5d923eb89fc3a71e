"""The store's state never lies: merged checkpoints, the runs row before the state, no stale temporaries,
a locked database named, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.manifest import load_manifest
from runner.plan import make_plan
from runner.store import RunDir, Store
from runner.worker import RunWorker, run_task

MANIFEST = """
[experiment]
name = "truth"
seeds = [0]

[dataset]
name = "digits"

[model]
name = "mlp"
depth = 1
width = 8

[training]
epochs = 3
batch_size = 128
checkpoints = [{checkpoint}]
"""


def _manifest(tmp_path: Path, checkpoint: int, name: str) -> Path:
    path = tmp_path / name
    path.write_text(MANIFEST.format(checkpoint=checkpoint))
    return path


def _apply(manifest: Path, store: Store) -> None:
    for task in make_plan(load_manifest(manifest), store).tasks:
        run_task(task)


def test_checkpoints_of_two_manifests_are_merged_not_overwritten(tmp_path):
    store = Store(tmp_path / "store")
    a, b = _manifest(tmp_path, 1, "a.toml"), _manifest(tmp_path, 2, "b.toml")
    _apply(a, store)
    _apply(b, store)  # trains the same network again (checkpoint 2 is missing), keeping epoch 1's file
    (state,) = store.states().values()
    assert state["checkpoints"] == [1, 2, 3]
    assert make_plan(load_manifest(a), store).tasks == []
    assert make_plan(load_manifest(b), store).tasks == []


def test_the_runs_row_is_written_before_the_state_says_done(tmp_path, monkeypatch):
    # A kill between the two writes must never leave a state that claims more than the runs table holds.
    store = Store(tmp_path / "store")
    (task,) = make_plan(load_manifest(_manifest(tmp_path, 1, "a.toml")), store).tasks
    events = []
    write_table, write_state = RunDir.write_table, RunDir.write_state

    def spy_table(self, table, data, shard=None):
        if table == "runs":
            events.append(("runs", data.column("status")[0].as_py()))
        write_table(self, table, data, shard)

    def spy_state(self, state):
        events.append(("state", state.get("status"), state.get("trained")))
        write_state(self, state)

    monkeypatch.setattr(RunDir, "write_table", spy_table)
    monkeypatch.setattr(RunDir, "write_state", spy_state)
    run_task(task)
    first_trained_state = next(i for i, e in enumerate(events) if e[0] == "state" and e[2])
    assert events.index(("runs", "trained")) < first_trained_state
    assert events.index(("runs", "done")) < events.index(("state", "done", True))


def test_the_next_apply_removes_temporaries_of_dead_writers(tmp_path):
    store = Store(tmp_path / "store")
    manifest = _manifest(tmp_path, 1, "a.toml")
    _apply(manifest, store)
    run_dir = next((store.root / "runs").iterdir())
    dead = run_dir / ".metrics.parquet.tmp-999999999"
    live = run_dir / f".run.parquet.tmp-{os.getpid()}"
    dead.write_bytes(b"half a file")
    live.write_bytes(b"being written")
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "apply", str(manifest), "--store", str(store.root)],
                          capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr
    assert not dead.exists() and live.exists()


def test_report_on_a_database_held_open_names_the_holder(tmp_path):
    store = Store(tmp_path / "store")
    manifest = _manifest(tmp_path, 1, "a.toml")
    _apply(manifest, store)
    store.connect().close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(store.db_path)!r})
        print("holding", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        proc = subprocess.run([sys.executable, "-m", "runner.cli", "report", str(manifest), "--store", str(store.root),
                               "--kind", "layers", "--format", "html"], capture_output=True, text=True,
                              cwd=Path(__file__).parents[2], timeout=120)
    finally:
        holder.kill()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "held open by another process" in proc.stderr
    assert str(holder.pid) in proc.stderr  # DuckDB names the process that holds the lock
