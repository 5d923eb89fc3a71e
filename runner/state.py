"""A run's ``state.json``: what is done (read by the plan), read once and merged on every change.

The state holds ``trained``, ``checkpoints``, ``measurements`` (``{"<epoch>/<id>":
{"key", "version"}}``), ``status``, ``error``, ``device``, ``started_at`` and what
training reported (``train_seconds``, ``best_epoch``, ``stopped_epoch``,
``notes``). Each change rewrites the whole file atomically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.store import RunDir


class RunState:
    """The state of one run, as read from its directory and changed by its worker.

    Parameters
    ----------
    run_dir : RunDir
        The run's files; ``state.json`` is read here (empty when absent).
    """

    def __init__(self, run_dir: RunDir):
        self.dir = run_dir
        self.values: dict[str, Any] = run_dir.state()
        if isinstance(self.values.get("started_at"), str):
            self.values["started_at"] = datetime.fromisoformat(self.values["started_at"])

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        return self.values.get(key, default)

    def update(self, **changes: Any) -> None:
        """Merge ``changes`` and write ``state.json`` (datetimes as ISO 8601 text)."""
        self.values.update(changes)
        self.dir.write_state({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.values.items()})

    def record_measurement(self, slot: str, key: str, version: int) -> None:
        """Mark the measurement in ``slot`` (``"<epoch>/<measure id>"``) done with its key and version."""
        self.values.setdefault("measurements", {})[slot] = {"key": key, "version": version}
        self.update()
