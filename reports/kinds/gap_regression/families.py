"""Feature families: named sets of measure statistics used together as regressors.

A family is a list of statistic names (rows of the ``measures`` table on layer
``'all'``), optionally tied to one measure. The default families come from the
measures' own declarations (:func:`families_from_catalog`), never from a list
kept here. :func:`family_data` pivots the long ``run_features`` rows to a
regression matrix, keeping the runs that have every feature, and says why a
family cannot be analysed ("not computed" when none of its features is in the
store).
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import polars as pl
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass as pydantic_dataclass

from core.catalog import Catalog, family_members
from reports.stats import is_constant


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Family:
    """A family of features (statistics on layer ``'all'``) used together as regressors.

    Parameters
    ----------
    name : str
        Name shown in the report.
    features : tuple of str
        Statistic names, e.g. ``("mean_stable_rank", "mean_spectral_norm")``.
    measure : str or None
        Measure the statistics belong to; ``None`` matches any measure (an
        error if a statistic is found under two measures).
    """

    name: str
    features: tuple[str, ...]
    measure: str | None = None

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError(f"Family {self.name!r} must name at least one feature. Got none.")


def families_from_catalog(catalog: Catalog) -> tuple[Family, ...]:
    """The feature families the measures declare (:func:`core.catalog.family_members`).

    A family whose members all come from one measure is tied to it; one that
    gathers several measures' statistics (e.g. the PGDL winners) matches any.

    Order, stable for a given catalog: the families in the order of their first
    member, measures taken in the catalog's order (the runner lists them by
    name) and each measure's statistics in the order it declares them; the
    features of a family in that same order.

    Parameters
    ----------
    catalog : core.catalog.Catalog
        Measure name -> the statistics it declares.

    Returns
    -------
    tuple of Family
    """
    out = []
    for name, members in family_members(catalog).items():
        measures = {m for m, _ in members}
        features = tuple(dict.fromkeys(s for _, s in members))
        out.append(Family(name, features, measures.pop() if len(measures) == 1 else None))
    return tuple(out)


@dataclass
class FamilyData:
    """The regression data of one family: complete runs only, sorted by run_id.

    Attributes
    ----------
    features : list of str
        Features used (present in the store and not constant).
    missing, constant : list of str
        Features absent from the store; features constant over the runs.
    run_ids : ndarray of shape (n_runs,)
    X : ndarray of shape (n_runs, n_features)
        Raw feature values.
    y : ndarray of shape (n_runs,)
        Final generalization gap.
    status : str
        ``"ok"`` or why the family is not analysed.
    """

    family: Family
    features: list[str]
    missing: list[str]
    constant: list[str]
    run_ids: np.ndarray
    X: np.ndarray
    y: np.ndarray
    status: str = "ok"


def standardise(X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` (shape (n_runs, n_features)) to mean 0, std 1 (ddof=0)."""
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def is_constant(v: np.ndarray) -> bool:
    """True when ``v`` (shape (n,)) is empty or constant up to rounding (1e-12 relative)."""
    return v.size == 0 or float(np.ptp(v)) <= 1e-12 * max(1.0, float(np.max(np.abs(v))))


def family_data(family: Family, features: pl.DataFrame, gaps: pl.DataFrame,
                min_runs: int) -> FamilyData:
    """Pivot the long ``run_features`` rows of one family to a regression matrix.

    Parameters
    ----------
    family : Family
    features : polars.DataFrame
        Rows of ``run_features`` (run_id, measure, statistic, value).
    gaps : polars.DataFrame
        Rows of ``final_gaps`` (run_id, gen_gap).
    min_runs : int

    Returns
    -------
    FamilyData
    """
    import polars as pl

    rows = features.filter(pl.col("statistic").is_in(list(family.features)))
    if family.measure is not None:
        rows = rows.filter(pl.col("measure") == family.measure)
    clash = rows.group_by("statistic").agg(pl.col("measure").unique()).filter(
        pl.col("measure").list.len() > 1)
    if clash.height:
        stat, measures = clash.row(0)
        raise ValueError(f"Family {family.name!r}: statistic {stat!r} is stored under "
                         f"measures {sorted(measures)}; set Family(measure=...) to choose.")
    present = [f for f in family.features if f in set(rows["statistic"].to_list())]
    missing = [f for f in family.features if f not in present]
    empty = np.empty((0, 0))
    if not present:
        return FamilyData(family, [], missing, [], np.array([], dtype=object), empty,
                          np.empty(0), "not computed")
    wide = (rows.pivot(on="statistic", index="run_id", values="value", aggregate_function="first")
            .join(gaps.select("run_id", "gen_gap"), on="run_id", how="inner")
            .sort("run_id"))
    X = wide.select(present).to_numpy().astype(float)
    complete = np.all(np.isfinite(X), axis=1)
    X, y = X[complete], wide["gen_gap"].to_numpy().astype(float)[complete]
    run_ids = wide["run_id"].to_numpy()[complete]
    constant = [f for j, f in enumerate(present) if is_constant(X[:, j])]
    used = [f for f in present if f not in constant]
    X = X[:, [present.index(f) for f in used]]
    status = "ok"
    if len(y) < min_runs:
        status = f"too few runs (n={len(y)} < {min_runs})"
    elif is_constant(y):
        status = "constant gap"
    elif not used:
        status = "all features constant"
    return FamilyData(family, used, missing, constant, run_ids, X, y, status)


