"""A killed or terminated `runner apply` leaves no worker behind, and nothing is written after it is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MANIFEST = """
[experiment]
name = "orphans"
seeds = [0, 1, 2, 3]

[dataset]
name = "digits"

[model]
name = "mlp"
depth = 2
width = 256

[training]
epochs = 400
batch_size = 16
checkpoints = [1, 2, 3, 4, 5, 6, 7, 8]
"""


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out.update(kids)
            todo.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie no longer runs, it only waits to be reaped


def _newest_mtime(root: Path) -> float:
    return max((p.stat().st_mtime for p in root.rglob("*") if p.is_file()), default=0.0)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_worker_outlives_the_coordinator(tmp_path, sig):
    manifest, store = tmp_path / "m.toml", tmp_path / "store"
    manifest.write_text(MANIFEST)
    coordinator = subprocess.Popen([sys.executable, "-m", "runner.cli", "apply", str(manifest), "--store", str(store),
                                    "--workers", "2"], cwd=Path(__file__).parents[2], start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(store.glob("runs/*/run.parquet"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # until both workers have started a run (its row is written first)
        assert len(list(store.glob("runs/*/run.parquet"))) >= 2, "the workers did not start"
        time.sleep(2.0)  # mid-training
        workers = _descendants(coordinator.pid)
        assert len(workers) >= 2
        coordinator.send_signal(sig)
        code = coordinator.wait(30)
        gone_at = time.time()
        assert code == (143 if sig == signal.SIGTERM else -signal.SIGKILL)
        time.sleep(2.0)
        assert [p for p in workers if _alive(p)] == []
        time.sleep(1.0)
        assert _newest_mtime(store) <= gone_at + 0.01, "a file was written after the coordinator was gone"
    finally:
        try:
            os.killpg(coordinator.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
