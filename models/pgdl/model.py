"""The architecture ``pgdl``: a network of a PGDL task, imported from its files, never trained.

A run of it (see :mod:`models.imported`):

- is planned per model: ``id = "all"`` becomes one run per ``model_<id>``
  folder of the task, and ``root``/``task`` left out are the data set's;
- has the task's hyperparameters (``reference_data/<task>/model_configs.json``,
  each one's ``current_value``) as its sweep axes, named ``hparams.<name>``;
- is built at its initialisation (``weights_init.hdf5``) and stores the trained
  weights (``weights.hdf5``) as the checkpoint of epoch ``training.epochs``
  (and the initial ones as epoch 0 when 0 is a checkpoint);
- has metrics at those epochs recomputed on the data set's splits (rows as for
  a trained run, so the ``gaps`` view and every report use them), and, at the
  last epoch, the organisers' accuracies as the splits ``train_reference`` and
  ``test_reference`` (loss NaN unless the file has ``train_loss``/``test_loss``).
"""

from __future__ import annotations

import importlib.util
import json
import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from models.architectures import ModelParams, register_model
from models.data import SPLITS, DatasetSpec, DataSplits
from models.imported import Imported
from models.pgdl.files import MODEL_FILES, TaskFiles, reference

if TYPE_CHECKING:
    from models.architectures import Network


class PGDLParams(ModelParams):
    """``pgdl``: one network of a PGDL task.

    Attributes
    ----------
    id : int or "all"
        The model: ``input_data/<task>/model_<id>``; ``"all"``: every model of
        the task (one run each).
    task : str or None
        E.g. ``"task1_v4"``; None: the data set's ``task``.
    root : str or None
        The folder of the PGDL data; None: the data set's ``root``.
    """

    id: Annotated[int, Field(ge=0)] | Literal["all"] = "all"
    task: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]+$")
    root: str | None = Field(None, min_length=1)


def _files(params: PGDLParams) -> TaskFiles:
    if params.root is None or params.task is None or params.id == "all":
        raise ValueError(f"model 'pgdl' needs root, task and one model id to build a network; got "
                         f"root={params.root!r}, task={params.task!r}, id={params.id!r} (a manifest's runs get them "
                         f"from [dataset] when the manifest is planned)")
    files = TaskFiles.find(params.root, params.task)
    files.require(files.missing_model(params.id))
    return files


def _translate(files: TaskFiles, model_id: int):
    from models.pgdl.keras import keras_network

    with open(files.model_dir(model_id) / "config.json") as f:
        config = json.load(f)
    return keras_network(config)


#: The modules of the ``pgdl`` extra (package names differ only for tensorboardX).
EXTRA = ("h5py", "crc32c", "tfrecord", "tensorboardX")


def _resolve(params: PGDLParams, dataset: DatasetSpec) -> list[PGDLParams]:
    """The runs ``params`` names: ``root``/``task`` from the data set, ``id = "all"`` expanded, files checked."""
    absent = [name for name in EXTRA if importlib.util.find_spec(name) is None]
    if absent:
        raise ValueError(f"PGDL networks need the pgdl extra: pip install 'genlab[pgdl]' "
                         f"(missing: {', '.join(absent)})")
    if dataset.name != "pgdl":
        raise ValueError(f"model 'pgdl' is evaluated on its task's data: set [dataset] name = \"pgdl\" "
                         f"(found {dataset.name!r})")
    if dataset.download:
        raise ValueError("dataset.download is not available for pgdl: fetch the public data once as the "
                         "README's PGDL section says, and remove download")
    for key in ("root", "task"):
        mine, theirs = getattr(params, key), getattr(dataset, key)
        if mine is not None and mine != theirs:
            raise ValueError(f"model.{key} = {mine!r} differs from dataset.{key} = {theirs!r}; the network and its "
                             f"data come from one task (leave model.{key} out to use the data set's)")
    files = TaskFiles.find(dataset.root, dataset.task)
    ids = files.model_ids() if params.id == "all" else [params.id]
    missing = files.missing_data()
    if not ids:
        missing += [files.rel(files.input / "model_<id>" / name) for name in MODEL_FILES]
    for model_id in ids:
        missing += files.missing_model(model_id)
    files.require(missing)
    for model_id in ids:
        reference(files, model_id)  # every model has its hyperparameters and reference accuracies
    return [params.model_copy(update={"root": dataset.root, "task": dataset.task, "id": i}) for i in ids]


def _axes(params: PGDLParams) -> dict[str, Any]:
    """The model's hyperparameters, as sweep axes ``hparams.<name>``."""
    ref = reference(_files(params), params.id)
    return {f"hparams.{k}": v for k, v in ref.hparams.items()}


def _result(model: Network, data: DataSplits, params: PGDLParams, training):
    """Trained weights and metrics of an imported network, as :func:`models.training.train` returns them."""
    from models.pgdl.hdf5 import load_keras_weights
    from models.training import EpochMetrics, TrainResult, evaluate

    last = training.epochs
    epochs = training.checkpoint_epochs
    if set(epochs) - {0, last}:
        raise ValueError(f"an imported network has weights at epoch 0 (weights_init.hdf5) and at epoch "
                         f"training.epochs = {last} (weights.hdf5) only; got checkpoints {list(epochs)}")
    files = _files(params)
    ref = reference(files, params.id)
    states = {0: {k: v.detach().clone() for k, v in model.state_dict().items()}}
    load_keras_weights(model, _translate(files, params.id).slots, files.model_dir(params.id) / "weights.hdf5")
    states[last] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    result = TrainResult()
    for epoch in epochs:
        model.load_state_dict(states[epoch])
        loss, acc = {}, {}
        for split in SPLITS:
            loss[split], acc[split] = evaluate(model, data.x[split], data.y[split])
        if epoch == last:
            for split in ("train", "test"):
                loss[f"{split}_reference"] = ref.metrics.get(f"{split}_loss", math.nan)
                acc[f"{split}_reference"] = ref.metrics[f"{split}_acc"]
        result.metrics.append(EpochMetrics(epoch, loss, acc))
        result.checkpoints[epoch] = states[epoch]
    model.load_state_dict(states[last])
    final, n_train, n_val = result.metrics[-1].accuracy, len(data.x["train"]), len(data.x["val"])
    result.notes.append(
        f"imported: PGDL {params.task} model_{params.id}, trained by the competition's organisers, not here; "
        f"epoch {last} holds weights.hdf5, the initialisation is weights_init.hdf5. Accuracy reference "
        f"(model_configs.json, metrics splits train_reference and test_reference): "
        f"train {ref.metrics['train_acc']:.4f}, test {ref.metrics['test_acc']:.4f}; "
        f"recomputed: train {final['train']:.4f}, test {final['test']:.4f}")
    if n_val:
        result.notes.append(f"the train split holds {n_train} of the {n_train + n_val} training examples "
                            f"(val_fraction > 0): the recomputed train accuracy is not over the reference's "
                            f"training set")
    return result


@register_model(params=PGDLParams, input_ndims=(3,), imported=Imported(_resolve, _axes, _result),
                paper="Jiang et al. 2020, NeurIPS 2020 competition Predicting Generalization in Deep Learning: "
                      "the public data's trained networks (task1_v4 VGG-like, task2_v1 NiN)")
def pgdl(params: PGDLParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """A PGDL network as its ``config.json`` describes it, with the weights of ``weights_init.hdf5``.

    The Keras layer list is translated by :func:`models.pgdl.keras.keras_network`
    (blocks ``conv<k>``, ``fc<k>``, ``output``; NHWC to NCHW) and the weights
    read by :func:`models.pgdl.hdf5.load_keras_weights`.

    Raises
    ------
    FileNotFoundError
        If the model's files are missing (the message says how to fetch them).
    ValueError
        If ``input_shape`` or ``n_classes`` differ from the model's, or the
        model uses a layer the translation does not support.
    """
    from models.pgdl.hdf5 import load_keras_weights

    files = _files(params)
    t = _translate(files, params.id)
    if tuple(input_shape) != t.input_shape or n_classes != t.n_outputs:
        raise ValueError(f"PGDL {params.task} model_{params.id} takes inputs of shape {t.input_shape} and has "
                         f"{t.n_outputs} outputs; the data set has inputs of shape {tuple(input_shape)} and "
                         f"{n_classes} classes")
    load_keras_weights(t.network, t.slots, files.model_dir(params.id) / "weights_init.hdf5")
    return t.network
