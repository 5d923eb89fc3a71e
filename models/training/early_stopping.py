"""Early stopping on the validation loss, restoring the weights of the best epoch."""

from __future__ import annotations

import math

import torch
from torch import nn

from models.data import DataSplits
from models.training.metrics import state_copy
from models.training.spec import TrainingSpec

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Tracks the validation loss epoch by epoch and says when to stop.

    After every epoch the validation loss is compared with the lowest so far
    (from epoch 1; a NaN never improves). Training stops after epoch
    ``s < epochs`` when the best epoch ``b`` is ``s - patience``; never at the
    last epoch (there is nothing left to stop). When it ran all epochs, the
    final weights are the last epoch's (as with tf.keras 2's
    ``EarlyStopping(restore_best_weights=True)``) and :attr:`best_epoch` still
    says where the validation loss was lowest.

    Parameters
    ----------
    patience : int
        Epochs without improvement before stopping.
    epochs : int
        The most epochs training runs.

    Attributes
    ----------
    best_epoch : int or None
        Epoch of the lowest validation loss so far.
    stopped_epoch : int or None
        The epoch after which training stopped; None while it goes on.
    """

    def __init__(self, patience: int, epochs: int):
        self.patience, self.epochs = patience, epochs
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._best_loss = math.inf
        self._best_state: dict[str, torch.Tensor] | None = None

    @classmethod
    def for_run(cls, spec: TrainingSpec, data: DataSplits) -> "EarlyStopping | None":
        """The early stopping ``spec`` asks for, or None without ``early_stopping_patience``.

        Raises
        ------
        ValueError
            If early stopping is asked for and ``data`` has no validation split.
        """
        if spec.early_stopping_patience is None:
            return None
        if len(data.x["val"]) == 0:
            raise ValueError("early_stopping_patience needs a validation split: set dataset.val_fraction > 0")
        return cls(spec.early_stopping_patience, spec.epochs)

    def update(self, epoch: int, val_loss: float, model: nn.Module) -> bool:
        """Record epoch ``epoch``'s validation loss; True when training stops after it.

        Keeps a copy of ``model``'s weights whenever the loss improves.
        """
        val_loss = val_loss if math.isfinite(val_loss) else math.inf
        if self.best_epoch is None or val_loss < self._best_loss:
            self._best_loss, self._best_state, self.best_epoch = val_loss, state_copy(model), epoch
        elif epoch - self.best_epoch >= self.patience and epoch < self.epochs:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model: nn.Module) -> None:
        """Load the weights of :attr:`best_epoch` into ``model``."""
        model.load_state_dict(self._best_state)

    def note(self, restored_epochs: list[int]) -> str:
        """What happened, in words, for the run's notes.

        ``restored_epochs`` are the checkpoint epochs after the stop, which
        hold the restored weights.
        """
        if self.stopped_epoch is not None:
            return (f"early stopping after epoch {self.stopped_epoch}: no validation-loss improvement "
                    f"for {self.patience} epochs; restored the weights of epoch {self.best_epoch}, "
                    f"which checkpoint epochs {restored_epochs} hold")
        return (f"early stopping did not trigger in {self.epochs} epochs; the final weights are epoch "
                f"{self.epochs}'s (lowest validation loss at epoch {self.best_epoch})")
