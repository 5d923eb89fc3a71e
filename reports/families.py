"""Feature families: named sets of measure statistics used together as regressors.

A family is a list of statistic names (rows of the ``measures`` table on layer
``'all'``), optionally tied to one measure. :func:`family_data` pivots the long
``run_features`` rows to a regression matrix, keeping the runs that have every
feature, and says why a family cannot be analysed ("not computed" when none of
its features is in the store).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

#: Ballester et al. 2023's headline persistence summaries (H0 and H1).
PERSISTENCE_HEADLINE = ("h0_std_death", "h0_mean_death", "h1_std_birth",
                        "h1_std_death", "h1_mean_birth", "h1_mean_death")


@dataclass(frozen=True)
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
        object.__setattr__(self, "features", tuple(self.features))
        if not self.features:
            raise ValueError(f"Family {self.name!r} must name at least one feature. Got none.")


DEFAULT_FAMILIES: tuple[Family, ...] = (
    Family("weight_spectrum", (
        "mean_frobenius_norm", "mean_spectral_norm", "mean_stable_rank",
        "mean_effective_rank", "mean_condition_number", "mean_stable_quality",
        "log_prod_spectral_norm", "log_prod_frobenius_norm"), "weight_spectrum"),
    Family("neural_collapse", (
        "cdnv_last_hidden", "ncc_accuracy_train_last_hidden",
        "ncc_accuracy_test_last_hidden"), "neural_collapse"),
    Family("activation_persistence", PERSISTENCE_HEADLINE, "activation_persistence"),
    # Ballester et al. 2023's "state of the art": the three PGDL winners' scores.
    Family("pgdl_winners", ("db_times_mixup_error", "augmentation_penalty", "label_variation")),
    # Corneanu et al. 2020: average life and midlife of the functional graph's H1.
    Family("functional_graph", ("h1_life", "h1_midlife"), "functional_graph"),
    # Jiang et al. 2020, Appendix C: norm-based measures, margin and path norm, PAC-Bayes, optimisation.
    Family("jiang_norms", ("log_prod_of_spec", "log_prod_of_fro", "log_sum_of_spec", "log_sum_of_fro",
                           "fro_over_spec", "frobenius_distance", "dist_spec_init", "param_norm"),
           "norm_measures"),
    Family("jiang_margin_path_norm", ("inverse_margin", "path_norm", "path_norm_over_margin")),
    Family("jiang_pac_bayes", ("pacbayes_init", "pacbayes_orig", "pacbayes_flatness"), "pac_bayes"),
    Family("jiang_pac_bayes_magnitude", ("pacbayes_mag_init", "pacbayes_mag_orig", "pacbayes_mag_flatness"),
           "pac_bayes_magnitude"),
    Family("jiang_optimisation", ("epochs_to_loss_0.1",), "steps_to_loss"),
    # Schiff et al. 2021: Gi- and Pal-scores of perturbation response curves (mixup between and within classes).
    Family("perturbation_response", ("gi_score_interclass_mixup", "pal_score_interclass_mixup",
                                     "gi_score_intraclass_mixup", "pal_score_intraclass_mixup"),
           "perturbation_response"),
)


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


