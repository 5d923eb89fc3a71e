"""Networks trained elsewhere: what an architecture provides instead of being trained.

An architecture registered with ``imported=Imported(...)`` (see
:func:`models.architectures.register_model`) builds networks whose weights
come from files, e.g. the PGDL competition's models (:mod:`models.pgdl`). A
run of such a network is *imported*: the runner resolves its parameters against
the files when it plans (:attr:`Imported.resolve`), takes the hyperparameters
the network was trained with as the run's sweep axes (:attr:`Imported.axes`),
and, where other runs train, stores the weights and the metrics that
:attr:`Imported.result` returns. Everything downstream (checkpoints, measures,
reports) is the same as for a trained run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from models.architectures import ModelParams, Network
    from models.data import DatasetSpec, DataSplits
    from models.training import TrainingSpec, TrainResult


@dataclass(frozen=True)
class Imported:
    """How an architecture provides networks trained elsewhere.

    Attributes
    ----------
    resolve : callable
        ``resolve(params, dataset) -> list of ModelParams``: the networks that
        ``params`` names, completed from the run's ``DatasetSpec`` (e.g. one per
        model of ``id = "all"``). Raises ``FileNotFoundError`` naming the missing
        files and how to fetch them, ``ValueError`` when ``params`` and
        ``dataset`` do not belong together. Called when a manifest is planned,
        never when it is only loaded.
    axes : callable
        ``axes(params) -> dict[str, Any]``: the hyperparameters the network was
        trained with; they replace the run's own sweep axes.
    result : callable
        ``result(model, data, params, training) -> TrainResult``: ``model`` is
        the network as built (at its initialisation), on its device; the result
        holds a state dict at each of ``training.checkpoint_epochs`` and the
        metrics of those epochs, as :func:`models.training.train` returns them.
    """

    resolve: Callable[["ModelParams", "DatasetSpec"], list["ModelParams"]]
    axes: Callable[["ModelParams"], dict[str, Any]]
    result: Callable[["Network", "DataSplits", "ModelParams", "TrainingSpec"], "TrainResult"]
