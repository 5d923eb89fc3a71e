"""Training a network: the manifest's ``[training]`` and ``[regulariser]`` sections and the loop.

- :mod:`models.training.spec`: :class:`TrainingSpec`, :class:`RegulariserSpec`;
- :mod:`models.training.optim`: the optimiser, :func:`learning_rate`, mixed precision;
- :mod:`models.training.loop`: :func:`train`, made of :class:`~models.training.loop.Batches`,
  :class:`~models.training.loop.TrainStep` and :func:`~models.training.loop.train_epoch`;
- :mod:`models.training.metrics`: :class:`EpochMetrics`, :class:`TrainResult`, :func:`evaluate`;
- :mod:`models.training.early_stopping`: :class:`EarlyStopping`;
- :mod:`models.training.ensemble`: :func:`train_ensemble`, K networks of one architecture trained
  together as one batched computation, each bit for bit as :func:`train` trains it alone on the CPU
  (:mod:`~models.training.stacked`, :mod:`~models.training.stacked_sgd`, :mod:`~models.training.stacked_eval`).

Options whose defaults keep the original behaviour: SGD with Nesterov
momentum, AdamW, cosine and constant schedules, linear warm-up, label
smoothing, gradient clipping, early stopping on the validation loss, mixed
precision (CUDA only) and ``torch.compile``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.training.early_stopping import EarlyStopping
    from models.training.ensemble import ensemble_compatible, ensemble_key, train_ensemble
    from models.training.loop import train
    from models.training.metrics import EpochMetrics, TrainResult, evaluate
    from models.training.optim import learning_rate
    from models.training.spec import RegulariserSpec, TrainingSpec

#: Where each export lives; imported when first asked for (PEP 562), so that
#: ``from models.training import TrainingSpec`` imports only the light spec module.
_EXPORTS = {
    "EarlyStopping": "early_stopping",
    "EpochMetrics": "metrics",
    "RegulariserSpec": "spec",
    "TrainResult": "metrics",
    "TrainingSpec": "spec",
    "ensemble_compatible": "ensemble",
    "ensemble_key": "ensemble",
    "evaluate": "metrics",
    "learning_rate": "optim",
    "train": "loop",
    "train_ensemble": "ensemble",
}

__all__ = [
    "EarlyStopping",
    "EpochMetrics",
    "RegulariserSpec",
    "TrainResult",
    "TrainingSpec",
    "ensemble_compatible",
    "ensemble_key",
    "evaluate",
    "learning_rate",
    "train",
    "train_ensemble",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"models.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
