"""Rich progress for ``runner apply``: one bar for the runs, one line per active run."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


class ApplyProgress:
    """A listener for :meth:`runner.executor.LocalExecutor.run` that draws the progress."""

    def __init__(self, console: Console, total: int, labels: dict[str, str]):
        self.labels = labels
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.overall = self.progress.add_task("runs", total=total)
        self.lines: dict[int, int] = {}
        self.failed = 0

    def __enter__(self) -> "ApplyProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, kind: str, worker: int, run_id: str, info: str) -> None:
        label = f"{run_id} {self.labels.get(run_id, '')}"
        if worker not in self.lines:
            self.lines[worker] = self.progress.add_task("", total=None, start=False)
        line = self.lines[worker]
        if kind == "start":
            self.progress.update(line, description=f"  [cyan]{label}[/] starting", visible=True)
        elif kind == "phase":
            self.progress.update(line, description=f"  [cyan]{label}[/] {info}")
        else:
            self.progress.advance(self.overall)
            if kind == "failed":
                self.failed += 1
                self.progress.console.print(f"[red]failed[/] {label}: {info.splitlines()[0] if info else ''}")
                self.progress.update(self.overall, description=f"runs ([red]{self.failed} failed[/])")
            self.progress.update(line, description="  idle", visible=False)
