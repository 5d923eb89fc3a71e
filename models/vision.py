"""Image data sets read from a local folder in torchvision's on-disk layout.

``mnist``, ``fashion_mnist``, ``cifar10`` and ``svhn`` are read from the folder
``root`` that the manifest names, laid out as torchvision's data set classes
download them::

    root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    root/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    root/cifar-10-batches-py/{data_batch_1, ..., data_batch_5, test_batch}
    root/{train,test}_32x32.mat

The files are read here in their published formats (IDX, the CIFAR-10 python
pickles, SVHN's MATLAB files), the same way torchvision reads them, without
torchvision's MD5 check of CIFAR-10 and SVHN files (only needed to verify a
download). torchvision is needed only for ``download = true``, which calls its
classes with ``download=True``.

Each data set's own test set is the test split. Pixels are scaled to [0, 1]
and standardised per channel with the usual constants of each data set (the
mean and standard deviation of its training pixels, :data:`MEAN_STD`), the same
for every run. Labels: SVHN's digit 0 is stored as 10 and becomes 0, as in
torchvision.
"""

from __future__ import annotations

import gzip
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.augment import BatchAugment
from models.data import DatasetSpec, RawDataset, register_dataset

#: Per-channel (mean, std) of each data set's training pixels in [0, 1].
MEAN_STD: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
}

_FOLDER = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_CIFAR = "cifar-10-batches-py"
_CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
_SVHN_FILES = ["train_32x32.mat", "test_32x32.mat"]
_FETCH = {
    "mnist": "torchvision.datasets.MNIST('{root}', download=True)",
    "fashion_mnist": "torchvision.datasets.FashionMNIST('{root}', download=True)",
    "cifar10": "torchvision.datasets.CIFAR10('{root}', download=True)",
    "svhn": "[torchvision.datasets.SVHN('{root}', split=s, download=True) for s in ('train', 'test')]",
}


def _black(name: str) -> tuple[float, ...]:
    """The standardised value of a black pixel, per channel (what augmentation pads with)."""
    mean, std = MEAN_STD[name]
    return tuple(-m / s for m, s in zip(mean, std))


def _expected(name: str) -> list[str]:
    """Files a data set needs, relative to root (MNIST-like: the uncompressed names; .gz also accepted)."""
    if name in _FOLDER:
        kinds = ("images-idx3", "labels-idx1")
        return [f"{_FOLDER[name]}/raw/{s}-{kind}-ubyte" for s in ("train", "t10k") for kind in kinds]
    return [f"{_CIFAR}/{f}" for f in _CIFAR_FILES] if name == "cifar10" else list(_SVHN_FILES)


def _find(root: Path, rel: str) -> Path | None:
    for path in (root / rel, root / f"{rel}.gz") if rel.endswith("-ubyte") else (root / rel,):
        if path.is_file():
            return path
    return None


def _files(name: str, spec: DatasetSpec) -> list[Path]:
    """The data set's files under ``spec.root``, downloaded first if asked and missing.

    Raises
    ------
    FileNotFoundError
        Naming the missing files and the command that fetches them.
    """
    root = Path(spec.root).expanduser()
    found = [_find(root, rel) for rel in _expected(name)]
    if None in found and spec.download:
        _download(name, root)
        found = [_find(root, rel) for rel in _expected(name)]
    if None in found:
        missing = [rel for rel, f in zip(_expected(name), found) if f is None]
        command = _FETCH[name].format(root=spec.root)
        raise FileNotFoundError(
            f"{name}: {len(missing)} file(s) missing under root = {spec.root!r} "
            f"(resolved to {root.resolve()}): {', '.join(missing)}. Fetch them once with\n"
            f"    python -c \"import torchvision; {command}\"\n"
            f"or set download = true in [dataset] (needs torchvision: pip install 'genlab[vision]').")
    return found  # type: ignore[return-value]


def _download(name: str, root: Path) -> None:
    try:
        import torchvision  # noqa: F401
    except ImportError as e:
        raise ImportError(f"download = true for {name!r} needs torchvision: pip install 'genlab[vision]'") from e
    import torchvision.datasets as tvd

    if name == "svhn":
        for split in ("train", "test"):
            tvd.SVHN(str(root), split=split, download=True)
    else:
        {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name](str(root), download=True)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), optionally gzipped.

    Parameters
    ----------
    path : Path
        ``*-idx3-ubyte`` (images) or ``*-idx1-ubyte`` (labels), or the same with ``.gz``.

    Returns
    -------
    ndarray of uint8, of shape (n, rows, cols) for images or (n,) for labels

    Raises
    ------
    ValueError
        If the header is not that of an unsigned-byte IDX file or the size does not match it.
    """
    data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {data[:4].hex()}; expected 000008xx)")
    ndim = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">i4", count=ndim, offset=4))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes) but holds {body.size} bytes")
    return body.reshape(shape)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only what CIFAR-10's batches hold: dicts, lists, strings, numpy arrays.

    (``_codecs.encode`` is how protocol 2 stores bytes written by Python 3.)
    """

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"CIFAR-10 batch refers to {module}.{name}, which such a file never holds")
        if module.startswith("numpy.core."):  # written by numpy 1.x: numpy 2 moved it to numpy._core
            module = module.replace("numpy.core.", "numpy._core.", 1) if hasattr(np, "_core") else module
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch.

    Returns
    -------
    x : ndarray of shape (n, 3, 32, 32), uint8
        Each row of the file's ``data`` (n, 3072) is the red, green and blue
        planes of a 32x32 image, row-major.
    y : ndarray of shape (n,), int64
    """
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="latin1").load()
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return x, np.asarray(batch["labels"], dtype=np.int64)


def read_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one SVHN ``*_32x32.mat`` file.

    Returns
    -------
    x : ndarray of shape (n, 3, 32, 32), uint8
        From the file's ``X`` of shape (32, 32, 3, n).
    y : ndarray of shape (n,), int64
        From the file's ``y`` in 1..10, with 10 (the digit 0) mapped to 0.
    """
    from scipy.io import loadmat

    mat = loadmat(str(path))
    x = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1)))
    y = mat["y"].astype(np.int64).reshape(-1)
    return x, np.where(y == 10, 0, y)


def _read(name: str, files: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x uint8 of shape (n, C, H, W), y, test_mask) of the whole data set, cached per file contents."""
    stamp = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _read_cached(name, stamp)


@lru_cache(maxsize=2)
def _read_cached(name: str, stamp: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    files = [Path(s[0]) for s in stamp]
    if name in _FOLDER:  # train images, train labels, test images, test labels
        parts = [(read_idx(files[0])[:, None], read_idx(files[1])), (read_idx(files[2])[:, None], read_idx(files[3]))]
    elif name == "cifar10":
        batches = [read_cifar_batch(f) for f in files]
        parts = [(np.concatenate([b[0] for b in batches[:5]]), np.concatenate([b[1] for b in batches[:5]])), batches[5]]
    else:
        parts = [read_svhn(f) for f in files]
    for (x, y), split in zip(parts, ("training", "test")):
        if len(x) != len(y):
            raise ValueError(f"{name}: the {split} files hold {len(x)} images but {len(y)} labels")
    x = np.concatenate([parts[0][0], parts[1][0]])
    y = np.concatenate([parts[0][1], parts[1][1]]).astype(np.int64)
    test_mask = np.arange(len(y)) >= len(parts[0][1])
    return x, y, test_mask


def _load(name: str, spec: DatasetSpec) -> RawDataset:
    x, y, test_mask = _read(name, _files(name, spec))
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"{name}: labels must be in 0..9; found {y.min()}..{y.max()}")
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in MEAN_STD[name])
    xf = (x.astype(np.float32) / np.float32(255.0) - mean) / std
    return RawDataset(x=xf, y=y, n_classes=10, test_mask=test_mask)


_LAYOUT = {"mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
           "fashion_mnist": "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
           "cifar10": "cifar-10-batches-py/{data_batch_1..5,test_batch}", "svhn": "{train,test}_32x32.mat"}


@register_dataset("mnist", needs_root=True, official_test=True, layout=_LAYOUT["mnist"], input_shape=(1, 28, 28),
                  augmentation=BatchAugment(pad=4, flip=False, fill=_black("mnist")))
def _mnist(spec: DatasetSpec) -> RawDataset:
    """MNIST (LeCun et al. 1998): 60000 + 10000 28x28 grey digits, shape (1, 28, 28)."""
    return _load("mnist", spec)


@register_dataset("fashion_mnist", needs_root=True, official_test=True, layout=_LAYOUT["fashion_mnist"],
                  input_shape=(1, 28, 28),
                  augmentation=BatchAugment(pad=4, flip=False, fill=_black("fashion_mnist")))
def _fashion_mnist(spec: DatasetSpec) -> RawDataset:
    """Fashion-MNIST (Xiao et al. 2017): 60000 + 10000 28x28 grey clothing images, shape (1, 28, 28)."""
    return _load("fashion_mnist", spec)


@register_dataset("cifar10", needs_root=True, official_test=True, layout=_LAYOUT["cifar10"], input_shape=(3, 32, 32),
                  augmentation=BatchAugment(pad=4, flip=True, fill=_black("cifar10")))
def _cifar10(spec: DatasetSpec) -> RawDataset:
    """CIFAR-10 (Krizhevsky 2009): 50000 + 10000 32x32 colour images, shape (3, 32, 32)."""
    return _load("cifar10", spec)


@register_dataset("svhn", needs_root=True, official_test=True, layout=_LAYOUT["svhn"], input_shape=(3, 32, 32),
                  augmentation=BatchAugment(pad=4, flip=False, fill=_black("svhn")))
def _svhn(spec: DatasetSpec) -> RawDataset:
    """SVHN (Netzer et al. 2011), cropped digits: 73257 + 26032 32x32 colour images, shape (3, 32, 32).

    The ``extra`` set is not used. ``augment`` crops without flipping: a
    mirrored digit is not the same digit.
    """
    return _load("svhn", spec)
