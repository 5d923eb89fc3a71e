"""The worker's pieces: rows of the core tables, the run's state file, the timings recorder."""

import json
import math
from datetime import datetime

import numpy as np
import pyarrow.parquet as pq
import pytest

from measures.registry import Diagram
from models.training import EpochMetrics
from runner import rows
from runner.manifest import load_manifest
from runner.state import RunState
from runner.store import SCHEMAS, RunDir
from runner.timings import Timings
from tests.runner.conftest import BASE

METRICS = [
    EpochMetrics(0, {"train": 2.3, "val": 2.31, "test": 2.32}, {"train": 0.1, "val": 0.09, "test": 0.11}, None, None),
    EpochMetrics(1, {"train": 0.5, "val": 0.6, "test": 0.7}, {"train": 0.9, "val": 0.8, "test": 0.75}, 0.25, 0.1),
]


def test_metrics_rows_one_per_epoch_and_split_regulariser_on_train_only():
    t = rows.metrics_table("r1", METRICS)
    assert t.schema == SCHEMAS["metrics"]
    assert t.to_pylist()[3:] == [
        {"run_id": "r1", "epoch": 1, "split": "train", "loss": 0.5, "accuracy": 0.9, "regulariser": 0.25, "lr": 0.1},
        {"run_id": "r1", "epoch": 1, "split": "val", "loss": 0.6, "accuracy": 0.8, "regulariser": None, "lr": 0.1},
        {"run_id": "r1", "epoch": 1, "split": "test", "loss": 0.7, "accuracy": 0.75, "regulariser": None, "lr": 0.1},
    ]
    assert t.column("lr").to_pylist()[:3] == [None] * 3


def test_history_sorts_by_epoch_and_equals_the_stored_files(tmp_path):
    t = rows.metrics_table("r1", METRICS[::-1])  # epochs out of order
    h = rows.history(t)
    assert sorted(h) == ["test", "train", "val"]
    np.testing.assert_array_equal(h["train"]["epoch"], [0.0, 1.0])
    np.testing.assert_array_equal(h["train"]["loss"], [2.3, 0.5])
    np.testing.assert_array_equal(h["test"]["accuracy"], [0.11, 0.75])
    assert h["val"]["loss"].dtype == np.float64
    run = RunDir(tmp_path, "r1")
    run.write_table("metrics", t)
    stored = rows.history(run.read_table("metrics"))  # what a measuring-only task reads: the same bits
    for split in h:
        for k in h[split]:
            assert h[split][k].tobytes() == stored[split][k].tobytes()


def test_measures_rows_carry_key_and_version():
    t = rows.measures_table("r1", 40, "ws", "k123", 2, [("fc1", "stable_rank", 3.5), ("all", "mean", -1.0)])
    assert t.schema == SCHEMAS["measures"]
    assert t.to_pylist() == [
        {"run_id": "r1", "epoch": 40, "measure": "ws", "layer": "fc1", "statistic": "stable_rank", "value": 3.5,
         "measure_key": "k123", "version": 2},
        {"run_id": "r1", "epoch": 40, "measure": "ws", "layer": "all", "statistic": "mean", "value": -1.0,
         "measure_key": "k123", "version": 2},
    ]


def test_diagram_rows_one_per_pair_with_essential_classes():
    d0 = Diagram("all", 0, 0, np.array([[0.0, 0.25], [0.0, np.inf]]))
    d1 = Diagram("fc1", 1, 1, np.array([[0.5, 0.75]]))
    t = rows.diagrams_table("r1", 3, "ap", [d0, d1])
    assert t.schema == SCHEMAS["diagrams"]
    got = [(r["layer"], r["bootstrap"], r["dim"], r["birth"], r["death"]) for r in t.to_pylist()]
    assert got == [("all", 0, 0, 0.0, 0.25), ("all", 0, 0, 0.0, math.inf), ("fc1", 1, 1, 0.5, 0.75)]
    assert set(t.column("epoch").to_pylist()) == {3} and set(t.column("measure").to_pylist()) == {"ap"}
    empty = rows.diagrams_table("r1", 3, "ws", [])
    assert empty.num_rows == 0 and empty.schema == SCHEMAS["diagrams"]


def test_run_row_from_the_config_and_state(write):
    run = load_manifest(write(BASE)).runs[3]
    started, finished = datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 5, 0)
    state = {"device": "cpu", "started_at": started, "train_seconds": 12.5, "best_epoch": 4, "notes": ["a", "b"]}
    (row,) = rows.run_table(run, "exp", state, "done", None, finished).to_pylist()
    assert row["run_id"] == run.run_id and row["experiment"] == "exp" and row["seed"] == 1
    assert (row["dataset"], row["arch"], row["regulariser"]) == ("digits", "mlp", "none")
    assert json.loads(row["axes"]) == {"model.depth": 2, "seed": 1}
    assert json.loads(row["config"]) == run.config.model_dump(mode="json")
    assert (row["status"], row["error"], row["device"]) == ("done", None, "cpu")
    assert (row["started_at"], row["finished_at"], row["wall_s"]) == (started, finished, 12.5)
    assert (row["best_epoch"], row["stopped_epoch"], row["notes"]) == (4, None, "a\nb")
    (fresh,) = rows.run_table(run, "exp", {}, "running").to_pylist()
    assert (fresh["started_at"], fresh["finished_at"], fresh["notes"]) == (None, None, None)


def test_state_merges_writes_and_reads_back_datetimes(tmp_path):
    run = RunDir(tmp_path, "r1")
    state = RunState(run)
    assert state.values == {}
    started = datetime(2024, 5, 6, 7, 8, 9, 123456)
    state.update(status="running", started_at=started, measurements={})
    state.record_measurement("3/ws", "k1", 2)
    state.update(status="done")
    on_disk = json.loads((run.path / "state.json").read_text())
    assert on_disk == {"status": "done", "started_at": "2024-05-06T07:08:09.123456",
                       "measurements": {"3/ws": {"key": "k1", "version": 2}}}
    again = RunState(run)
    assert again.get("started_at") == started and again.get("measurements") == on_disk["measurements"]


def test_timings_rows_stamped_and_nothing_written_for_a_failed_block(tmp_path):
    import torch

    run = RunDir(tmp_path, "r1")
    timings = Timings(run)
    with timings.timed("setup", 0, "setup", "load_data"):
        pass
    with pytest.raises(ValueError):
        with timings.timed("broken", 0, "setup", "load_data"):
            raise ValueError
    assert sorted(p.name for p in (run.path / "timings").iterdir()) == ["setup.parquet"]
    (row,) = pq.read_table(run.path / "timings" / "setup.parquet").to_pylist()
    assert (row["run_id"], row["epoch"], row["phase"], row["name"]) == ("r1", 0, "setup", "load_data")
    assert row["seconds"] >= 0 and row["threads"] == torch.get_num_threads()
    assert isinstance(row["measured_at"], datetime)
