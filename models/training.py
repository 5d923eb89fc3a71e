"""The training loop: one function, readable top to bottom.

Deterministic on the CPU: the same spec and seed give bit-identical metrics
(seeded initialisation, a seeded generator for the batch order and another for
data augmentation, deterministic algorithms, a fixed number of threads set by
the caller). Options whose defaults keep the original behaviour: SGD with
Nesterov momentum, AdamW, cosine and constant schedules, linear warm-up, label
smoothing, gradient clipping, early stopping on the validation loss, mixed
precision (CUDA only) and ``torch.compile``.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator
from torch import nn

from models.data import SPLITS, DataSplits
from models.regularisers import RegulariserParams, get_regulariser


class TrainingSpec(BaseModel):
    """The ``[training]`` section of a manifest.

    Attributes
    ----------
    optimizer : {"sgd", "adam", "adamw"}
        ``adamw`` decouples ``weight_decay`` from the gradient (Loshchilov and Hutter 2019).
    lr : float
        Peak learning rate.
    momentum : float
        SGD momentum (ignored by Adam and AdamW).
    nesterov : bool
        Nesterov momentum (SGD with ``momentum > 0`` only).
    weight_decay : float
        L2 penalty coefficient passed to the optimiser.
    batch_size : int
    epochs : int
        Maximum number of passes over the training split.
    schedule : {"multistep", "cosine", "constant"}
        Learning rate per epoch, see :func:`learning_rate`.
    milestones : tuple of int
        ``multistep``: epochs after which the learning rate is multiplied by ``gamma``.
    gamma : float
    warmup_epochs : int
        Linear warm-up over the first ``warmup_epochs`` epochs, batch by batch.
    label_smoothing : float in [0, 1)
        Label smoothing of the training loss (the metrics' loss is plain cross-entropy).
    grad_clip : float or None
        Maximum global L2 norm of the gradient (``clip_grad_norm_``); None: no clipping.
    early_stopping_patience : int or None
        Stop when the validation loss has not improved for this many epochs,
        and restore the weights of the best epoch (see :func:`train`).
    amp : bool
        Mixed precision on CUDA (bfloat16, or float16 with loss scaling where
        bfloat16 is unsupported); ignored on the CPU, with a note in the result.
    compile : bool
        Train through ``torch.compile(model)`` (evaluation uses the plain
        model). The network trained is the same up to rounding, except that
        dropout masks then come from the compiler's random stream (seeded,
        reproducible, but not the eager masks).
    checkpoints : tuple of int
        Epochs whose weights are saved and measured; the last epoch is always
        added. Epoch 0 is the initialisation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(40, ge=1)
    schedule: Literal["multistep", "cosine", "constant"] = "multistep"
    milestones: tuple[int, ...] = ()
    gamma: float = Field(0.1, gt=0.0)
    warmup_epochs: int = Field(0, ge=0)
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    grad_clip: float | None = Field(None, gt=0.0)
    early_stopping_patience: int | None = Field(None, ge=1)
    amp: bool = False
    compile: bool = False
    checkpoints: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> "TrainingSpec":
        bad = [e for e in self.checkpoints if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"checkpoints must be epochs in [0, {self.epochs}]; got {list(bad)}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError(f"nesterov needs optimizer = \"sgd\" and momentum > 0; got optimizer = "
                             f"{self.optimizer!r}, momentum = {self.momentum}")
        given = {"milestones", "gamma"} & self.model_fields_set
        if self.schedule != "multistep" and given:
            raise ValueError(f"{' and '.join(sorted(given))} only apply to schedule = \"multistep\"; "
                             f"got schedule = {self.schedule!r}")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs must be < epochs = {self.epochs}; got {self.warmup_epochs}")
        return self

    @property
    def checkpoint_epochs(self) -> tuple[int, ...]:
        """Sorted checkpoint epochs, the last epoch included."""
        return tuple(sorted(set(self.checkpoints) | {self.epochs}))


class RegulariserSpec(BaseModel):
    """The ``[regulariser]`` section: a registered regulariser, its weight and params."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "none"
    weight: float = Field(0.0, ge=0.0)
    params: SerializeAsAny[RegulariserParams] = Field(default_factory=RegulariserParams)


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
    """What :func:`train` returns.

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


def learning_rate(spec: TrainingSpec, epoch: int, step: int = 0, steps_per_epoch: int = 1) -> float:
    """Learning rate of batch ``step`` of epoch ``epoch``.

    Parameters
    ----------
    spec : TrainingSpec
    epoch : int
        1-based epoch.
    step, steps_per_epoch : int
        0-based batch index within the epoch, and batches per epoch (warm-up only).

    Returns
    -------
    float
        ``base(epoch) * warm``, with, for ``W = warmup_epochs`` and ``E = epochs``:

        - ``constant``: ``lr``;
        - ``multistep``: ``lr`` times ``gamma`` once for every milestone
          ``m < epoch`` (exactly ``torch.optim.lr_scheduler.MultiStepLR`` stepped
          after every epoch);
        - ``cosine``: ``lr * (1 + cos(pi * t / (E - W))) / 2`` with
          ``t = max(epoch - 1 - W, 0)`` (``CosineAnnealingLR`` with
          ``T_max = E - W`` after the warm-up, stepped after every epoch);
        - ``warm = s / (W * steps_per_epoch)`` for the ``s``-th batch (1-based)
          of the warm-up epochs, then 1.
    """
    lr = spec.lr
    if spec.schedule == "multistep":
        for milestone, count in sorted(Counter(spec.milestones).items()):
            if milestone < epoch:
                lr = lr * spec.gamma ** count
    elif spec.schedule == "cosine":
        t = max(epoch - 1 - spec.warmup_epochs, 0)
        lr = spec.lr * 0.5 * (1.0 + math.cos(math.pi * t / (spec.epochs - spec.warmup_epochs)))
    if epoch <= spec.warmup_epochs:
        lr = lr * (((epoch - 1) * steps_per_epoch + step + 1) / (spec.warmup_epochs * steps_per_epoch))
    return lr


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on ``(x, y)``.

    Parameters
    ----------
    model : nn.Module
        Batches are moved to the device of its parameters.
    x : Tensor of shape (n, *input_shape)
    y : Tensor of shape (n,)

    Returns
    -------
    (float, float)
        NaN and NaN for an empty split.
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


def _epoch_metrics(model: nn.Module, data: DataSplits, epoch: int, reg: float | None, lr: float | None,
                   restored_from: int | None = None) -> EpochMetrics:
    loss, acc = {}, {}
    for split in SPLITS:
        loss[split], acc[split] = evaluate(model, data.x[split], data.y[split])
    return EpochMetrics(epoch, loss, acc, reg, lr, restored_from)


def _optimizer(spec: TrainingSpec, model: nn.Module) -> torch.optim.Optimizer:
    if spec.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum,
                               weight_decay=spec.weight_decay, nesterov=spec.nesterov)
    adam = torch.optim.Adam if spec.optimizer == "adam" else torch.optim.AdamW
    return adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)


def _mixed_precision(spec: TrainingSpec, device: torch.device, notes: list[str]):
    """``(autocast context factory, GradScaler)`` for ``spec.amp`` on ``device``."""
    if spec.amp and device.type != "cuda":
        notes.append(f"amp ignored: mixed precision is used on CUDA only; trained in float32 on {device.type}")
    if not spec.amp or device.type != "cuda":
        return contextlib.nullcontext, torch.amp.GradScaler("cuda", enabled=False)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast("cuda", dtype=dtype)), torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)


def _augment_generator(seed: int) -> torch.Generator:
    """The augmentation stream of a run: a generator apart from the batch order's."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, 1]).generate_state(1)[0]))


def _copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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
    Early stopping (``early_stopping_patience = p``): after every epoch the
    validation loss is compared with the lowest so far (from epoch 1; a NaN
    never improves); training stops after epoch ``s < spec.epochs`` when the
    best epoch ``b`` is ``s - p``. The weights of epoch ``b`` are then restored and the
    network is frozen: every checkpoint epoch after ``s`` (always the last,
    ``spec.epochs``) holds the restored weights, and its metrics are those of
    the restored network (equal to epoch ``b``'s), marked ``restored_from = b``.
    When training runs all epochs without stopping, the final weights are the
    last epoch's (as with tf.keras 2's ``EarlyStopping(restore_best_weights=True)``);
    ``best_epoch`` still says where the validation loss was lowest.
    """
    reg = get_regulariser(regulariser.name)
    use_reg = regulariser.weight > 0 and reg.needs_activations
    patience = spec.early_stopping_patience
    if patience is not None and len(data.x["val"]) == 0:
        raise ValueError("early_stopping_patience needs a validation split: set dataset.val_fraction > 0")
    device = next(model.parameters()).device
    result = TrainResult()
    autocast, scaler = _mixed_precision(spec, device, result.notes)
    opt = _optimizer(spec, model)
    forward = torch.compile(model) if spec.compile else model
    order_gen, augment_gen = torch.Generator().manual_seed(seed), _augment_generator(seed)
    x, y = data.x["train"], data.y["train"]
    steps_per_epoch = math.ceil(len(x) / spec.batch_size)
    best_loss, best_state = math.inf, None

    def finish_epoch(epoch: int, reg_value: float | None, lr: float | None,
                     restored_from: int | None = None) -> EpochMetrics:
        m = _epoch_metrics(model, data, epoch, reg_value, lr, restored_from)
        result.metrics.append(m)
        if epoch in spec.checkpoint_epochs:
            result.checkpoints[epoch] = _copy(model)
        if on_epoch is not None:
            on_epoch(m)
        return m

    finish_epoch(0, None, None)
    for epoch in range(1, spec.epochs + 1):
        model.train()
        reg_sum, n_batches = 0.0, 0
        for step, idx in enumerate(torch.randperm(len(x), generator=order_gen).split(spec.batch_size)):
            lr = learning_rate(spec, epoch, step, steps_per_epoch)
            for group in opt.param_groups:
                group["lr"] = lr
            xb, yb = x[idx], y[idx]
            if data.augment is not None:
                xb = data.augment(xb, augment_gen)
            xb, yb = xb.to(device), yb.to(device)
            record: dict | None = {} if use_reg else None
            with autocast():
                logits = forward(xb, record=record)
            loss = nn.functional.cross_entropy(logits.float(), yb, label_smoothing=spec.label_smoothing)
            if use_reg:
                penalty = reg.fn(regulariser.params, {k: v.float() for k, v in record["post"].items()})
                loss = loss + regulariser.weight * penalty
                reg_sum += penalty.item()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if spec.grad_clip is not None:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
            scaler.step(opt)
            scaler.update()
            n_batches += 1
        m = finish_epoch(epoch, reg_sum / n_batches if use_reg else None, lr)

        if patience is not None:  # early stopping on the validation loss
            val_loss = m.loss["val"] if math.isfinite(m.loss["val"]) else math.inf
            if result.best_epoch is None or val_loss < best_loss:
                best_loss, best_state, result.best_epoch = val_loss, _copy(model), epoch
            elif epoch - result.best_epoch >= patience and epoch < spec.epochs:
                result.stopped_epoch = epoch
                break

    if result.stopped_epoch is not None:  # restore the best weights; later checkpoints hold them
        model.load_state_dict(best_state)
        later = [c for c in spec.checkpoint_epochs if c > result.stopped_epoch]
        for c in later:
            finish_epoch(c, None, None, restored_from=result.best_epoch)
        result.notes.append(f"early stopping after epoch {result.stopped_epoch}: no validation-loss improvement "
                            f"for {patience} epochs; restored the weights of epoch {result.best_epoch}, "
                            f"which checkpoint epochs {later} hold")
    elif patience is not None:
        result.notes.append(f"early stopping did not trigger in {spec.epochs} epochs; the final weights are epoch "
                            f"{spec.epochs}'s (lowest validation loss at epoch {result.best_epoch})")
    return result
