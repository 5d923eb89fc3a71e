"""The local executor: a pool of worker processes on this machine.

Each worker process is pinned to one GPU through ``CUDA_VISIBLE_DEVICES``
(``runs_per_gpu`` workers share a GPU), or uses ``threads_per_worker`` CPU
threads when there is no GPU. Workers pull tasks from a queue and report
progress events; a run that raises is recorded as failed and the others go on;
a worker process that dies fails the run it held and is replaced. Ctrl-C or
SIGTERM (what a scheduler sends) stops the workers before the coordinator
exits; a coordinator killed outright takes its workers with it
(:func:`die_with_parent`). The next ``apply`` resumes from what the store holds.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from runner.plan import Task


@dataclass
class Outcome:
    """What an ``apply`` did."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def default_workers(runs_per_gpu: int = 1, threads_per_worker: int = 1) -> tuple[int, list[str | None]]:
    """Number of workers and the ``CUDA_VISIBLE_DEVICES`` of each (``None`` on the CPU)."""
    n_gpus = _gpu_count()
    if n_gpus:
        return n_gpus * runs_per_gpu, [str(g) for g in range(n_gpus) for _ in range(runs_per_gpu)]
    n = max(1, (os.cpu_count() or 1) // threads_per_worker)
    return n, [None] * n


def _gpu_count() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([v for v in visible.split(",") if v.strip()])
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


def die_with_parent() -> None:
    """End this process when the process that started it dies, however it dies (SIGKILL included).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so a killed ``runner apply`` never
    leaves a worker writing behind its back. Elsewhere, and as a second guard, a
    daemon thread checks twice a second that the parent is still the same process.
    """
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="genlab-parent-watch").start()


_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _worker_main(index: int, gpu: str | None, threads: int, tasks, events) -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C and SIGTERM
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    from runner.worker import run_task

    while True:
        task = tasks.get()
        if task is None:
            return
        events.put(("start", index, task.run_id, ""))
        try:
            run_task(task, lambda phase: events.put(("phase", index, task.run_id, phase)), threads)
            events.put(("done", index, task.run_id, ""))
        except Exception as exc:  # recorded in the store by run_task
            events.put(("failed", index, task.run_id, f"{type(exc).__name__}: {exc}"))


Listener = Callable[[str, int, str, str], None]


class LocalExecutor:
    """Run tasks on ``workers`` processes (spawned, so CUDA and torch start clean in each)."""

    def __init__(self, workers: int | None = None, runs_per_gpu: int = 1, threads_per_worker: int = 1):
        n, gpus = default_workers(runs_per_gpu, threads_per_worker)
        self.workers = workers or n
        self.gpus = [gpus[i % len(gpus)] for i in range(self.workers)]
        self.threads = threads_per_worker

    def run(self, tasks: list[Task], listener: Listener | None = None) -> Outcome:
        """Execute ``tasks``; ``listener(kind, worker, run_id, info)`` sees every event.

        Raises
        ------
        KeyboardInterrupt
            After the worker processes are stopped.
        """
        listener = listener or (lambda *a: None)
        ctx = mp.get_context("spawn")
        task_q, event_q = ctx.Queue(), ctx.Queue()
        for t in tasks:
            task_q.put(t)
        n = min(self.workers, len(tasks))
        for _ in range(n):
            task_q.put(None)
        procs = {i: self._start(ctx, i, task_q, event_q) for i in range(n)}
        self._tasks = {t.run_id: t for t in tasks}
        holding: dict[int, str] = {}
        outcome = Outcome()
        try:
            while len(outcome.done) + len(outcome.failed) < len(tasks):
                try:
                    kind, index, run_id, info = event_q.get(timeout=0.5)
                except queue.Empty:
                    self._reap(ctx, procs, holding, task_q, event_q, outcome, listener)
                    if not any(p.is_alive() for p in procs.values()) and event_q.empty():
                        break
                    continue
                listener(kind, index, run_id, info)
                if kind == "start":
                    holding[index] = run_id
                elif kind in ("done", "failed"):
                    holding.pop(index, None)
                    (outcome.done.append(run_id) if kind == "done" else outcome.failed.__setitem__(run_id, info))
        except KeyboardInterrupt:
            for p in procs.values():
                p.terminate()
            for p in procs.values():
                p.join(5)
            raise
        for p in procs.values():
            p.join(10)
        return outcome

    def _start(self, ctx, index: int, task_q, event_q):
        p = ctx.Process(target=_worker_main, args=(index, self.gpus[index], self.threads, task_q, event_q),
                        daemon=True, name=f"genlab-worker-{index}")
        p.start()
        return p

    def _reap(self, ctx, procs, holding, task_q, event_q, outcome: Outcome, listener: Listener) -> None:
        """Fail the run of a worker that died, and start a replacement."""
        for index, p in list(procs.items()):
            if p.is_alive() or p.exitcode == 0:
                continue
            run_id = holding.pop(index, None)
            msg = f"worker process died (exit code {p.exitcode}{_signal_name(p.exitcode)})"
            if run_id is None:
                continue  # died before taking a task (e.g. at start-up): restarting would loop
            _record_failure(self._tasks[run_id], msg)
            outcome.failed[run_id] = msg
            listener("failed", index, run_id, msg)
            procs[index] = self._start(ctx, index, task_q, event_q)  # its stop sentinel is still queued


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return ""
    try:
        return f", killed by {signal.Signals(-exitcode).name}"
    except ValueError:
        return ""


def _record_failure(task: Task, message: str) -> None:
    """Write the failure of a run whose worker died into the store (its row would say 'running' forever)."""
    from runner.worker import record_failure

    try:
        record_failure(task, message)
    except OSError:  # a full or read-only disk: the outcome still reaches the user at exit
        pass
