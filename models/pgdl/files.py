"""Where the files of a PGDL task lie, what is missing, and the reference metrics.

``root`` holds ``input_data/`` and ``reference_data/`` directly, or the folder
``public_data/`` that unpacking ``public_data.zip`` creates (also
``phase_one_data/`` and ``phase_two_data/``, the competition's later releases).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The competition's public data (tasks task1_v4 and task2_v1), one zip file.
URL = "https://storage.googleapis.com/gresearch/pgdl/public_data.zip"
#: Folders under ``root`` that may hold ``input_data/`` (``""``: root itself), searched in order.
RELEASES = ("", "public_data", "phase_one_data", "phase_two_data")
#: The files of one model, in ``input_data/<task>/model_<id>/``.
MODEL_FILES = ("config.json", "weights.hdf5", "weights_init.hdf5")
SPLITS = ("train", "test")
_SHARD = re.compile(r"^shard_(\d+)\.tfrecord$")
_MODEL = re.compile(r"^model_(\d+)$")


@dataclass(frozen=True)
class TaskFiles:
    """The files of one task under ``root``.

    Attributes
    ----------
    root : str
        As the manifest gives it (for messages).
    task : str
        E.g. ``"task1_v4"``.
    base : Path
        The folder holding ``input_data/`` and ``reference_data/``.
    """

    root: str
    task: str
    base: Path = field(compare=False)

    @classmethod
    def find(cls, root: str, task: str) -> "TaskFiles":
        """The task's files under ``root`` (or under one of :data:`RELEASES` inside it)."""
        top = Path(root).expanduser()
        for sub in RELEASES:
            if (top / sub / "input_data" / task).is_dir():
                return cls(root, task, top / sub)
        return cls(root, task, top)

    @property
    def input(self) -> Path:
        """``input_data/<task>``."""
        return self.base / "input_data" / self.task

    @property
    def reference(self) -> Path:
        """``reference_data/<task>/model_configs.json``."""
        return self.base / "reference_data" / self.task / "model_configs.json"

    def rel(self, path: Path) -> str:
        """``path`` relative to ``root``, as messages name it."""
        return str(path.relative_to(Path(self.root).expanduser()))

    def shards(self, split: str) -> list[Path]:
        """``dataset_1/<split>/shard_<n>.tfrecord``, in the order of ``n``."""
        folder = self.input / "dataset_1" / split
        found = [(int(m.group(1)), p) for p in folder.glob("shard_*.tfrecord") if (m := _SHARD.match(p.name))]
        return [p for _, p in sorted(found)]

    def model_dir(self, model_id: int) -> Path:
        """``input_data/<task>/model_<id>``."""
        return self.input / f"model_{model_id}"

    def model_ids(self) -> list[int]:
        """The ids of the ``model_<id>`` folders of the task, ascending."""
        if not self.input.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.input.iterdir() if p.is_dir() and (m := _MODEL.match(p.name)))

    def missing_data(self) -> list[str]:
        """The data set's files that are missing (a shard pattern per empty split)."""
        missing = [] if self.reference.is_file() else [self.rel(self.reference)]
        for split in SPLITS:
            if not self.shards(split):
                missing.append(self.rel(self.input / "dataset_1" / split / "shard_*.tfrecord"))
        return missing

    def missing_model(self, model_id: int | str) -> list[str]:
        """The files of model ``model_id`` that are missing."""
        folder = self.input / f"model_{model_id}"
        return [self.rel(folder / name) for name in MODEL_FILES if not (folder / name).is_file()]

    def require(self, missing: list[str]) -> None:
        """Raise :class:`FileNotFoundError` naming ``missing`` and how to fetch the data, if any is missing."""
        if missing:
            raise FileNotFoundError(missing_message(self.root, self.task, missing))


def missing_message(root: str, task: str, missing: list[str]) -> str:
    """What is missing under ``root`` for ``task``, and the commands that fetch the public data."""
    shown = missing[:8] + ([f"and {len(missing) - 8} more"] if len(missing) > 8 else [])
    resolved = Path(root).expanduser().resolve()
    return (f"pgdl {task}: {len(missing)} file(s) missing under root = {root!r} (resolved to {resolved}): "
            f"{', '.join(shown)}. The PGDL competition's public data (tasks task1_v4 and task2_v1, "
            f"input_data/ and reference_data/) is one zip file; fetch and unpack it once with\n"
            f"    mkdir -p {root} && cd {root} && curl -LO {URL} && unzip public_data.zip\n"
            f"(root may hold input_data/ and reference_data/ directly or the unpacked public_data/ folder; "
            f"the models need the pgdl extra: pip install 'genlab[pgdl]').")


@dataclass(frozen=True)
class Reference:
    """What ``model_configs.json`` says of one model.

    Attributes
    ----------
    hparams : dict[str, Any]
        Each hyperparameter's ``current_value``.
    metrics : dict[str, float]
        The organisers' numbers: ``train_acc`` and ``test_acc`` (in [0, 1]),
        and whatever else the file holds for the model.
    """

    hparams: dict[str, Any]
    metrics: dict[str, float]


def reference(files: TaskFiles, model_id: int) -> Reference:
    """The hyperparameters and reference metrics of model ``model_id``.

    Raises
    ------
    FileNotFoundError
        If ``model_configs.json`` is missing.
    ValueError
        If it has no entry for the model, or the entry lacks ``hparams`` or the two accuracies.
    """
    files.require([] if files.reference.is_file() else [files.rel(files.reference)])
    stat = files.reference.stat()
    table = _read_reference(str(files.reference), stat.st_mtime_ns, stat.st_size)
    if model_id not in table:
        known = sorted(table)
        raise ValueError(f"{files.rel(files.reference)} has no entry for model {model_id} "
                         f"(it lists {len(known)} models: {_ids(known)})")
    return table[model_id]


@lru_cache(maxsize=4)
def _read_reference(path: str, mtime_ns: int, size: int) -> dict[int, Reference]:
    with open(path) as f:
        raw = json.load(f)
    out = {}
    for key, entry in raw.items():
        m = re.fullmatch(r"(?:model_)?(\d+)", str(key))
        if m is None or not isinstance(entry, dict):
            continue
        hparams, metrics = entry.get("hparams"), entry.get("metrics")
        if not isinstance(hparams, dict) or not isinstance(metrics, dict) or \
                not {"train_acc", "test_acc"} <= set(metrics):
            raise ValueError(f"{path}: the entry {key!r} must hold 'hparams' and 'metrics' with 'train_acc' and "
                             f"'test_acc'; found keys {sorted(entry)}")
        values = {k: v.get("current_value") if isinstance(v, dict) and "current_value" in v else v
                  for k, v in hparams.items()}
        out[int(m.group(1))] = Reference(values, {k: float(v) for k, v in metrics.items()
                                                  if isinstance(v, (int, float))})
    return out


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids)) if len(ids) <= 12 else f"{', '.join(map(str, ids[:12]))}, ..."
