"""Data sets: a registry of loaders, a seeded stratified split, label noise.

Every loader returns the whole data set as arrays; :func:`load_splits` turns a
:class:`DatasetSpec` into train/val/test tensors. ``digits`` ships with
scikit-learn and ``mnist1d`` is generated locally by the ``mnist1d`` package;
the image data sets of :mod:`models.vision` (``mnist``, ``fashion_mnist``,
``cifar10``, ``svhn``) are read from a local folder (``root``) and downloaded
only when the manifest says ``download = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from core.registry import Registry
from models.augment import BatchAugment

if TYPE_CHECKING:
    import torch

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RawDataset:
    """A whole data set before splitting.

    Attributes
    ----------
    x : ndarray of shape (n_samples, *input_shape), float32
    y : ndarray of shape (n_samples,), int64, values in [0, n_classes)
    n_classes : int
    test_mask : ndarray of shape (n_samples,), bool, or None
        The data set's own test set, for data sets that come with one (it is
        then the "test" split); None: the test split is drawn at random.
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    test_mask: np.ndarray | None = None


@dataclass(frozen=True)
class Dataset:
    """A registered data set.

    Attributes
    ----------
    name : str
    load : callable
        ``load(spec) -> RawDataset``.
    needs_root : bool
        Read from files under the manifest's ``root`` (which is then required).
    official_test : bool
        Comes with its own test set (``test_fraction`` does not apply).
    augmentation : BatchAugment or None
        What ``augment = true`` applies to training batches; None: not available.
    layout : str
        The files expected under ``root`` (for messages).
    input_shape : tuple of int or None
        Shape of one example, ``(C, H, W)`` or ``(C, L)``, known before loading
        (lets a manifest be checked against an architecture's ``input_ndims``).
    needs_task : bool
        A collection of tasks: ``task`` names the one to read (which is then required).
    """

    name: str
    load: Callable[["DatasetSpec"], RawDataset]
    needs_root: bool = False
    official_test: bool = False
    augmentation: BatchAugment | None = None
    layout: str = ""
    input_shape: tuple[int, ...] | None = None
    needs_task: bool = False


#: Every registered data set; found by importing every module of :mod:`models`.
DATASETS: Registry[Dataset] = Registry("data set", search=("models",))


def register_dataset(name: str, *, needs_root: bool = False, official_test: bool = False,
                     augmentation: BatchAugment | None = None, layout: str = "",
                     input_shape: tuple[int, ...] | None = None, needs_task: bool = False):
    """Register a loader ``fn(spec) -> RawDataset`` under ``name`` (see :class:`Dataset`)."""

    def decorator(fn):
        DATASETS.add(name, Dataset(name, fn, needs_root, official_test, augmentation, layout, input_shape,
                                   needs_task))
        return fn

    return decorator


def get_dataset(name: str) -> Dataset:
    """Return the registered data set ``name``.

    Raises
    ------
    core.errors.UnknownNameError
        With the closest registered names when ``name`` is unknown.
    """
    return DATASETS.get(name)


def list_datasets(pattern: str = "*") -> list[str]:
    """Names of the registered data sets matching a shell-style ``pattern``."""
    return DATASETS.list(pattern)


class DatasetSpec(BaseModel):
    """The ``[dataset]`` section of a manifest.

    Attributes
    ----------
    name : str
        A registered data set (``runner list datasets``).
    val_fraction, test_fraction : float
        Fractions of the whole data set held out, stratified by class. For a
        data set with its own test set (``mnist``, ``fashion_mnist``,
        ``cifar10``, ``svhn``) that set is the test split, ``val_fraction``
        is a fraction of its own training set, and ``test_fraction`` must not
        be given.
    split_seed : int
        Seed of the split. It is fixed (not the run's seed) so that every run of
        a population is evaluated on the same test set.
    label_noise : float in [0, 1)
        Fraction of training labels replaced by a different class drawn
        uniformly (seeded by the run's seed).
    train_subset : int or None
        Keep only this many training examples (stratified), after the split.
    root : str or None
        The folder holding the files of a data set read from disk (required
        for those, not accepted for the others); a relative path is relative
        to the working directory, ``~`` is expanded. The expected layout is
        torchvision's (see :mod:`models.vision`).
    download : bool
        Fetch missing files into ``root`` with torchvision (needs the
        ``vision`` extra and internet access).
    augment : bool
        Augment training batches (random crop with padding 4; also a random
        horizontal flip for ``cifar10``); only for data sets that define an
        augmentation.
    task : str or None
        The task of a collection of tasks (``pgdl``: ``"task1_v4"``,
        ``"task2_v1"``); required for those, not accepted for the others.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    split_seed: int = 0
    label_noise: float = Field(0.0, ge=0.0, lt=1.0)
    train_subset: int | None = Field(None, gt=0)
    root: str | None = Field(None, min_length=1, validate_default=True)
    download: bool = False
    augment: bool = False
    task: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]+$", validate_default=True)

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        get_dataset(name)  # UnknownNameError is a ValueError: pydantic reports it at the key
        return name

    @field_validator("root")
    @classmethod
    def _root(cls, root: str | None, info: ValidationInfo) -> str | None:
        ds = _known_dataset(info.data.get("name"))
        if ds is not None and ds.needs_root and root is None:
            raise ValueError(f"root is required for {ds.name!r}: the folder that holds {ds.layout} "
                             f"(e.g. root = \"data\"; add download = true to fetch the files into it)")
        if ds is not None and not ds.needs_root and root is not None:
            raise ValueError(f"{ds.name!r} is not read from files; remove root")
        return root

    @field_validator("download", "augment")
    @classmethod
    def _available(cls, value: bool, info: ValidationInfo) -> bool:
        ds = _known_dataset(info.data.get("name"))
        if value and ds is not None and info.field_name == "download" and not ds.needs_root:
            raise ValueError(f"{ds.name!r} is not read from files and is never downloaded; remove download")
        if value and ds is not None and info.field_name == "augment" and ds.augmentation is None:
            able = [n for n in list_datasets() if get_dataset(n).augmentation is not None]
            raise ValueError(f"{ds.name!r} has no augmentation; augment = true is available for {', '.join(able)}")
        return value

    @field_validator("task")
    @classmethod
    def _task(cls, task: str | None, info: ValidationInfo) -> str | None:
        ds = _known_dataset(info.data.get("name"))
        if ds is not None and ds.needs_task and task is None:
            raise ValueError(f"task is required for {ds.name!r}: the task whose files to read, e.g. "
                             f"task = \"task1_v4\"")
        if ds is not None and not ds.needs_task and task is not None:
            raise ValueError(f"{ds.name!r} has no tasks; remove task")
        return task

    @model_validator(mode="after")
    def _check(self) -> "DatasetSpec":
        if get_dataset(self.name).official_test and "test_fraction" in self.model_fields_set:
            raise ValueError(f"test_fraction does not apply to {self.name!r}: its own test set is the test split "
                             f"(val_fraction is taken from its training set); remove test_fraction")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError(f"val_fraction + test_fraction must be < 0.9; got "
                             f"{self.val_fraction} + {self.test_fraction}")
        return self


@dataclass
class DataSplits:
    """Train/val/test tensors of one run.

    Attributes
    ----------
    x : dict[str, Tensor of shape (n_split, *input_shape)], float32
    y : dict[str, Tensor of shape (n_split,)], int64; ``y["train"]`` holds the
        (possibly noisy) labels the network is trained on.
    y_train_clean : Tensor of shape (n_train,), the training labels before noise.
    n_classes : int
    augment : BatchAugment or None
        Applied by the training loop to every training batch (``augment = true``).
    input_shape : tuple of int
    """

    x: dict[str, torch.Tensor]
    y: dict[str, torch.Tensor]
    y_train_clean: torch.Tensor
    n_classes: int
    augment: BatchAugment | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, e.g. ``(64,)`` for digits or ``(3, 32, 32)`` for CIFAR-10."""
        return tuple(self.x["train"].shape[1:])


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Split indices into parts of the given fractions, stratified by class.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    fractions : tuple of float
        Fractions of all but the first part; the first takes the rest.
    seed : int

    Returns
    -------
    list of ndarray of int64
        Sorted indices of each part; every class is split in the same proportions.
    """
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        sizes = [int(round(f * len(idx))) for f in fractions]
        start = len(idx) - sum(sizes)
        parts[0].append(idx[:start])
        for k, size in enumerate(sizes):
            parts[k + 1].append(idx[start:start + size])
            start += size
    return [np.sort(np.concatenate(p)) for p in parts]


def corrupt_labels(y: np.ndarray, fraction: float, n_classes: int, seed: int) -> np.ndarray:
    """Replace ``round(fraction * n)`` labels by a different class, uniformly at random.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), int64
    fraction : float in [0, 1)
    n_classes : int
    seed : int

    Returns
    -------
    ndarray of shape (n_samples,)
        A copy in which exactly ``round(fraction * n_samples)`` labels differ from ``y``.
    """
    rng = np.random.default_rng(seed)
    y = y.copy()
    n_flip = int(round(fraction * len(y)))
    flip = rng.choice(len(y), size=n_flip, replace=False)
    y[flip] = (y[flip] + rng.integers(1, n_classes, size=n_flip)) % n_classes
    return y


def load_splits(spec: DatasetSpec, seed: int) -> DataSplits:
    """Load, split and corrupt a data set for a run with seed ``seed``.

    The test split is the data set's own test set where it has one (the val
    split is then drawn from its training set), else a stratified draw of
    ``test_fraction``. Splits depend on ``split_seed`` only; label noise on
    ``seed``.
    """
    import torch

    info = get_dataset(spec.name)
    raw = info.load(spec)
    if raw.test_mask is None:
        train, val, test = stratified_split(raw.y, (spec.val_fraction, spec.test_fraction), spec.split_seed)
    else:
        pool, test = np.flatnonzero(~raw.test_mask), np.flatnonzero(raw.test_mask)
        train, val = (pool[i] for i in stratified_split(raw.y[pool], (spec.val_fraction,), spec.split_seed))
    if spec.train_subset is not None and spec.train_subset < len(train):
        keep, _ = stratified_split(raw.y[train], (1 - spec.train_subset / len(train),), spec.split_seed)
        train = train[keep]
    y_clean = raw.y[train]
    y_train = corrupt_labels(y_clean, spec.label_noise, raw.n_classes, seed) if spec.label_noise else y_clean
    x = {s: torch.from_numpy(raw.x[i]) for s, i in zip(SPLITS, (train, val, test))}
    y = {"train": torch.from_numpy(y_train), "val": torch.from_numpy(raw.y[val]),
         "test": torch.from_numpy(raw.y[test])}
    return DataSplits(x=x, y=y, y_train_clean=torch.from_numpy(y_clean), n_classes=raw.n_classes,
                      augment=info.augmentation if spec.augment else None)


@register_dataset("digits", input_shape=(1, 8, 8))
def _digits(spec: DatasetSpec) -> RawDataset:
    """scikit-learn's 1797 handwritten digits, 8x8 grey levels 0-16 scaled to [0, 1]."""
    return _digits_cached()


@lru_cache(maxsize=1)
def _digits_cached() -> RawDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    return RawDataset(x=x, y=d.target.astype(np.int64), n_classes=10)


@register_dataset("mnist1d", input_shape=(1, 40))
def _mnist1d(spec: DatasetSpec) -> RawDataset:
    """MNIST-1D (Greydanus 2020): 5000 length-40 signals, generated locally with default args."""
    return _mnist1d_cached()


@lru_cache(maxsize=1)
def _mnist1d_cached() -> RawDataset:
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()  # make_dataset reseeds numpy's global generator
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)[:, None, :]
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return RawDataset(x=x, y=y, n_classes=10)


def _known_dataset(name: object) -> Dataset | None:
    """The registered data set ``name``, or None when it is unknown (reported by the name's validator)."""
    return DATASETS.get(name) if isinstance(name, str) and name in DATASETS else None
