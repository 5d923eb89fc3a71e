"""What updates the weights: the optimiser, the learning-rate schedule, mixed precision.

The schedule is a closed form of (epoch, batch) rather than a torch
scheduler object, so a resumed or restored run needs no scheduler state and
the learning rate of every batch can be read off the spec.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from typing import Callable

import torch
from torch import nn

from models.training.spec import TrainingSpec

__all__ = ["learning_rate", "make_optimizer", "set_learning_rate", "mixed_precision"]


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


def make_optimizer(spec: TrainingSpec, model: nn.Module) -> torch.optim.Optimizer:
    """The optimiser of ``spec.optimizer`` over every parameter of ``model``.

    SGD takes ``momentum``, ``nesterov`` and ``weight_decay``; Adam and AdamW
    take ``weight_decay`` (coupled to the gradient for Adam, decoupled for
    AdamW). The learning rate is set batch by batch (:func:`set_learning_rate`).
    """
    if spec.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum,
                               weight_decay=spec.weight_decay, nesterov=spec.nesterov)
    adam = torch.optim.Adam if spec.optimizer == "adam" else torch.optim.AdamW
    return adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def mixed_precision(spec: TrainingSpec, device: torch.device, notes: list[str]
                    ) -> tuple[Callable[[], contextlib.AbstractContextManager], torch.amp.GradScaler]:
    """The autocast context factory and gradient scaler for ``spec.amp`` on ``device``.

    Parameters
    ----------
    spec : TrainingSpec
    device : torch.device
        Where the network trains; mixed precision is used on CUDA only.
    notes : list of str
        Receives a note when ``amp`` is asked for but ignored (not CUDA).

    Returns
    -------
    autocast : callable
        Returns a fresh context manager for one forward pass: bfloat16
        autocast where CUDA supports it, else float16; a null context without
        ``amp`` or off CUDA.
    scaler : torch.amp.GradScaler
        Enabled for float16 only (loss scaling); a pass-through otherwise.
    """
    if spec.amp and device.type != "cuda":
        notes.append(f"amp ignored: mixed precision is used on CUDA only; trained in float32 on {device.type}")
    if not spec.amp or device.type != "cuda":
        return contextlib.nullcontext, torch.amp.GradScaler("cuda", enabled=False)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast("cuda", dtype=dtype)), torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
