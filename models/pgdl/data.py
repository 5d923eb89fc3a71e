"""The data set ``pgdl``: a PGDL task's ``dataset_1``, read from its TFRecord shards.

Each record is a ``tf.train.Example`` whose ``inputs`` is a float32 tensor of
shape (H, W, C) and whose ``output`` is an int32 label, both serialized with
``tf.io.serialize_tensor``. The inputs are kept as stored (the organisers'
preprocessing, the one the networks were trained on) and transposed to
(C, H, W). The task's test shards are the test split; with
``val_fraction = 0`` the train split is the whole training set the reference
accuracies were measured on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from models.data import DatasetSpec, RawDataset, register_dataset
from models.pgdl.files import SPLITS, TaskFiles

LAYOUT = "input_data/<task>/dataset_1/{train,test}/shard_*.tfrecord (the PGDL public data)"


def read_split(shards: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of a split's shards, in shard and record order.

    Returns
    -------
    x : ndarray of shape (n, C, H, W), float32
    y : ndarray of shape (n,), int64

    Raises
    ------
    models.pgdl.tfrecord.TFRecordError
        If a shard is corrupt, or a record is not an Example holding one
        (H, W, C) ``inputs`` tensor and one integer ``output``.
    """
    from models.pgdl.tfrecord import TFRecordError, example_features, parse_tensor, read_records

    xs, ys = [], []
    for shard in shards:
        for i, record in enumerate(read_records(shard)):
            where = f"{shard} record {i}"
            features = example_features(record, ("inputs", "output"), where)
            x = parse_tensor(features["inputs"], f"{where} feature 'inputs'")
            y = parse_tensor(features["output"], f"{where} feature 'output'")
            if x.ndim != 3 or (xs and x.shape != xs[0].shape):
                expected = xs[0].shape if xs else "(H, W, C)"
                raise TFRecordError(f"{where}: 'inputs' of shape {x.shape}; expected {expected}")
            if y.size != 1 or not np.issubdtype(y.dtype, np.integer):
                raise TFRecordError(f"{where}: 'output' must be one integer label; got {y.dtype} of shape {y.shape}")
            xs.append(x)
            ys.append(int(y.reshape(())))
    if not xs:
        return np.zeros((0, 0, 0, 0), np.float32), np.zeros(0, np.int64)
    return np.stack([x.transpose(2, 0, 1) for x in xs]).astype(np.float32, copy=False), np.asarray(ys, np.int64)


@lru_cache(maxsize=1)
def _read(stamp: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, test_mask) of a task, cached per shard contents (path, mtime, size)."""
    parts = [read_split([Path(p) for p, _, _ in shards]) for shards in stamp]
    for (x, _), split in zip(parts, SPLITS):
        if len(x) == 0:
            raise ValueError(f"pgdl: the {split} shards hold no records")
    if parts[0][0].shape[1:] != parts[1][0].shape[1:]:
        raise ValueError(f"pgdl: train inputs of shape {parts[0][0].shape[1:]} but test inputs of shape "
                         f"{parts[1][0].shape[1:]}")
    x = np.concatenate([parts[0][0], parts[1][0]])
    y = np.concatenate([parts[0][1], parts[1][1]])
    return x, y, np.arange(len(y)) >= len(parts[0][1])


@register_dataset("pgdl", needs_root=True, official_test=True, needs_task=True, layout=LAYOUT,
                  input_shape=(3, 32, 32))
def _pgdl(spec: DatasetSpec) -> RawDataset:
    """A PGDL task's data (Jiang et al. 2020): ``task1_v4`` CIFAR-10, ``task2_v1`` SVHN, shape (3, 32, 32).

    Read from ``root`` (see :mod:`models.pgdl.files`); ``task`` names the task.
    Labels are the stored integers; ``n_classes`` is the largest label plus one.

    Raises
    ------
    FileNotFoundError
        Naming the missing files and the command that fetches the public data.
    """
    files = TaskFiles.find(spec.root, spec.task)
    files.require([m for m in files.missing_data() if "reference_data" not in m])
    stamp = tuple(tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in files.shards(split))
                  for split in SPLITS)
    x, y, test_mask = _read(stamp)
    if y.min() < 0:
        raise ValueError(f"pgdl {spec.task}: labels must be >= 0; found {y.min()}")
    return RawDataset(x=x, y=y, n_classes=int(y.max()) + 1, test_mask=test_mask)
