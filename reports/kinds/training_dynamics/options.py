"""Options of the ``training_dynamics`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions
from reports.kinds._options import AUTO

KIND = "training_dynamics"
#: Heading of the kind's document.
TITLE = "Measures over training epochs and early prediction of the gap"


class TrainingDynamicsConfig(KindOptions):
    """Options of the ``training_dynamics`` report.

    Parameters
    ----------
    measures, statistics : tuple of str or None
        Keep only these measures / statistics (``None``: all in the store).
    layer : str
        Layer of the measure rows (``'all'``: network-level aggregates).
    axis : str or None
        Key of the runs' ``axes`` to group by; ``"auto"`` takes the axis with the
        fewest distinct values (at least 2; :func:`reports.common.choose_axis`),
        ``None`` pools all runs.
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    min_runs : int
        Fewer runs with a value at an epoch than this and no correlation is computed.
    top : int or None
        Statistics shown per measure: those with the largest |tau-b| with the final
        gap at their last epoch (``None``: all). Every correlation is stored.
    """

    kind: ClassVar[str] = KIND

    measures: tuple[str, ...] | None = None
    statistics: tuple[str, ...] | None = None
    layer: str = "all"
    axis: str | None = AUTO
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    min_runs: int = 5
    top: int | None = 5

    @field_validator("min_runs")
    @classmethod
    def _min_runs(cls, value: int) -> int:
        if value < 3:
            raise cls.invalid("min_runs", "an int in the range [3, inf)", value)
        return value

    @field_validator("top")
    @classmethod
    def _top(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise cls.invalid("top", "an int in the range [1, inf) or None", value)
        return value

    def sql_params(self, axis: str | None = None) -> dict[str, Any]:
        """Values bound to the SQL models, with ``axis`` the chosen sweep axis."""
        return {"epoch": None, "experiment": self.experiment, "statuses": list(self.statuses),
                "layer": self.layer, "axis": axis,
                "measures": None if self.measures is None else list(self.measures),
                "statistics": None if self.statistics is None else list(self.statistics)}
