"""Benchmark: the result store at the field's scale, before and after compaction.

Builds a synthetic store of N runs with genlab's own writer and layout (the
quickstart's shape: 3 measures at 3 checkpoints, about 1000 measure rows, 183
metric rows and 35 files per run), then times, in fresh processes as a user
runs them: the README's join of ``measures`` with ``gaps`` for one statistic,
a group-by over all measures, the writable connect with its view refresh,
``runner plan`` and a no-op ``runner apply``; once on the loose shards and
once after ``runner compact``. Prints one JSON line per step with wall and
CPU seconds (the child's user + system time) and peak memory.

    python bench/store.py --runs 1000 --store /tmp/store1k
    python bench/store.py --runs 10000 --store /tmp/store10k
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner import files  # noqa: E402
from runner.manifest import load_manifest  # noqa: E402
from runner.plan import make_plan  # noqa: E402
from runner.store import Store  # noqa: E402

MANIFEST = """
[experiment]
name = "bench_store"
seeds = {seeds}

[dataset]
name = "digits"

[model]
name = "mlp"
depth = 2
width = 64

[training]
epochs = 60
checkpoints = [15, 30]

[measurement]
train_samples = 1000
test_samples = 300

[[measures]]
name = "weight_spectrum"

[[measures]]
name = "neural_collapse"

[[measures]]
name = "activation_persistence"
neurons = 300
"""

QUERIES = {
    "join_one_statistic": "SELECT m.run_id, m.value, g.gen_gap FROM measures m JOIN gaps g USING (run_id, epoch) "
                          "WHERE m.measure = 'activation_persistence' AND m.statistic = 'h0_mean_death' "
                          "AND m.epoch = 60",
    "group_by_all_measures": "SELECT measure, statistic, avg(value), count(*) FROM measures GROUP BY ALL",
    "timings_by_phase": "SELECT phase, name, sum(seconds) FROM timings GROUP BY ALL",
}


def build(root: Path, n_runs: int, seed: int = 0) -> Path:
    """Write the manifest and a complete synthetic store of ``n_runs`` runs; return the manifest's path."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = root / "bench_store.toml"
    manifest.write_text(MANIFEST.format(seeds=list(range(n_runs))))
    m = load_manifest(manifest)
    store, rng = Store(root), np.random.default_rng(seed)
    plan = make_plan(m, store)
    real_fsync, files.fsync = files.fsync, lambda path: None  # building the fixture, not measuring writes
    try:
        for task in plan.tasks:
            _write_run(store, task, rng)
    finally:
        files.fsync = real_fsync
    return manifest


def _write_run(store: Store, task, rng) -> None:
    rid, run = task.run_id, store.run(task.run_id)
    run.write("runs", [{"run_id": rid, "experiment": task.experiment, "seed": task.run.config.seed,
                        "dataset": "digits", "arch": "mlp", "regulariser": "none", "status": "done"}])
    run.write("metrics", [{"run_id": rid, "epoch": e, "split": s, "loss": float(rng.random()),
                           "accuracy": float(rng.random())} for e in range(61) for s in ("train", "val", "test")])
    measurements = {}
    for m in task.measurements:
        shard = f"e{m.epoch:04d}-{m.entry.id}"
        n_stats = {"weight_spectrum": 60, "neural_collapse": 20, "activation_persistence": 250}[m.entry.name]
        run.write("measures", [{"run_id": rid, "epoch": m.epoch, "measure": m.entry.id, "layer": "all",
                                "statistic": (f"h0_mean_death" if i == 0 else f"s{i:03d}"), "value": float(v),
                                "measure_key": m.key, "version": m.version}
                               for i, v in enumerate(rng.random(n_stats))], shard)
        pairs = 200 if m.entry.name == "activation_persistence" else 0
        run.write("diagrams", [{"run_id": rid, "epoch": m.epoch, "measure": m.entry.id, "layer": "all",
                                "bootstrap": 0, "dim": int(i % 2), "birth": 0.0, "death": float(v)}
                               for i, v in enumerate(rng.random(pairs))], shard)
        run.write("timings", [{"run_id": rid, "epoch": m.epoch, "phase": "measure", "name": m.entry.id,
                               "seconds": float(rng.random())}], shard)
        measurements[m.slot] = {"key": m.key, "version": m.version}
    for phase in ("setup", "train"):
        run.write("timings", [{"run_id": rid, "epoch": 60, "phase": phase, "name": phase, "seconds": 1.0}], phase)
    run.write_state({"trained": True, "checkpoints": [15, 30, 60], "measurements": measurements, "status": "done"})


def timed(step: str, cmd: list[str], n_runs: int, compacted: bool) -> dict:
    """Run ``cmd`` in a fresh process; its wall and CPU seconds and peak memory (its own rusage).

    A command that prints a JSON object on its last line (the in-process query timer) adds its fields.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{step} failed: {err[-2000:]}")
    line = {"bench": "store", "runs": n_runs, "compacted": compacted, "step": step, "wall_s": round(wall, 3),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if last.startswith("{"):
        line.update(json.loads(last))
    return line


def _sql_in_process(store: Path, query: str) -> list[str]:
    """A fresh process that opens the store read-only and times the query alone (connect to last row)."""
    code = ("import sys, time, json, resource; sys.path.insert(0, %r); from runner.store import Store; "
            "w, c = time.perf_counter(), time.process_time(); con = Store(%r).connect(read_only=True); "
            "n = len(con.sql(%r).fetchall()); "
            "print(json.dumps({'query_wall_s': round(time.perf_counter() - w, 3), "
            "'query_cpu_s': round(time.process_time() - c, 3), 'result_rows': n}))") % (
        str(Path(__file__).resolve().parents[1]), str(store), query)
    return [sys.executable, "-c", code]


def measure(manifest: Path, store: Path, n_runs: int, compacted: bool) -> list[dict]:
    runner = [sys.executable, "-m", "runner.cli"]
    out = [timed("refresh (writable connect)", [sys.executable, "-c",
                 f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r}); "
                 f"from runner.store import Store; Store({str(store)!r}).connect().close()"], n_runs, compacted)]
    for name, query in QUERIES.items():
        out.append(timed(f"query {name}", _sql_in_process(store, query), n_runs, compacted))
    out.append(timed("runner plan", [*runner, "plan", str(manifest), "--store", str(store)], n_runs, compacted))
    out.append(timed("runner apply (no-op)", [*runner, "apply", str(manifest), "--store", str(store)],
                     n_runs, compacted))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--skip-build", action="store_true", help="reuse a store built before (loose shards)")
    args = parser.parse_args()
    start = time.perf_counter()
    manifest = args.store / "bench_store.toml" if args.skip_build else build(args.store, args.runs)
    print(json.dumps({"bench": "store", "runs": args.runs, "step": "build",
                      "wall_s": round(time.perf_counter() - start, 1),
                      "files": sum(1 for _ in (args.store / "runs").rglob("*.parquet"))}), flush=True)
    for line in measure(manifest, args.store, args.runs, compacted=False):
        print(json.dumps(line), flush=True)
    print(json.dumps(timed("runner compact", [sys.executable, "-m", "runner.cli", "compact", str(manifest),
                                              "--store", str(args.store)], args.runs, True)), flush=True)
    for line in measure(manifest, args.store, args.runs, compacted=True):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
