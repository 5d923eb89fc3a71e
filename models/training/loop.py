"""The training loop, readable top to bottom: :func:`train` and the pieces it is made of.

Deterministic on the CPU: the same spec and seed give bit-identical metrics
(seeded initialisation by the caller, a seeded generator for the batch order
and another for data augmentation, deterministic algorithms, a fixed number
of threads set by the caller).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from models.data import DataSplits
from models.regularisers import Regulariser, get_regulariser
from models.training.early_stopping import EarlyStopping
from models.training.metrics import EpochMetrics, TrainResult, epoch_metrics, state_copy
from models.training.optim import learning_rate, make_optimizer, mixed_precision, set_learning_rate
from models.training.spec import RegulariserSpec, TrainingSpec

__all__ = ["Batches", "TrainStep", "train_epoch", "EpochRecorder", "train"]


class Batches:
    """The training split's mini-batches, one pass per call of :meth:`epoch`.

    The order is a fresh permutation per epoch from a generator seeded with
    ``seed``; ``data.augment`` (when set) transforms each batch with a second
    generator of its own, so that augmenting or not leaves the order unchanged.
    """

    def __init__(self, data: DataSplits, batch_size: int, seed: int, device: torch.device):
        self.x, self.y, self.augment = data.x["train"], data.y["train"], data.augment
        self.batch_size, self.device = batch_size, device
        self.order = torch.Generator().manual_seed(seed)
        self.augment_generator = torch.Generator().manual_seed(
            int(np.random.SeedSequence([seed, 1]).generate_state(1)[0]))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def epoch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)`` batches, shapes ``(b, *input_shape)`` and ``(b,)``, on the device."""
        for idx in torch.randperm(len(self.x), generator=self.order).split(self.batch_size):
            xb, yb = self.x[idx], self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.augment_generator)
            yield xb.to(self.device), yb.to(self.device)


class TrainStep:
    """One optimiser step on one mini-batch: forward, loss, backward, clipping, update.

    The loss is the cross-entropy of the logits (in float32, with
    ``spec.label_smoothing``) plus ``weight * penalty(activations)`` when a
    regulariser is on.

    Parameters
    ----------
    model : nn.Module
        The network being trained, on its device.
    spec : TrainingSpec
    regulariser : RegulariserSpec
    penalty : Regulariser
        The registered regulariser ``regulariser.name``.
    notes : list of str
        Receives a note when ``amp`` is ignored.
    """

    def __init__(self, model: nn.Module, spec: TrainingSpec, regulariser: RegulariserSpec,
                 penalty: Regulariser, notes: list[str]):
        self.model, self.spec, self.regulariser = model, spec, regulariser
        self.penalty = penalty.fn if regulariser.weight > 0 and penalty.needs_activations else None
        device = next(model.parameters()).device
        self.autocast, self.scaler = mixed_precision(spec, device, notes)
        self.optimizer = make_optimizer(spec, model)
        self.forward = torch.compile(model) if spec.compile else model

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> float | None:
        """Update the weights on the batch ``(x, y)`` at learning rate ``lr``.

        Returns
        -------
        float or None
            The unweighted penalty on this batch; None without a regulariser.
        """
        set_learning_rate(self.optimizer, lr)
        record: dict | None = {} if self.penalty is not None else None
        with self.autocast():
            logits = self.forward(x, record=record)
        loss = nn.functional.cross_entropy(logits.float(), y, label_smoothing=self.spec.label_smoothing)
        value = None
        if self.penalty is not None:
            penalty = self.penalty(self.regulariser.params, {k: v.float() for k, v in record["post"].items()})
            loss = loss + self.regulariser.weight * penalty
            value = penalty.item()
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.spec.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return value


def train_epoch(step: TrainStep, batches: Batches, spec: TrainingSpec, epoch: int
                ) -> tuple[float | None, float | None]:
    """One pass over the training split, the learning rate set batch by batch.

    Returns
    -------
    penalty : float or None
        Mean unweighted penalty over the epoch's batches; None without a regulariser.
    lr : float or None
        The learning rate of the epoch's last batch (None for an empty split).
    """
    step.model.train()
    penalty_sum, n_batches, lr = 0.0, 0, None
    for i, (x, y) in enumerate(batches.epoch()):
        lr = learning_rate(spec, epoch, i, len(batches))
        penalty = step(x, y, lr)
        if penalty is not None:
            penalty_sum += penalty
        n_batches += 1
    return (penalty_sum / n_batches if step.penalty is not None else None), lr


class EpochRecorder:
    """Called after each epoch: evaluates, appends the metrics, saves the checkpoint, reports progress.

    Parameters
    ----------
    model : nn.Module
    data : DataSplits
    spec : TrainingSpec
        Its :attr:`~TrainingSpec.checkpoint_epochs` are copied into ``result.checkpoints``.
    result : TrainResult
        Receives the metrics and the checkpoints.
    on_epoch : callable or None
        Called with each epoch's metrics.
    """

    def __init__(self, model: nn.Module, data: DataSplits, spec: TrainingSpec, result: TrainResult,
                 on_epoch: Callable[[EpochMetrics], None] | None):
        self.model, self.data, self.spec, self.result, self.on_epoch = model, data, spec, result, on_epoch

    def __call__(self, epoch: int, penalty: float | None = None, lr: float | None = None,
                 restored_from: int | None = None, metrics: EpochMetrics | None = None) -> EpochMetrics:
        """Record the network as it is now as epoch ``epoch`` (see :class:`EpochMetrics`).

        ``metrics``, when given, are the network's metrics evaluated already
        (several networks evaluated at once); the other arguments are then unused.
        """
        m = metrics if metrics is not None else epoch_metrics(self.model, self.data, epoch, penalty, lr,
                                                              restored_from)
        self.result.metrics.append(m)
        if epoch in self.spec.checkpoint_epochs:
            self.result.checkpoints[epoch] = state_copy(self.model)
        if self.on_epoch is not None:
            self.on_epoch(m)
        return m


def train(model: nn.Module, data: DataSplits, spec: TrainingSpec, regulariser: RegulariserSpec, seed: int,
          on_epoch: Callable[[EpochMetrics], None] | None = None) -> TrainResult:
    """Train ``model`` in place with mini-batch SGD, Adam or AdamW.

    Parameters
    ----------
    model : Network
        Freshly initialised (the caller seeds its initialisation), on the
        device to train on; batches are moved there.
    data : DataSplits
        ``data.augment``, when set, transforms every training batch.
    spec : TrainingSpec
    regulariser : RegulariserSpec
        ``weight * penalty(activations)`` is added to the training loss.
    seed : int
        Seeds the order of mini-batches and, separately, the augmentation.
    on_epoch : callable, optional
        Called with each epoch's metrics (progress reporting).

    Returns
    -------
    TrainResult
        Metrics for epochs 0 (initialisation) to the last trained epoch and a
        copy of the state dict at every checkpoint epoch.

    Notes
    -----
    Early stopping (``early_stopping_patience``, see :class:`EarlyStopping`):
    when training stops after epoch ``s``, the weights of the best epoch ``b``
    are restored and the network is frozen: every checkpoint epoch after
    ``s`` (always the last, ``spec.epochs``) holds the restored weights, and
    its metrics are those of the restored network (equal to epoch ``b``'s),
    marked ``restored_from = b``.
    """
    penalty = get_regulariser(regulariser.name)
    stopper = EarlyStopping.for_run(spec, data)
    result = TrainResult()
    step = TrainStep(model, spec, regulariser, penalty, result.notes)
    batches = Batches(data, spec.batch_size, seed, next(model.parameters()).device)
    record = EpochRecorder(model, data, spec, result, on_epoch)

    record(0)
    for epoch in range(1, spec.epochs + 1):
        mean_penalty, lr = train_epoch(step, batches, spec, epoch)
        metrics = record(epoch, mean_penalty, lr)
        if stopper is not None and stopper.update(epoch, metrics.loss["val"], model):
            break
    if stopper is not None:
        _after_early_stopping(stopper, model, spec, record, result)
    return result


def _after_early_stopping(stopper: EarlyStopping, model: nn.Module, spec: TrainingSpec,
                          record: EpochRecorder, result: TrainResult) -> None:
    """Copy the early-stopping outcome into ``result``; after a stop, restore the best
    weights and record them at the checkpoint epochs that training did not reach."""
    result.best_epoch, result.stopped_epoch = stopper.best_epoch, stopper.stopped_epoch
    later: list[int] = []
    if stopper.stopped_epoch is not None:
        stopper.restore(model)
        later = [c for c in spec.checkpoint_epochs if c > stopper.stopped_epoch]
        for c in later:
            record(c, restored_from=stopper.best_epoch)
    result.notes.append(stopper.note(later))
