"""Options of the ``layers`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions

KIND = "layers"
#: Heading of the kind's document.
TITLE = "Neural collapse layer by layer, by network depth"


class LayersConfig(KindOptions):
    """Options of the ``layers`` report.

    Parameters
    ----------
    measure : str
        Measure with per-layer rows.
    statistics : tuple of str
        Per-layer statistics to show, in order.
    depth_axis : str
        Key of the runs' ``axes`` that holds the depth (else: the number of layers measured).
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    min_points : int
        Fewer (run, layer) values than this at a depth and no trend is computed.
    epsilon : float
        NCC train error threshold of the effective depth, in [0, 1).
    """

    kind: ClassVar[str] = KIND

    measure: str = "neural_collapse"
    statistics: tuple[str, ...] = ("ncc_accuracy_train", "ncc_accuracy_test", "cdnv", "nc1")
    depth_axis: str = "model.depth"
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    min_points: int = 5
    epsilon: float = 0.01

    @field_validator("epsilon")
    @classmethod
    def _epsilon(cls, value: float) -> float:
        if not 0.0 <= value < 1.0:
            raise cls.invalid("epsilon", "a float in the range [0, 1)", value)
        return value

    @field_validator("statistics")
    @classmethod
    def _statistics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise cls.invalid("statistics", "a list naming at least one statistic", value)
        return value

    @field_validator("min_points")
    @classmethod
    def _min_points(cls, value: int) -> int:
        if value < 3:
            raise cls.invalid("min_points", "an int in the range [3, inf)", value)
        return value

    def sql_params(self) -> dict[str, Any]:
        """Values bound to the SQL models ``layers_values`` and ``layers_bands``."""
        return {"epoch": None, "experiment": self.experiment, "statuses": list(self.statuses),
                "measure": self.measure, "statistics": list(self.statistics),
                "depth_axis": self.depth_axis}
