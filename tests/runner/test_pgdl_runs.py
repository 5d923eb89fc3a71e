"""PGDL runs: manifests load without the data, plan refuses a missing folder, apply imports instead of training."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import ManifestError
from runner.manifest import load_manifest
from runner.plan import make_plan
from runner.store import Store
from runner.worker import RunWorker
from tests.models import pgdl_files as pf

REPO = Path(__file__).parents[2]
SHIPPED = {1: REPO / "manifests" / "pgdl_task1.toml", 2: REPO / "manifests" / "pgdl_task2.toml"}


def _small(text: str, root: Path) -> str:
    """A shipped PGDL manifest on the fixture folder, with the measures' sizes cut to its 100 training inputs."""
    text = text.replace('root = "data/pgdl"', f'root = "{root}"')
    for key, value in (("train_samples = 2000", "train_samples = 100"), ("test_samples = 500", "test_samples = 20"),
                       ("neurons = 3000", "neurons = 30"), ("samples = 2000", "samples = 30"),
                       ("bootstraps = 20", "bootstraps = 2")):
        assert key in text
        text = text.replace(key, value)
    text = text.replace('name = "interpex"', 'name = "interpex"\nrounds = 2\nsamples_per_round = 20\n'
                                             'mixup_groups = 1\nmixup_group_size = 3')
    return text.replace('name = "brain"', 'name = "brain"\nsamples_per_class = 3')


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return pf.write_all(tmp_path_factory.mktemp("pgdl"))


@pytest.mark.parametrize("task", [1, 2])
def test_shipped_manifests_load_without_the_data(task):
    m = load_manifest(SHIPPED[task])
    assert len(m.runs) == 1
    cfg = m.runs[0].config
    expected = ("pgdl", "data/pgdl", "task1_v4" if task == 1 else "task2_v1")
    assert (cfg.dataset.name, cfg.dataset.root, cfg.dataset.task) == expected
    assert cfg.model.name == "pgdl" and cfg.model.params.id == "all" and cfg.dataset.val_fraction == 0
    assert [e.name for e in m.measures] == ["activation_persistence", "interpex", "always_generalize", "brain"]
    ap = m.measures[0].params
    assert (ap.neurons, ap.samples, ap.bootstraps, tuple(ap.dims)) == (3000, 2000, 20, (0, 1))


def test_plan_without_the_folder_exits_2_naming_what_to_fetch(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "plan", str(SHIPPED[1])], capture_output=True,
                          text=True, cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert re.search(r"pgdl_task1.toml:\d+ \(dataset.root\): pgdl task1_v4: 6 file\(s\) missing", out)
    for name in ("reference_data/task1_v4/model_configs.json", "input_data/task1_v4/dataset_1/train/shard_*.tfrecord",
                 "input_data/task1_v4/model_<id>/weights.hdf5", "https://storage.googleapis.com/gresearch/pgdl/"
                 "public_data.zip"):
        assert name in out
    assert not (tmp_path / "runs").exists()


def test_settings_that_do_not_apply_are_refused_with_their_lines(root, tmp_path):
    text = _small(SHIPPED[1].read_text(), root).replace("seeds = [0] ", "seeds = [0, 1]")
    extra = 'epochs = 1\nlr = 0.1\ncheckpoints = [0, 1]\n[regulariser]\nname = "decorrelation"\n'
    text = text.replace("epochs = 1 ", extra)
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(ManifestError) as info:
        make_plan(load_manifest(tmp_path / "m.toml"), Store(tmp_path / "store"))
    message = str(info.value)
    assert "3 problems" in message
    assert re.search(r"m.toml:\d+ \(training.lr\): does not apply to an imported network", message)
    assert re.search(r"m.toml:\d+ \(regulariser.name\): an imported network is not trained", message)
    assert re.search(r"m.toml:\d+ \(experiment.seeds\): .*give one seed", message)


def test_apply_imports_every_model_with_its_hparams_as_axes(root, tmp_path):
    (tmp_path / "m.toml").write_text(_small(SHIPPED[1].read_text(), root))
    manifest, store = load_manifest(tmp_path / "m.toml"), Store(tmp_path / "store")
    plan = make_plan(manifest, store)
    assert [t.run.config.model.params.id for t in plan.tasks] == [0, 1] and all(t.train for t in plan.tasks)
    assert plan.tasks[0].run.axes == {"hparams.dropout": 0.5, "hparams.depth": 1, "seed": 0}
    for task in plan.tasks:
        RunWorker(task).execute()
    assert make_plan(manifest, store).empty  # applied: nothing left
    store.connect().close()  # the database over the shards, as apply refreshes it
    con = store.connect(read_only=True)
    try:
        runs = con.sql("SELECT run_id, axes, status, notes, config FROM runs ORDER BY run_id").fetchall()
        metrics = con.sql("SELECT split, epoch, accuracy FROM metrics ORDER BY ALL").fetchall()
        gaps = con.sql("SELECT gen_gap FROM gaps").fetchall()
        measures = {r[0] for r in con.sql("SELECT DISTINCT measure FROM measures").fetchall()}
    finally:
        con.close()
    assert {json.loads(r[1])["hparams.dropout"] for r in runs} == {0.0, 0.5}
    assert all(r[2] == "done" and "imported: PGDL task1_v4" in r[3] for r in runs)
    assert {json.loads(r[4])["model"]["params"]["id"] for r in runs} == {0, 1}
    assert {(s, e) for s, e, _ in metrics} == {("train", 1), ("val", 1), ("test", 1), ("train_reference", 1),
                                              ("test_reference", 1)}
    assert sorted(a for s, _, a in metrics if s == "train_reference") == [0.75, 0.76]
    assert len(gaps) == 2 and all(g[0] is not None for g in gaps)
    assert measures == {"activation_persistence", "interpex", "always_generalize", "brain"}
