"""Options of the ``ranking`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions

KIND = "ranking"
#: Heading of the kind's document.
TITLE = "Ranking generalization measures by how they order the gap"


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
    n_bootstrap : int
        Resamples of the percentile bootstrap interval of tau-a (0: no interval).
    ci_level : float
        Confidence level of that interval, in (0, 1).
    bootstrap_seed : int
        Seed of the resamples (the same seed, the same interval).
    gap_tolerance : float
        Pairs of runs whose gaps differ by no more than this are left out of the
        robust sign-error (Dziugaite et al. 2020 drop pairs within the gap's noise).
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
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    bootstrap_seed: int = 0
    gap_tolerance: float = 0.0

    @field_validator("n_bootstrap")
    @classmethod
    def _n_bootstrap(cls, value: int) -> int:
        if value < 0:
            raise cls.invalid("n_bootstrap", "an int in the range [0, inf)", value)
        return value

    @field_validator("ci_level")
    @classmethod
    def _ci_level(cls, value: float) -> float:
        if not 0 < value < 1:
            raise cls.invalid("ci_level", "a float in the range (0, 1)", value)
        return value

    @field_validator("gap_tolerance")
    @classmethod
    def _gap_tolerance(cls, value: float) -> float:
        if not value >= 0:
            raise cls.invalid("gap_tolerance", "a float in the range [0, inf)", value)
        return value

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
