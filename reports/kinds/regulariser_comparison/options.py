"""Options of the ``regulariser_comparison`` report."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from reports.kinds import KindOptions

KIND = "regulariser_comparison"
#: Heading of the kind's document.
TITLE = "Comparing regularisers over many networks by their ranks"


class RegulariserComparisonConfig(KindOptions):
    """Options of the ``regulariser_comparison`` report.

    Parameters
    ----------
    epoch : int or None
        Epoch of the accuracies; ``None`` takes each run's last epoch.
    experiment : str or None
        Keep only runs of this experiment.
    statuses : tuple of str
        Run statuses to keep.
    seed_blocks : bool
        True: each seed of a network configuration is its own block (Ballester et
        al. train each network once); False: the seeds' mean is one block.
    select_weight : bool
        False: each regulariser setting (name and weight) is a method. True: the
        methods are the regularisers, each with the weight of highest validation
        accuracy on each network (Ballester et al.'s protocol; SQL model
        ``regulariser_selected``).
    alpha : float
        Significance level of the Friedman, Nemenyi and Holm procedures.
    min_blocks : int
        Fewer complete blocks than this and no test is run. The default 6 is the
        fewest with which a two-sided Wilcoxon test can reach p < 0.05.
    """

    kind: ClassVar[str] = KIND

    epoch: int | None = None
    experiment: str | None = None
    statuses: tuple[str, ...] = ("done", "trained")
    seed_blocks: bool = True
    select_weight: bool = False
    alpha: float = 0.05
    min_blocks: int = 6

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, value: float) -> float:
        if not 0 < value < 1:
            raise cls.invalid("alpha", "a float in the range (0, 1)", value)
        return value

    @field_validator("min_blocks")
    @classmethod
    def _min_blocks(cls, value: int) -> int:
        if value < 2:
            raise cls.invalid("min_blocks", "an int in the range [2, inf)", value)
        return value

    @property
    def cells_model(self) -> str:
        """The SQL model whose rows are the cells compared."""
        return "regulariser_selected" if self.select_weight else "regulariser_cells"

    def sql_params(self) -> dict[str, Any]:
        """Values bound to the SQL models ``regulariser_runs`` and ``final_gaps``."""
        return {"epoch": self.epoch, "experiment": self.experiment,
                "statuses": list(self.statuses), "seed_blocks": self.seed_blocks}
