"""End to end: plan, apply, idempotence, recomputation of a changed measure, interruption, failures."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.store import Store
from tests.runner.conftest import BASE

pytestmark = pytest.mark.slow

MANIFEST = BASE + """
[[measures]]
name = "activation_persistence"
neurons = 20
samples = 100
bootstraps = 2
"""


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "runner.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    if check and proc.returncode != 0:
        raise AssertionError(f"runner {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def snapshot(store: Path) -> dict[str, float]:
    return {str(p.relative_to(store)): p.stat().st_mtime_ns for p in sorted((store / "runs").rglob("*"))
            if p.is_file()}


def query(store: Path, sql: str) -> list[tuple]:
    con = Store(store).connect(read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def tables(store: Path) -> dict[str, list]:
    con = Store(store).connect(read_only=True)
    out = {
        "runs": con.sql("SELECT run_id, seed, arch, config, axes, status FROM runs ORDER BY ALL").fetchall(),
        "metrics": con.sql("SELECT * FROM metrics ORDER BY ALL").fetchall(),
        "measures": con.sql("SELECT * FROM measures ORDER BY ALL").fetchall(),
        "diagrams": con.sql("SELECT * FROM diagrams ORDER BY ALL").fetchall(),
    }
    con.close()
    return out


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    d = tmp_path_factory.mktemp("apply")
    manifest = d / "m.toml"
    manifest.write_text(MANIFEST)
    store = d / "store"
    proc = cli("apply", manifest, "--store", store, "--workers", 2)
    return manifest, store, proc


def test_apply_stores_every_table(applied):
    manifest, store, proc = applied
    assert "4 runs done, 0 failed" in proc.stdout
    con = Store(store).connect(read_only=True)
    assert con.sql("SELECT count(*), min(status), max(status) FROM runs").fetchall()[0] == (4, "done", "done")
    assert con.sql("SELECT DISTINCT device FROM runs").fetchall() == [("cpu",)]
    # the learning rate of every trained epoch is stored (none at epoch 0: nothing trained yet)
    assert con.sql("SELECT count(*) FILTER (WHERE lr IS NULL AND epoch > 0), "
                   "count(*) FILTER (WHERE lr IS NOT NULL AND epoch = 0) FROM metrics").fetchall() == [(0, 0)]
    # epochs 0..3, three splits, every run
    assert con.sql("SELECT count(*) FROM metrics").fetchall()[0][0] == 4 * 4 * 3
    per = con.sql("SELECT measure, count(DISTINCT (run_id, epoch)) FROM measures GROUP BY 1 ORDER BY 1").fetchall()
    assert per == [("activation_persistence", 8), ("neural_collapse", 8), ("weight_spectrum", 8)]
    # H0 of 20 neurons: 19 finite deaths and one essential class per bootstrap
    h0 = con.sql("SELECT count(*) FILTER (WHERE isfinite(death)), count(*) FROM diagrams "
                 "WHERE dim = 0 GROUP BY run_id, epoch, bootstrap").fetchall()
    assert set(h0) == {(19, 20)}
    gaps = con.sql("SELECT g.gen_gap, t.accuracy - s.accuracy FROM gaps g "
                   "JOIN metrics t ON t.run_id = g.run_id AND t.epoch = g.epoch AND t.split = 'train' "
                   "JOIN metrics s ON s.run_id = g.run_id AND s.epoch = g.epoch AND s.split = 'test'").fetchall()
    assert len(gaps) == 16 and all(a == b for a, b in gaps)
    axes = [json.loads(a) for (a,) in con.sql("SELECT axes FROM runs").fetchall()]
    assert sorted((a["model.depth"], a["seed"]) for a in axes) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    # costs: one row per measurement, each provider booked once per run and checkpoint (the three measures share
    # the forward pass, the weights and the labels), training once per run
    cost = dict(con.sql("SELECT phase, count(*) FROM timings GROUP BY 1").fetchall())
    assert cost == {"train": 4, "measure": 24, "setup": 4 + 4 * 2, "provider": 8 * 3}
    setup = dict(con.sql("SELECT name, count(*) FROM timings WHERE phase = 'setup' GROUP BY 1").fetchall())
    assert setup == {"load_data": 4, "load_checkpoint": 8}  # once per run, once per run and checkpoint
    unstamped = "SELECT count(*) FILTER (WHERE measured_at IS NULL OR threads < 1) FROM timings"
    assert con.sql(unstamped).fetchall() == [(0,)]
    once = con.sql("SELECT max(n) FROM (SELECT count(*) AS n FROM timings WHERE phase = 'provider' "
                   "GROUP BY run_id, epoch, name)").fetchall()[0][0]
    providers = {n for (n,) in con.sql("SELECT DISTINCT name FROM timings WHERE phase = 'provider'").fetchall()}
    assert once == 1 and providers == {"forward_pass", "weights", "labels"}
    # training is booked at its last epoch; every measurement at its checkpoint
    epochs = con.sql("SELECT phase, list(DISTINCT epoch ORDER BY epoch) FROM timings GROUP BY 1 ORDER BY 1").fetchall()
    assert epochs == [("measure", [1, 3]), ("provider", [1, 3]), ("setup", [0, 1, 3]), ("train", [3])]
    con.close()


def test_second_apply_does_nothing(applied):
    manifest, store, _ = applied
    before = snapshot(store)
    proc = cli("apply", manifest, "--store", store)
    assert "Nothing to do: 4 runs and 24 measurements are up to date" in proc.stdout
    assert snapshot(store) == before
    plan = cli("plan", manifest, "--store", store).stdout
    assert "0 runs to train, 0 measurements to compute, 0 stale" in plan


def test_changed_measure_recomputes_only_that_measure(applied, tmp_path):
    manifest, store, _ = applied
    changed = tmp_path / "changed.toml"
    changed.write_text(MANIFEST.replace("neurons = 20", "neurons = 15"))
    plan = cli("plan", changed, "--store", store).stdout
    assert "0 runs to train, 0 measurements to compute, 8 stale" in plan
    assert "~ activation_persistence @ epoch 3: parameters or measurement sample changed" in plan
    before = snapshot(store)
    cli("apply", changed, "--store", store)
    after = snapshot(store)
    touched = {k for k in after if after[k] != before.get(k)}
    # besides that measure's files: the run's state and the cost of loading the data and checkpoints again
    assert touched and all("activation_persistence" in k or k.endswith(("state.json", "run.parquet", "setup.parquet"))
                           for k in touched), touched
    assert query(store, "SELECT count(*) FROM diagrams WHERE dim = 0 AND isfinite(death)")[0][0] == 8 * 2 * 14
    cli("apply", manifest, "--store", store)  # back to the module's manifest


def test_broken_manifest_exit_2_and_store_untouched(applied, tmp_path):
    _, store, _ = applied
    broken = tmp_path / "broken.toml"
    broken.write_text(MANIFEST.replace("width = 16", "widht = 16").replace('"neural_collapse"', '"neural_colapse"'))
    before = snapshot(store)
    db = (store / "genlab.duckdb").stat().st_mtime_ns
    proc = cli("apply", broken, "--store", store, check=False)
    assert proc.returncode == 2
    assert "broken.toml:12 (model.widht): unknown key; did you mean 'width'?" in proc.stderr
    assert "did you mean 'neural_collapse'?" in proc.stderr
    assert snapshot(store) == before and (store / "genlab.duckdb").stat().st_mtime_ns == db


def test_sql_formats(applied, tmp_path):
    manifest, store, _ = applied
    out = cli("sql", manifest, "SELECT count(*) AS n FROM runs", "--store", store, "--format", "csv").stdout
    assert out.splitlines() == ["n", "4"]
    nested = cli("sql", manifest, "SELECT [1, 2] AS l, {'a': 'x'} AS s", "--store", store, "--format", "csv").stdout
    assert nested.splitlines() == ["l,s", '"[1, 2]","{""a"": ""x""}"']  # CSV has no nested values: JSON text
    pq = tmp_path / "g.parquet"
    cli("sql", manifest, "SELECT * FROM gaps", "--store", store, "--format", "parquet", "-o", pq)
    import polars as pl

    assert pl.read_parquet(pq).height == 16
    configs = [r[0] for r in query(store, "SELECT config FROM runs")]
    # one unbroken word per cell, far wider than the terminal: rich would cut it with an ellipsis
    wide = cli("sql", manifest, "SELECT replace(config, ' ', '') AS c FROM runs", "--store", store).stdout
    flat = "".join(ch for ch in wide if ch not in "│ \n")
    assert all(c.replace(" ", "") in flat for c in configs)  # folded, not cut with an ellipsis
    bad = cli("sql", manifest, "SELECT nope FROM runs", "--store", store, check=False)
    assert bad.returncode == 1 and "SQL error" in bad.stderr
    ro = cli("sql", manifest, "DROP VIEW runs", "--store", store, check=False)
    assert ro.returncode == 2 and "DROP" in ro.stderr and "refuses" in ro.stderr


def test_interrupted_apply_resumes_to_the_same_rows(applied, tmp_path):
    _, reference, _ = applied
    manifest = tmp_path / "m.toml"
    manifest.write_text(MANIFEST)
    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "apply", str(manifest), "--store", str(store),
                             "--workers", "1"], cwd=Path(__file__).parents[2],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        states = Store(store).states()
        if any(s.get("status") == "done" for s in states.values()) and len(states) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    states = Store(store).states()
    assert sum(s.get("status") == "done" for s in states.values()) < 4
    cli("apply", manifest, "--store", store)
    assert tables(store) == tables(reference)


def _in_process_apply(text: str, tmp_path, **kw):
    import tests.runner.faulty  # noqa: F401  (registers the measure here)
    from runner.executor import LocalExecutor
    from runner.manifest import load_manifest
    from runner.plan import make_plan

    path = tmp_path / "f.toml"
    path.write_text(text)
    m = load_manifest(path)
    store = Store(tmp_path / "store")
    outcome = LocalExecutor(workers=2).run(make_plan(m, store).tasks)
    return m, store, outcome


@pytest.mark.parametrize("mode", ["raise", "crash"])
def test_a_failing_run_does_not_stop_the_others(tmp_path, mode):
    text = BASE.replace('name = "neural_collapse"', f'name = "faulty"\nmode = "{mode}"')
    from runner.plan import make_plan

    m, store, outcome = _in_process_apply(text, tmp_path)
    depth = {r.run_id: r.config.model.params.depth for r in m.runs}
    assert sorted(outcome.done) == sorted(r for r, d in depth.items() if d == 1)
    assert sorted(outcome.failed) == sorted(r for r, d in depth.items() if d == 2)
    why = {"raise": "RuntimeError: measure 'faulty' at epoch 1 failed:", "crash": "worker process died (exit code 3)"}
    assert all(msg.startswith(why[mode]) for msg in outcome.failed.values()), outcome.failed
    # the failed runs stay trained: the next apply computes only what they miss (a crash at the first faulty
    # measure also left the last checkpoint unmeasured)
    left = ["1/faulty", "3/faulty"] + (["3/weight_spectrum"] if mode == "crash" else [])
    todo = {t.run_id: (t.train, sorted(x.slot for x in t.measurements)) for t in make_plan(m, store).tasks}
    assert todo == {rid: (False, left) for rid in outcome.failed}
    con = store.connect()  # the store says why, also when the worker process died (no 'running' forever)
    rows = con.sql("SELECT run_id, status, error FROM runs WHERE status = 'failed'").fetchall()
    assert sorted(r for r, _, _ in rows) == sorted(outcome.failed)
    said = {"raise": "faulty measure: depth 2", "crash": "worker process died (exit code 3)"}[mode]
    assert all(said in e for _, _, e in rows)
    assert con.sql("SELECT count(*) FROM runs WHERE status = 'running'").fetchall() == [(0,)]
    if mode == "raise":
        # the other measures of the failed runs were still computed
        n = con.sql("SELECT count(*) FROM measures WHERE measure = 'weight_spectrum'").fetchall()[0][0]
        assert n > 0 and con.sql("SELECT count(DISTINCT run_id) FROM measures WHERE measure = 'weight_spectrum'"
                                 ).fetchall()[0][0] == 4
        # what the failed measure's inputs cost is kept; the failure itself gets no measure row
        costs = con.sql("SELECT phase, count(DISTINCT run_id) FROM timings WHERE run_id IN (SELECT run_id FROM runs "
                        "WHERE status = 'failed') AND name IN ('model', 'faulty') GROUP BY 1").fetchall()
        assert costs == [("provider", 2)]


def test_report_cli_kinds_formats_and_options(applied, tmp_path):
    manifest, store, _ = applied
    listing = cli("report", "--list").stdout
    assert all(k in listing for k in ("gap_regression", "ranking", "regulariser_comparison", "training_dynamics",
                                      "layers", "persistence"))
    out = tmp_path / "html"
    paths = cli("report", manifest, "--store", store, "--kind", "layers", "--format", "html", "--out", out).stdout
    assert [Path(p).name for p in paths.split()] == ["layers.html"]
    html = (out / "layers.html").read_text()
    assert "<title>t – Neural collapse layer by layer, by network depth</title>" in html
    assert "4 runs have per-layer statistics of neural_collapse" in html
    # two runs (seeds 0, 1) per depth; depth d has d hidden layers and the output layer
    for depth, layer in ((1, 1), (1, 2), (2, 1), (2, 2), (2, 3)):
        assert f'<tr><td class="int">{depth}</td><td class="int">{layer}</td><td class="int">2</td>' in html
    # without --format, each [[reports]] entry's formats; its other keys are the kind's options
    entry = tmp_path / "entry.toml"
    entry.write_text(MANIFEST + '\n[[reports]]\nkind = "training_dynamics"\nformats = ["latex"]\nmin_runs = 50\n')
    out = tmp_path / "tex"
    cli("report", entry, "--store", store, "--out", out)
    assert sorted(p.suffix for p in out.iterdir() if p.stem == "training_dynamics") == [".tex"]
    assert "too few runs" in (out / "training_dynamics.tex").read_text()  # min_runs = 50 > 4 runs
    bad = cli("report", manifest, "--store", store, "--kind", "layer", check=False)
    assert bad.returncode == 2 and "did you mean 'layers'" in bad.stderr
    missing = cli("report", manifest, "--store", tmp_path / "nothing", check=False)
    assert missing.returncode == 1 and "no result store at" in missing.stderr
    assert not (tmp_path / "nothing").exists()
