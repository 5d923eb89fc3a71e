"""Jiang et al. 2020 optimisation-based measures: epochs to reach a training cross-entropy, on hand-made histories."""

import math

import numpy as np
import pydantic
import pytest

from measures.baselines.optimisation import StepsToLossParams, first_epoch_below, steps_to_loss


def history(loss):
    loss = np.asarray(loss, dtype=np.float64)
    epochs = np.arange(loss.size, dtype=np.float64)
    return {"train": {"epoch": epochs, "loss": loss, "accuracy": np.zeros_like(loss)},
            "test": {"epoch": epochs, "loss": np.full_like(loss, 9.0), "accuracy": np.zeros_like(loss)}}


def rows(result):
    return {stat: value for _, stat, value in result.rows}


def test_epochs_by_hand():
    # epoch:  0    1    2    3     4      5      6
    loss = [2.3, 0.5, 0.1, 0.05, 0.02, 0.009, 0.001]
    got = rows(steps_to_loss(StepsToLossParams(), history=history(loss)))
    # loss <= 0.1 first at epoch 2 (the bound is inclusive), <= 0.01 first at epoch 5; the test split is ignored
    assert got == {"epochs_to_loss_0.1": 2.0, "epochs_from_loss_0.1_to_0.01": 3.0,
                   "reached_loss_0.1": 1.0, "reached_loss_0.01": 1.0}


def test_levels_never_reached_are_nan_with_the_reason_recorded():
    got = rows(steps_to_loss(StepsToLossParams(), history=history([2.3, 0.4, 0.08, 0.05])))
    assert got["epochs_to_loss_0.1"] == 2.0 and got["reached_loss_0.1"] == 1.0
    assert math.isnan(got["epochs_from_loss_0.1_to_0.01"]) and got["reached_loss_0.01"] == 0.0
    got = rows(steps_to_loss(StepsToLossParams(loss=0.5, final_loss=0.2), history=history([2.3, 1.0, 0.9])))
    assert math.isnan(got["epochs_to_loss_0.5"]) and got["reached_loss_0.5"] == 0.0


def test_unsorted_epochs_and_nan_losses():
    assert first_epoch_below([0, 1, 2, 3], [1.0, np.nan, 0.05, 0.01], 0.1) == 2.0  # NaN never counts
    with pytest.raises(ValueError, match="increasing"):
        first_epoch_below([0, 2, 1], [1.0, 0.5, 0.05], 0.1)
    with pytest.raises(ValueError, match="history\\['train'\\]"):
        steps_to_loss(StepsToLossParams(), history={"test": {}})
    with pytest.raises(pydantic.ValidationError, match="final_loss must be below loss"):
        StepsToLossParams(loss=0.01, final_loss=0.1)
