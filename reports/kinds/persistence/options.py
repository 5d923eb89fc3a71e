"""Options of the ``persistence`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions
from reports.kinds._options import AUTO

KIND = "persistence"
#: Heading of the kind's document.
TITLE = "Persistence diagrams and Betti curves"


class PersistenceConfig(KindOptions):
    """Options of the ``persistence`` report.

    Parameters
    ----------
    measure : str
        Measure whose diagrams are read.
    layer : str
        Layer of the diagrams.
    axis : str or None
        Key of the runs' ``axes`` to group by (``"auto"``: see
        :func:`reports.common.choose_axis`; ``None``: all runs together).
    n_grid : int
        Grid points of the Betti curves (at least 2).
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    """

    kind: ClassVar[str] = KIND

    measure: str = "activation_persistence"
    layer: str = "all"
    axis: str | None = AUTO
    n_grid: int = 64
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")

    @field_validator("n_grid")
    @classmethod
    def _n_grid(cls, value: int) -> int:
        if value < 2:
            raise cls.invalid("n_grid", "an int in the range [2, inf)", value)
        return value

    def sql_params(self, axis: str | None = None) -> dict[str, Any]:
        """Values bound to the SQL models, with ``axis`` the chosen sweep axis."""
        return {"epoch": None, "experiment": self.experiment, "statuses": list(self.statuses),
                "measure": self.measure, "layer": self.layer, "axis": axis, "n_grid": self.n_grid}
