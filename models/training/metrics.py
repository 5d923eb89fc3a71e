"""What training reports: per-epoch loss and accuracy on every split, and the result of a run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from models.data import SPLITS, DataSplits

__all__ = ["EpochMetrics", "TrainResult", "evaluate", "epoch_metrics", "state_copy"]


@dataclass
class EpochMetrics:
    """Loss and accuracy of one epoch on every split (accuracy in [0, 1]).

    ``lr`` is the learning rate of the epoch's last batch (None at epoch 0).
    ``restored_from`` is set on the checkpoint epochs after an early stop: the
    network is then the one restored from that epoch, not trained further.
    """

    epoch: int
    loss: dict[str, float]
    accuracy: dict[str, float]
    regulariser: float | None = None
    lr: float | None = None
    restored_from: int | None = None


@dataclass
class TrainResult:
    """What :func:`models.training.train` returns.

    Attributes
    ----------
    metrics : list of EpochMetrics
        Epochs 0 to the last trained one, then (after an early stop) the
        checkpoint epochs that training did not reach.
    checkpoints : dict[int, dict[str, Tensor]]
        State dict at every checkpoint epoch.
    best_epoch : int or None
        With early stopping: the epoch of lowest validation loss.
    stopped_epoch : int or None
        With early stopping: the last trained epoch when training stopped
        early (None when it ran all epochs).
    notes : list of str
        What the loop did that the spec alone does not say (early stop, amp ignored).
    """

    metrics: list[EpochMetrics] = field(default_factory=list)
    checkpoints: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    notes: list[str] = field(default_factory=list)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on ``(x, y)``.

    Parameters
    ----------
    model : nn.Module
        Batches are moved to the device of its parameters.
    x : Tensor of shape (n, *input_shape)
    y : Tensor of shape (n,)
    batch_size : int
        Examples per forward pass (memory only: the sums are the same).

    Returns
    -------
    (float, float)
        Mean loss in nats and accuracy in [0, 1]; NaN and NaN for an empty split.
    """
    model.eval()
    device = next(model.parameters()).device
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        logits = model(xb)
        loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    if len(x) == 0:
        return math.nan, math.nan
    return loss / len(x), correct / len(x)


def epoch_metrics(model: nn.Module, data: DataSplits, epoch: int, regulariser: float | None = None,
                  lr: float | None = None, restored_from: int | None = None) -> EpochMetrics:
    """Evaluate ``model`` on every split (see :func:`evaluate`) as the metrics of ``epoch``.

    ``regulariser`` (the epoch's mean unweighted penalty), ``lr`` and
    ``restored_from`` are stored as given (see :class:`EpochMetrics`).
    """
    loss, acc = {}, {}
    for split in SPLITS:
        loss[split], acc[split] = evaluate(model, data.x[split], data.y[split])
    return EpochMetrics(epoch, loss, acc, regulariser, lr, restored_from)


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s state dict, on the model's device."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
