"""The worker: one run's task, end to end (data -> model -> train -> checkpoints -> measures).

A worker writes only its own run's directory. Training always starts from
scratch (it is deterministic, so a rerun after an interruption gives the same
metrics and checkpoints); measurements load the stored checkpoints and never
retrain. A measure that raises fails the run, after the other measures ran.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from runner.plan import Measurement, Task
from runner.store import SCHEMAS, RunDir, write_atomic

Emit = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _diagram_table(run_id: str, epoch: int, measure: str, diagrams) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("layer", "bootstrap", "dim", "birth", "death")}
    for d in diagrams:
        pairs = np.asarray(d.pairs, dtype=np.float64).reshape(-1, 2)
        n = len(pairs)
        cols["layer"] += [d.layer] * n
        cols["bootstrap"].append(np.full(n, d.bootstrap, np.int32))
        cols["dim"].append(np.full(n, d.dim, np.int32))
        cols["birth"].append(pairs[:, 0])
        cols["death"].append(pairs[:, 1])
    n = len(cols["layer"])
    cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items() if k != "layer"}
    data = {"run_id": [run_id] * n, "epoch": np.full(n, epoch, np.int32), "measure": [measure] * n,
            "layer": cols["layer"], **cat}
    schema = SCHEMAS["diagrams"]
    return pa.table({f.name: pa.array(data[f.name], f.type) for f in schema}, schema=schema)


class RunWorker:
    """Executes one :class:`~runner.plan.Task`."""

    def __init__(self, task: Task, emit: Emit | None = None):
        self.task = task
        self.cfg = task.run.config
        self.dir = RunDir(task.store, task.run_id)
        self.emit = emit or (lambda phase: None)
        self.state = self.dir.state()
        self.errors: list[str] = []

    def run_row(self, status: str, error: str | None = None) -> None:
        """Write the run's single row of the ``runs`` table."""
        c = self.cfg
        self.dir.write("runs", [{
            "run_id": self.task.run_id, "experiment": self.task.experiment, "seed": c.seed,
            "dataset": c.dataset.name, "arch": c.model.name, "regulariser": c.regulariser.name,
            "config": json.dumps(c.model_dump(mode="json"), sort_keys=True),
            "axes": json.dumps(self.task.run.axes, sort_keys=True), "status": status, "error": error,
            "device": self.state.get("device"), "started_at": self.state.get("started_at"),
            "finished_at": _now() if status in ("done", "failed") else None,
            "wall_s": self.state.get("train_seconds"), "best_epoch": self.state.get("best_epoch"),
            "stopped_epoch": self.state.get("stopped_epoch"),
            "notes": "\n".join(self.state.get("notes", [])) or None,
        }])

    def history(self) -> dict:
        """The run's per-epoch metrics as the ``history`` provider lays them out."""
        import pyarrow.parquet as pq

        table = pq.read_table(self.dir.path / "metrics.parquet").to_pydict()
        out: dict[str, dict[str, list]] = {}
        for epoch, split, loss, acc in zip(table["epoch"], table["split"], table["loss"], table["accuracy"]):
            cols = out.setdefault(split, {"epoch": [], "loss": [], "accuracy": []})
            cols["epoch"].append(epoch), cols["loss"].append(loss), cols["accuracy"].append(acc)
        result = {}
        for split, cols in out.items():
            order = np.argsort(cols["epoch"], kind="stable")
            result[split] = {k: np.asarray(v, dtype=np.float64)[order] for k, v in cols.items()}
        return result

    def save_state(self, **changes) -> None:
        """Update the run's ``state.json`` with ``changes`` (written atomically)."""
        self.state.update(changes)
        self.dir.write_state({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.state.items()})

    def execute(self) -> None:
        """Train if needed, then compute the task's measurements; record the outcome."""
        from models.data import load_splits

        if isinstance(self.state.get("started_at"), str):
            self.state["started_at"] = datetime.fromisoformat(self.state["started_at"])
        self.emit("loading data")
        start = time.perf_counter()
        data = load_splits(self.cfg.dataset, self.cfg.seed)
        self.dir.write("timings", [self._timing(0, "setup", "load_data", time.perf_counter() - start)], "setup")
        if self.task.train:
            self.train(data)
        by_epoch: dict[int, list[Measurement]] = {}
        for m in self.task.measurements:
            by_epoch.setdefault(m.epoch, []).append(m)
        for epoch in sorted(by_epoch):
            self.measure(data, epoch, by_epoch[epoch])
        status = "failed" if self.errors else "done"
        error = "\n\n".join(self.errors) or None
        self.save_state(status=status, error=error)
        self.run_row(status, error)
        if self.errors:
            raise RuntimeError(error)

    def build(self, data):
        """The run's network, freshly built from its seed (the weights training starts from)."""
        import torch

        from models.architectures import build_model

        torch.manual_seed(self.cfg.seed)
        return build_model(self.cfg.model.name, self.cfg.model.params, data.input_shape, data.n_classes)

    def train(self, data) -> None:
        """Train the network; store its checkpoints, per-epoch metrics and training time.

        A network trained elsewhere (an architecture registered with ``imported``)
        is not trained: its architecture provides the checkpoints and metrics.
        """
        from models.architectures import get_model
        from models.training import train

        self.save_state(trained=False, status="running", error=None, started_at=_now(),
                        measurements=self.state.get("measurements", {}))
        self.run_row("running")
        device = training_device()
        self.save_state(device=str(device))
        model = self.build(data).to(device)
        epochs = self.cfg.training.epochs
        start = time.perf_counter()
        imported = get_model(self.cfg.model.name).imported
        if imported is not None:
            self.emit("importing")
            result = imported.result(model, data, self.cfg.model.params, self.cfg.training)
        else:
            result = train(model, data, self.cfg.training, self.cfg.regulariser, self.cfg.seed,
                           on_epoch=lambda m: self.emit(f"train epoch {m.epoch}/{epochs}"))
        seconds = time.perf_counter() - start
        for epoch, state_dict in result.checkpoints.items():
            self.dir.save_checkpoint(epoch, {k: v.cpu() for k, v in state_dict.items()})
        rid = self.task.run_id
        rows = [{"run_id": rid, "epoch": m.epoch, "split": s, "loss": m.loss[s], "accuracy": m.accuracy[s],
                 "regulariser": m.regulariser if s == "train" else None, "lr": m.lr}
                for m in result.metrics for s in m.loss]
        self.dir.write("metrics", rows)
        last = result.stopped_epoch if result.stopped_epoch is not None else epochs
        self.dir.write("timings", [self._timing(last, "train", "train", seconds)], shard="train")
        self.save_state(trained=True, checkpoints=sorted(result.checkpoints), train_seconds=seconds,
                        best_epoch=result.best_epoch, stopped_epoch=result.stopped_epoch, notes=result.notes)
        self.run_row("trained")

    def measure(self, data, epoch: int, todo: list[Measurement]) -> None:
        """Compute the measurements ``todo`` on the checkpoint of ``epoch``.

        A measure that raises is recorded in ``errors``; the others go on.
        """
        from measures.providers import Providers
        from measures.registry import get_measure

        start = time.perf_counter()
        init_model = self.build(data)  # the seeded build is the network training started from
        model = self.build(data)
        model.load_state_dict(self.dir.load_checkpoint(epoch))
        self.dir.write("timings", [self._timing(epoch, "setup", "load_checkpoint", time.perf_counter() - start)],
                       f"e{epoch:04d}-setup")
        ms = self.task.measurement
        providers = Providers(model, data, ms.train_samples, ms.test_samples, ms.seed, ms.batch_size,
                              init_model=init_model, history=self.history())
        rid = self.task.run_id
        for m in todo:
            self.emit(f"epoch {epoch}: {m.entry.id}")
            booked = set(providers.seconds)
            start = time.perf_counter()
            try:
                result = providers.compute(get_measure(m.entry.name), m.entry.params)
            except Exception:
                self.errors.append(f"measure {m.entry.id!r} at epoch {epoch} failed:\n{traceback.format_exc()}")
                result = None
            total = time.perf_counter() - start
            new = {p: s for p, s in providers.seconds.items() if p not in booked}
            provider_rows = [self._timing(epoch, "provider", p, t) for p, t in new.items()]
            shard = f"e{epoch:04d}-{m.entry.id}"
            if result is None:  # keep what its providers cost: the next measure reuses them
                if provider_rows:
                    self.dir.write("timings", provider_rows, shard)
                continue
            self.dir.write("measures", [{"run_id": rid, "epoch": epoch, "measure": m.entry.id, "layer": layer,
                                         "statistic": stat, "value": value, "measure_key": m.key,
                                         "version": m.version} for layer, stat, value in result.rows], shard)
            write_atomic(_diagram_table(rid, epoch, m.entry.id, result.diagrams),
                         self.dir.path / "diagrams" / f"{shard}.parquet")
            measure_row = self._timing(epoch, "measure", m.entry.id, total - sum(new.values()))
            self.dir.write("timings", [measure_row, *provider_rows], shard)
            self.state.setdefault("measurements", {})[m.slot] = {"key": m.key, "version": m.version}
            self.save_state()

    def _timing(self, epoch: int, phase: str, name: str, seconds: float) -> dict:
        """A ``timings`` row, stamped with when it was measured and the CPU threads it had."""
        import torch

        return {"run_id": self.task.run_id, "epoch": epoch, "phase": phase, "name": name, "seconds": seconds,
                "measured_at": _now(), "threads": torch.get_num_threads()}


def training_device():
    """The device a worker trains on: the first visible GPU, else the CPU.

    The executor pins each worker to its GPU through ``CUDA_VISIBLE_DEVICES``,
    so ``cuda`` here is the worker's own GPU. Measures are computed on the CPU.
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_task(task: Task, emit: Emit | None = None, threads: int = 1) -> None:
    """Execute ``task`` in this process with ``threads`` CPU threads (deterministic algorithms on).

    Raises
    ------
    Exception
        Whatever training or a measure raised, after the failure is recorded in the store.
    """
    import torch

    # cuBLAS needs a fixed workspace for deterministic results on the GPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    worker = RunWorker(task, emit)
    try:
        with threadpool_limits(threads):  # numpy/scipy BLAS too, not only torch
            worker.execute()
    except Exception:
        if not worker.errors:  # training or data failed: record it here
            tb = traceback.format_exc()
            worker.save_state(status="failed", error=tb)
            worker.run_row("failed", tb)
        raise
