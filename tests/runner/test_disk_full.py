"""A store on a full disk: a clean failure naming the store and the space, nothing lost, resume once space is freed.

Runs `runner apply` on a 1 MiB tmpfs in a private mount namespace (root and util-linux's unshare needed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                 reason="needs root and unshare to mount a private 1 MiB tmpfs")]

MANIFEST = """
[experiment]
name = "full"
seeds = [0, 1, 2, 3, 4, 5]

[dataset]
name = "digits"

[model]
name = "mlp"
depth = 1
width = 16

[training]
epochs = 2
batch_size = 128
checkpoints = [1]

[measurement]
train_samples = 200
test_samples = 100

[[measures]]
name = "weight_spectrum"
"""

CHECK = """
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from runner.store import Store
store = Store({store!r})
con = store.connect(read_only=True)
out = {{"runs_done": con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0],
        "metric_rows": con.execute("SELECT count(*) FROM metrics").fetchone()[0],
        "measure_rows": con.execute("SELECT count(*) FROM measures").fetchone()[0],
        "temporaries": [str(p) for p in Path({store!r}).rglob('.*tmp-*')]}}
Path({dest!r}).write_text(json.dumps(out))
"""


def test_a_full_disk_fails_cleanly_and_resume_finishes(tmp_path):
    repo, mnt, out = Path(__file__).parents[2], tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    manifest = out / "m.toml"
    manifest.write_text(MANIFEST)
    store = mnt / "store"
    py = sys.executable
    for name in ("first", "second"):
        (out / f"check_{name}.py").write_text(CHECK.format(repo=str(repo), store=str(store),
                                                          dest=str(out / f"{name}.json")))
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size=1m tmpfs {mnt}
        head -c 700000 /dev/zero > {mnt}/ballast
        cd {repo}
        {py} -m runner.cli apply {manifest} --store {store} --workers 1 > {out}/first.out 2> {out}/first.err
        echo $? > {out}/first.rc
        {py} {out}/check_first.py 2> {out}/check1.err
        rm {mnt}/ballast
        {py} -m runner.cli apply {manifest} --store {store} --workers 1 > {out}/second.out 2> {out}/second.err
        echo $? > {out}/second.rc
        {py} {out}/check_second.py 2> {out}/check2.err
    """)
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], check=True, timeout=600)
    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "1", first_err
    assert "Traceback (most recent call last)" not in first_err
    assert f"error: the store {store} ran out of disk space" in first_err and "MiB free" in first_err
    first = json.loads((out / "first.json").read_text())  # the database and the finished shards stay readable
    assert first["temporaries"] == [] and first["runs_done"] < 6
    assert (out / "second.rc").read_text().strip() == "0", (out / "second.err").read_text()
    assert "not compacted" not in (out / "second.err").read_text()
    second = json.loads((out / "second.json").read_text())
    assert second["runs_done"] == 6 and second["metric_rows"] == 6 * 3 * 3 and second["temporaries"] == []
    assert second["measure_rows"] > first["measure_rows"]
