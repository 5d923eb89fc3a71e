"""Write small image data sets in the exact on-disk formats that the published files use.

Every image has known pixels, ``pixel(i, c, h, w) = (7 i + 11 c + 3 h + 5 w + offset) % 256``
for image ``i`` of a split, and label ``i % 10``, so a loader's channel order,
orientation and labels can be checked value by value.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

N_TRAIN_PER_CLASS, N_TEST_PER_CLASS = 20, 5
OFFSET = {"train": 0, "test": 100}


def images(n: int, channels: int, size: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 of shape (n, channels, size, size), y int64 of shape (n,))`` of the pattern above."""
    i, c, h, w = np.ogrid[:n, :channels, :size, :size]
    x = ((7 * i + 11 * c + 3 * h + 5 * w + OFFSET[split]) % 256).astype(np.uint8)
    return x, np.arange(n, dtype=np.int64) % 10


def _n(split: str) -> int:
    return 10 * (N_TRAIN_PER_CLASS if split == "train" else N_TEST_PER_CLASS)


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """An IDX file: magic 0x0000 0x08 ndim, big-endian int32 dims, unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    data = header + np.ascontiguousarray(array, np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)


def write_mnist(root: Path, folder: str = "MNIST", compress: bool = False) -> None:
    """``root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (28x28 grey)."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = images(_n(split), 1, 28, split)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x[:, 0], compress)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y.astype(np.uint8), compress)


def write_cifar10(root: Path) -> None:
    """``root/cifar-10-batches-py/``: five training batches, ``test_batch``, ``batches.meta`` (python pickles)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    x, y = images(_n("train"), 3, 32, "train")
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    for k, (xs, ys) in enumerate(zip(np.array_split(x, 5), np.array_split(y, 5))):
        _pickle(folder / names[k], xs, ys, f"training batch {k + 1} of 5")
    xt, yt = images(_n("test"), 3, 32, "test")
    _pickle(folder / "test_batch", xt, yt, "testing batch 1 of 1")
    meta = {"num_cases_per_batch": len(x) // 5, "num_vis": 3072,
            "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def _pickle(path: Path, x: np.ndarray, y: np.ndarray, label: str) -> None:
    batch = {"batch_label": label, "labels": [int(v) for v in y], "data": x.reshape(len(x), 3072),
             "filenames": [f"img_{i}.png" for i in range(len(x))]}
    path.write_bytes(pickle.dumps(batch, protocol=2))


def write_svhn(root: Path) -> None:
    """``root/{train,test}_32x32.mat``: ``X`` of shape (32, 32, 3, n) uint8, ``y`` of shape (n, 1) in 1..10."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        x, y = images(_n(split), 3, 32, split)
        savemat(root / f"{split}_32x32.mat", {"X": np.transpose(x, (2, 3, 1, 0)),
                                               "y": np.where(y == 0, 10, y).astype(np.uint8)[:, None]})


def write_all(root: Path) -> None:
    """All four data sets under one root, as torchvision lays them out."""
    write_mnist(root, "MNIST")
    write_mnist(root, "FashionMNIST")
    write_cifar10(root)
    write_svhn(root)
