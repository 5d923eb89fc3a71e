"""Benchmark: the quickstart end to end, with per-phase times from the store.

Usage: ``python bench/quickstart.py [--store DIR] [--workers N]``. Trains and
measures ``manifests/quickstart.toml`` into a fresh store and prints one JSON
line: wall time, and the summed seconds of training, of each provider and of
each measure (from the ``timings`` table), plus the number of runs and rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None, help="store directory (default: a fresh temporary one)")
    ap.add_argument("--workers", default=None)
    ap.add_argument("--manifest", default=str(ROOT / "manifests" / "quickstart.toml"))
    args = ap.parse_args()
    store = args.store or tempfile.mkdtemp(prefix="genlab-bench-")
    cmd = [sys.executable, "-m", "runner.cli", "apply", args.manifest, "--store", store]
    if args.workers:
        cmd += ["--workers", args.workers]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start

    from runner.store import Store

    con = Store(store).connect(read_only=True)
    phases = con.sql("SELECT phase || ':' || name AS k, sum(seconds) FROM timings GROUP BY ALL ORDER BY 1").fetchall()
    counts = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("runs", "metrics", "measures", "diagrams")}
    print(json.dumps({"bench": "quickstart", "wall_s": round(wall, 2), "store": store,
                      "summed_seconds": {k: round(v, 2) for k, v in phases}, "rows": counts}))


if __name__ == "__main__":
    main()
