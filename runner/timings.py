"""What each phase of a run cost: ``timings`` rows, stamped and written per shard.

A row says which phase (``setup``, ``train``, ``provider``, ``measure``) and
which step of it took how many wall seconds, when it was measured and with how
many CPU threads. Rows of one shard (``timings/<shard>.parquet``) are written
together; a recomputed step rewrites its shard.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from runner.rows import timings_table
from runner.store import RunDir


def utc_now() -> datetime:
    """The current time in UTC, without a time zone (the store's ``timestamp`` columns)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Timings:
    """The ``timings`` recorder of one run.

    Parameters
    ----------
    run_dir : RunDir
        The run's files; shards go to ``timings/<shard>.parquet``.
    """

    def __init__(self, run_dir: RunDir):
        self.dir = run_dir

    @staticmethod
    def entry(epoch: int, phase: str, name: str, seconds: float) -> dict:
        """One row, stamped now with the CPU threads torch has.

        Parameters
        ----------
        epoch : int
            The checkpoint epoch (0 for the data, the last trained epoch for training).
        phase, name : str
            What was timed, e.g. ``("provider", "forward_pass")``.
        seconds : float
            Wall seconds.
        """
        import torch

        return {"epoch": epoch, "phase": phase, "name": name, "seconds": seconds, "measured_at": utc_now(),
                "threads": torch.get_num_threads()}

    def write(self, shard: str, entries: list[dict]) -> None:
        """Write ``entries`` (from :meth:`entry`) as the shard ``shard``."""
        self.dir.write_table("timings", timings_table(self.dir.run_id, entries), shard)

    @contextmanager
    def timed(self, shard: str, epoch: int, phase: str, name: str) -> Iterator[None]:
        """Time the block and write its row alone as the shard ``shard`` (nothing if it raises)."""
        start = time.perf_counter()
        yield
        self.write(shard, [self.entry(epoch, phase, name, time.perf_counter() - start)])
