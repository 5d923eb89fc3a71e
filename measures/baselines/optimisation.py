"""Optimisation-based baselines: how long training takes to reach a cross-entropy (Jiang et al. 2020, Appendix C)."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from measures.baselines.margin import PAPER
from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure


class StepsToLossParams(MeasureParams):
    """Parameters of :func:`steps_to_loss`: the paper's cross-entropy levels 0.1 and 0.01 (nats)."""

    loss: float = Field(0.1, gt=0.0)
    final_loss: float = Field(0.01, gt=0.0)

    @model_validator(mode="after")
    def _ordered(self):
        if not self.final_loss < self.loss:
            raise ValueError(f"final_loss must be below loss; got loss={self.loss}, final_loss={self.final_loss}")
        return self


def first_epoch_below(epochs: np.ndarray, loss: np.ndarray, level: float) -> float:
    """The first epoch whose loss is at most ``level``, or NaN when none is.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs + 1,)
        Increasing epoch numbers (0: the initialisation).
    loss : ndarray of shape (n_epochs + 1,)
        Cross-entropy (nats) after each epoch; NaN entries never count as reached.
    level : float

    Returns
    -------
    float
        An epoch number, or NaN.

    Raises
    ------
    ValueError
        If the arrays differ in shape, are empty, or ``epochs`` is not increasing.
    """
    epochs, loss = np.asarray(epochs, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    if epochs.ndim != 1 or epochs.shape != loss.shape or epochs.size == 0:
        raise ValueError(f"expected epochs and loss of the same shape (n_epochs + 1,); got {epochs.shape} "
                         f"and {loss.shape}")
    if np.any(np.diff(epochs) <= 0):
        raise ValueError(f"epochs must be increasing; got {epochs.tolist()}")
    hit = np.flatnonzero(loss <= level)  # NaN compares False
    return float(epochs[hit[0]]) if hit.size else float("nan")


DECLARED_STATISTICS = (
    Statistic("epochs_to_loss_0.1", None, families=("jiang_optimisation",)),
    Statistic("epochs_to_loss_*", None),
    Statistic("epochs_from_loss_*", None),
    Statistic("reached_loss_*", None),
)


@register_measure(providers=("history",), params=StepsToLossParams, version=1, statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper=PAPER)
def steps_to_loss(params: StepsToLossParams, *, history: dict) -> MeasureResult:
    """Epochs to reach a training cross-entropy of 0.1, and from 0.1 to 0.01 (Jiang et al. 2020, Appendix C).

    The paper counts optimisation steps to reach cross-entropy 0.1 and from
    0.1 to 0.01 on the training set; genlab records the training loss once per
    epoch (the ``history`` provider), so these are counted in epochs (times
    the number of batches per epoch, they are the paper's steps up to one
    epoch's resolution). Rows on layer ``"all"``, with ``L = params.loss`` and
    ``L' = params.final_loss`` printed with ``%g``:

    - ``epochs_to_loss_<L>``: the first epoch whose training loss is <= ``L``;
    - ``epochs_from_loss_<L>_to_<L'>``: the first epoch <= ``L'`` minus the first <= ``L``;
    - ``reached_loss_<L>``, ``reached_loss_<L'>``: 1.0 when the run reached the level, else 0.0.

    A level the run never reached makes its epoch rows NaN (the count is
    censored: it is at least the number of epochs trained); the ``reached_``
    rows record why, and reports drop non-finite values. The history is the
    whole run's, so every checkpoint of a run gets the same values. No single
    sign (the paper finds fewer steps to 0.1 goes with a smaller gap, but
    that sign is not guaranteed).

    Parameters
    ----------
    params : StepsToLossParams
    history : dict[str, dict[str, ndarray of shape (n_epochs + 1,)]]
        Needs ``history["train"]["epoch"]`` (increasing, 0: the initialisation)
        and ``history["train"]["loss"]`` (cross-entropy, nats).

    Returns
    -------
    MeasureResult
        The four ``rows`` above on layer ``"all"``; no diagrams. Units: the
        ``epochs_`` rows in epochs (NaN when censored), the ``reached_`` rows
        dimensionless flags in {0, 1}.

    Raises
    ------
    ValueError
        If ``history["train"]`` lacks ``"epoch"`` or ``"loss"``, the two differ
        in shape or are empty, or the epochs are not increasing
        (:func:`first_epoch_below`).

    References
    ----------
    Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic generalization measures and where to
    find them", ICLR 2020, Appendix C, optimisation-based measures: the number of steps to reach
    cross-entropy 0.1, and from 0.1 to 0.01.
    """
    train = history.get("train", {})
    if "epoch" not in train or "loss" not in train:
        raise ValueError(f"steps_to_loss needs history['train'] with 'epoch' and 'loss'; got splits {sorted(history)}"
                         f" and keys {sorted(train)}")
    first = first_epoch_below(train["epoch"], train["loss"], params.loss)
    final = first_epoch_below(train["epoch"], train["loss"], params.final_loss)
    lo, hi = f"{params.loss:g}", f"{params.final_loss:g}"
    result = MeasureResult()
    result.add("all", f"epochs_to_loss_{lo}", first)
    result.add("all", f"epochs_from_loss_{lo}_to_{hi}", final - first)
    result.add("all", f"reached_loss_{lo}", float(not np.isnan(first)))
    result.add("all", f"reached_loss_{hi}", float(not np.isnan(final)))
    return result
