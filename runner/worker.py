"""The worker: one run's task, end to end (data -> model -> train -> checkpoints -> measures).

A worker writes only its own run's directory. Training always starts from
scratch (it is deterministic, so a rerun after an interruption gives the same
metrics and checkpoints); measurements load the stored checkpoints and never
retrain. A measure that raises fails the run, after the other measures ran.
The rows it writes are built by :mod:`runner.rows`, its ``state.json`` is a
:class:`~runner.state.RunState` and its costs go through
:class:`~runner.timings.Timings`.
"""

from __future__ import annotations

import os
import time
import traceback
from itertools import groupby
from typing import Callable

from threadpoolctl import threadpool_limits

from runner import rows
from runner.plan import Measurement, Task
from runner.state import RunState
from runner.store import RunDir
from runner.timings import Timings, utc_now

Emit = Callable[[str], None]


class RunWorker:
    """Executes one :class:`~runner.plan.Task`.

    Parameters
    ----------
    task : Task
        The run, whether to train it, and the measurements to compute.
    emit : callable, optional
        Called with a short phase text ("train epoch 3/60", ...) for progress.
    """

    def __init__(self, task: Task, emit: Emit | None = None):
        self.task = task
        self.cfg = task.run.config
        self.dir = RunDir(task.store, task.run_id)
        self.emit = emit or (lambda phase: None)
        self.state = RunState(self.dir)
        self.timings = Timings(self.dir)
        self.errors: list[str] = []
        self.metrics = None  # the metrics table of this task's training, once trained

    def execute(self) -> None:
        """Load the data, train (or keep the stored checkpoints), measure; record the outcome.

        Raises
        ------
        RuntimeError
            With every failed measure's traceback, after the run is recorded as failed.
        """
        from models.data import load_splits

        self.emit("loading data")
        with self.timings.timed("setup", 0, "setup", "load_data"):
            data = load_splits(self.cfg.dataset, self.cfg.seed)
        if self.task.train:
            self.train(data)
        if self.task.measurements:
            history = rows.history(self.metrics if self.metrics is not None else self.dir.read_table("metrics"))
            by_epoch = groupby(sorted(self.task.measurements, key=lambda m: m.epoch), key=lambda m: m.epoch)
            for epoch, todo in by_epoch:
                self.measure(data, epoch, list(todo), history)
        self.finish("failed" if self.errors else "done", "\n\n".join(self.errors) or None)
        if self.errors:
            raise RuntimeError(self.state.get("error"))

    def write_run(self, status: str, error: str | None = None) -> None:
        """Write the run's single row of the ``runs`` table (``finished_at`` stamped when it ended)."""
        finished = utc_now() if status in ("done", "failed") else None
        self.dir.write_table("runs", rows.run_table(self.task.run, self.task.experiment, self.state.values,
                                                    status, error, finished))

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the run's outcome: its ``runs`` row first, then its state (what the plan trusts)."""
        self.state.values.update(status=status, error=error)
        self.write_run(status, error)
        self.state.update()

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

        self.state.update(trained=False, status="running", error=None, started_at=utc_now(),
                          measurements=self.state.get("measurements", {}),
                          checkpoints=self.state.get("checkpoints", []))
        self.write_run("running")
        device = training_device()
        self.state.update(device=str(device))
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
        self.metrics = rows.metrics_table(self.task.run_id, result.metrics)
        self.dir.write_table("metrics", self.metrics)
        last = result.stopped_epoch if result.stopped_epoch is not None else epochs
        self.timings.write("train", [self.timings.entry(last, "train", "train", seconds)])
        # Training is deterministic: checkpoints an earlier training of this run saved (another
        # manifest's epochs) hold the same weights, so they stay recorded while their files exist.
        kept = [e for e in self.state.get("checkpoints", []) if self.dir.checkpoint_path(e).exists()]
        self.state.values.update(trained=True, checkpoints=sorted({*kept, *result.checkpoints}),
                                 train_seconds=seconds, best_epoch=result.best_epoch,
                                 stopped_epoch=result.stopped_epoch, notes=result.notes)
        self.write_run("trained")
        self.state.update()

    def measure(self, data, epoch: int, todo: list[Measurement], history: dict) -> None:
        """Compute the measurements ``todo`` on the checkpoint of ``epoch``.

        A measure that raises is recorded in ``errors``; the others go on.
        """
        from measures.providers import Providers

        with self.timings.timed(f"e{epoch:04d}-setup", epoch, "setup", "load_checkpoint"):
            init_model = self.build(data)  # the seeded build is the network training started from
            model = self.build(data)
            model.load_state_dict(self.dir.load_checkpoint(epoch))
        s = self.task.sample
        providers = Providers(model, data, s.train_samples, s.test_samples, s.seed, s.batch_size,
                              init_model=init_model, history=history)
        for m in todo:
            self.emit(f"epoch {epoch}: {m.entry.id}")
            self.measure_one(providers, m)

    def measure_one(self, providers, m: Measurement) -> None:
        """Compute one measurement and write its rows, diagrams and costs (its providers' costs even if it fails)."""
        from measures.registry import get_measure

        booked = set(providers.seconds)
        start = time.perf_counter()
        try:
            result = providers.compute(get_measure(m.entry.name), m.entry.params)
        except Exception:
            self.errors.append(f"measure {m.entry.id!r} at epoch {m.epoch} failed:\n{traceback.format_exc()}")
            result = None
        total = time.perf_counter() - start
        new = {p: s for p, s in providers.seconds.items() if p not in booked}
        costs = [self.timings.entry(m.epoch, "provider", p, t) for p, t in new.items()]
        shard, rid = f"e{m.epoch:04d}-{m.entry.id}", self.task.run_id
        if result is None:  # keep what its providers cost: the next measure reuses them
            if costs:
                self.timings.write(shard, costs)
            return
        self.dir.write_table("measures", rows.measures_table(rid, m.epoch, m.entry.id, m.key, m.version,
                                                             result.rows), shard)
        self.dir.write_table("diagrams", rows.diagrams_table(rid, m.epoch, m.entry.id, result.diagrams), shard)
        own = self.timings.entry(m.epoch, "measure", m.entry.id, total - sum(new.values()))
        self.timings.write(shard, [own, *costs])
        self.state.record_measurement(m.slot, m.key, m.version)


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
            try:
                worker.finish("failed", traceback.format_exc())
            except OSError:  # the disk refuses even that (full): the coordinator reports the failure
                pass
        raise


def record_failure(task: Task, error: str) -> None:
    """Record in the store that ``task``'s run failed outside the worker's own reach (its process died).

    Writes the ``runs`` row, then the state, as :meth:`RunWorker.finish` does.
    """
    RunWorker(task).finish("failed", error)
