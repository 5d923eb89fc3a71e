"""Options of the ``ranking`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions

KIND = "ranking"


class RankingConfig(KindOptions):
    """Options of the ``ranking`` report.

    Parameters
    ----------
    epoch : int or None
        Epoch of the gap; ``None`` takes each run's last epoch.
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    layer : str
        Layer of the measure rows (``'all'``: network-level aggregates).
    measures, statistics : tuple of str or None
        Keep only these measures / statistics (``None``: all in the store).
    axes : tuple of str or None
        Sweep axes to use (``None``: every key of ``runs.axes`` but ``seed`` that takes two
        values or more; seeds are replicates, never an axis of psi or CMI).
    cmi_subset_sizes : tuple of int
        Sizes of the conditioning sets of the CMI score: ``(2,)`` is the PGDL
        competition's, ``(0, 1, 2)`` that of *Fantastic generalization measures*.
    min_runs : int
        A statistic with fewer runs than this is not ranked.
    cluster_measures : tuple of str
        Measures whose statistics are clustered with the gap (K-means, k=2, seed 0,
        raw values: Ballester et al. 2023).
    """

    kind: ClassVar[str] = KIND

    epoch: int | None = None
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    layer: str = "all"
    measures: tuple[str, ...] | None = None
    statistics: tuple[str, ...] | None = None
    axes: tuple[str, ...] | None = None
    cmi_subset_sizes: tuple[int, ...] = (2,)
    min_runs: int = 10
    cluster_measures: tuple[str, ...] = ("activation_persistence",)

    @field_validator("cmi_subset_sizes")
    @classmethod
    def _subset_sizes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(s < 0 for s in value):
            raise cls.invalid("cmi_subset_sizes", "a non-empty list of ints in the range [0, inf)", value)
        return value

    @field_validator("min_runs")
    @classmethod
    def _min_runs(cls, value: int) -> int:
        if value < 3:
            raise cls.invalid("min_runs", "an int in the range [3, inf)", value)
        return value

    def sql_params(self) -> dict[str, Any]:
        """Values bound to the SQL models (:data:`reports.kinds.ranking.compute.MODELS`)."""
        lists = {k: None if v is None else list(v) for k, v in
                 (("measures", self.measures), ("statistics", self.statistics), ("axes", self.axes))}
        return {"epoch": self.epoch, "experiment": self.experiment,
                "statuses": list(self.statuses), "layer": self.layer, **lists}
