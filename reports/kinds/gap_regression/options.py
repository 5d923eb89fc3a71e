"""Options of the ``gap_regression`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions
from reports.kinds.gap_regression.families import Family
from reports.stats.regression import CV_MODELS

KIND = "gap_regression"
#: Heading of the kind's document.
TITLE = "Predicting the generalization gap from measure families"


class GapRegressionConfig(KindOptions):
    """Options of the ``gap_regression`` report.

    Parameters
    ----------
    families : sequence of Family or (name, features[, measure]) or None
        Feature families, in report order. ``None`` (default): the families the
        measures declare, from the catalog the report is built with
        (:func:`reports.kinds.gap_regression.families.families_from_catalog`).
    models : tuple of str
        Regression models, see :func:`reports.stats.regression.make_regressor`.
    epoch : int or None
        Epoch of the gap; ``None`` takes each run's last epoch.
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    layer : str
        Layer of the measure rows (``'all'``: network-level aggregates).
    n_splits, n_repeats, random_state : int
        Cross-validation (5x2cv tests need 2 and 5).
    min_runs : int
        Fewer runs than this and a family is not analysed.
    n_bootstrap : int
        Resamples of the percentile bootstrap interval of the mean R² over the folds
        (0: no interval).
    ci_level : float
        Confidence level of that interval, in (0, 1).
    bootstrap_seed : int
        Seed of the resamples (the same seed, the same interval).
    """

    kind: ClassVar[str] = KIND

    families: tuple[Family, ...] | None = None
    models: tuple[str, ...] = ("linear", "ridge")
    epoch: int | None = None
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    layer: str = "all"
    n_splits: int = 2
    n_repeats: int = 5
    random_state: int = 1
    min_runs: int = 10
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    bootstrap_seed: int = 0

    @field_validator("families", mode="before")
    @classmethod
    def _pairs_are_families(cls, value: Any) -> Any:
        """``(name, features[, measure])`` pairs become :class:`Family`."""
        if value is None or isinstance(value, str):
            return value
        return tuple(Family(f[0], tuple(f[1]), *f[2:]) if isinstance(f, (tuple, list)) else f for f in value)

    @field_validator("families")
    @classmethod
    def _unique_names(cls, value: tuple[Family, ...] | None) -> tuple[Family, ...] | None:
        names = [f.name for f in value or ()]
        if len(set(names)) != len(names):
            raise cls.invalid("families", "a list of families with unique names", names)
        return value

    @field_validator("models")
    @classmethod
    def _known_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for m in value:
            if m not in CV_MODELS:
                raise cls.invalid("models", f"a list of names in {list(CV_MODELS)}", m)
        return value

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

    @field_validator("min_runs")
    @classmethod
    def _min_runs(cls, value: int) -> int:
        if value < 4:
            raise cls.invalid("min_runs", "an int in the range [4, inf)", value)
        return value

    def sql_params(self, families: tuple[Family, ...]) -> dict[str, Any]:
        """Values bound to the SQL models ``final_gaps`` and ``run_features`` for ``families``."""
        measures = sorted({f.measure for f in families if f.measure})
        any_measure = any(f.measure is None for f in families)
        return {"epoch": self.epoch, "experiment": self.experiment,
                "statuses": list(self.statuses), "layer": self.layer,
                "measures": None if any_measure else measures,
                "statistics": sorted({s for f in families for s in f.features})}
