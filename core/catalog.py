"""What a measure emits: its declared output statistics, and the catalog of all of them.

Every measure declares the statistics it writes to the ``measures`` table
(:class:`Statistic`), with their sign (``higher_is_better``), their scope
(network-level rows on layer ``"all"``, per-layer rows, or both) and the report
feature families they belong to. The runner collects the declarations of every
registered measure into a :data:`Catalog` and hands it to the reports, which
read families and signs from it instead of repeating statistic names.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Scope = Literal["network", "layer", "both"]


@dataclass(frozen=True)
class Statistic:
    """One output statistic (or a family of them, by pattern) that a measure declares.

    Parameters
    ----------
    name : str
        The statistic's name in the ``measures`` table, or a shell-style pattern
        for names that depend on the measure's parameters (``"epochs_to_loss_*"``).
    higher_is_better : bool or None
        ``True`` when larger values predict better generalization (a smaller
        generalization gap), ``False`` when they predict a larger gap, ``None``
        when the statistic has no sign (a descriptive summary).
    scope : {"network", "layer", "both"}
        ``"network"``: rows on layer ``"all"``; ``"layer"``: one row per layer;
        ``"both"``: either.
    families : tuple of str
        Report feature families (predictors used together in the gap regression)
        that this statistic belongs to; only exact names (no pattern) may be in one.
    """

    name: str
    higher_is_better: bool | None = None
    scope: Scope = "network"
    families: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in ("network", "layer", "both"):
            raise ValueError(f"Statistic {self.name!r}: scope must be 'network', 'layer' or 'both'; "
                             f"got {self.scope!r}")
        if self.families and self.is_pattern:
            raise ValueError(f"Statistic {self.name!r} is a pattern; only exact names can be in a family")
        object.__setattr__(self, "families", tuple(self.families))

    @property
    def is_pattern(self) -> bool:
        """True when :attr:`name` is a shell-style pattern."""
        return any(c in self.name for c in "*?[")

    def matches(self, name: str, layer: str | None = None) -> bool:
        """True when a stored row ``(layer, name)`` is an instance of this declaration.

        ``layer=None`` checks the name only.
        """
        if not fnmatch.fnmatchcase(name, self.name):
            return False
        if layer is None or self.scope == "both":
            return True
        return (layer == "all") == (self.scope == "network")


#: Measure name -> the statistics it declares, in declaration order.
Catalog = Mapping[str, tuple[Statistic, ...]]


def find_statistic(catalog: Catalog, measure: str, name: str, layer: str | None = None) -> Statistic | None:
    """The declaration of ``measure``'s statistic ``name`` (first match), or None."""
    return next((s for s in catalog.get(measure, ()) if s.matches(name, layer)), None)


def undeclared(declared: Iterable[Statistic], rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(layer, statistic)`` rows that no declaration matches (a measure's contract)."""
    declared = tuple(declared)
    return [(layer, name) for layer, name in rows if not any(s.matches(name, layer) for s in declared)]


def family_members(catalog: Catalog) -> dict[str, list[tuple[str, str]]]:
    """Family name -> its ``(measure, statistic)`` members, families and members in catalog order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for measure, statistics in catalog.items():
        for s in statistics:
            for family in s.families:
                out.setdefault(family, []).append((measure, s.name))
    return out
