"""Training a network: the manifest's ``[training]`` and ``[regulariser]`` sections and the loop.

- :mod:`models.training.spec`: :class:`TrainingSpec`, :class:`RegulariserSpec`;
- :mod:`models.training.optim`: the optimiser, :func:`learning_rate`, mixed precision;
- :mod:`models.training.loop`: :func:`train`, made of :class:`~models.training.loop.Batches`,
  :class:`~models.training.loop.TrainStep` and :func:`~models.training.loop.train_epoch`;
- :mod:`models.training.metrics`: :class:`EpochMetrics`, :class:`TrainResult`, :func:`evaluate`;
- :mod:`models.training.early_stopping`: :class:`EarlyStopping`.

Options whose defaults keep the original behaviour: SGD with Nesterov
momentum, AdamW, cosine and constant schedules, linear warm-up, label
smoothing, gradient clipping, early stopping on the validation loss, mixed
precision (CUDA only) and ``torch.compile``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.training.early_stopping import EarlyStopping
    from models.training.loop import train
    from models.training.metrics import EpochMetrics, TrainResult, evaluate
    from models.training.optim import learning_rate
    from models.training.spec import RegulariserSpec, TrainingSpec

#: Where each export lives; imported when first asked for (PEP 562), so that
#: ``from models.training import TrainingSpec`` imports only the light spec module.
_EXPORTS = {
    "TrainingSpec": "spec",
    "RegulariserSpec": "spec",
    "train": "loop",
    "learning_rate": "optim",
    "evaluate": "metrics",
    "EpochMetrics": "metrics",
    "TrainResult": "metrics",
    "EarlyStopping": "early_stopping",
}

__all__ = ["TrainingSpec", "RegulariserSpec", "train", "learning_rate", "evaluate", "EpochMetrics", "TrainResult",
           "EarlyStopping"]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"models.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
