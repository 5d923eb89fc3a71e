"""Content keys: what identifies a run and a measurement.

Keys are hashes of canonical JSON (pydantic ``model_dump(mode="json")``, keys
sorted, no whitespace), never of manifest text: comments, key order and
formatting never change them. Values equal to their field's default are left
out of the canonical form, so adding a new option whose default keeps the old
behaviour changes no key (a change of behaviour bumps
:data:`TRAINING_CODE_VERSION` instead). Checkpoint epochs and the local folder
of the data set (and of an imported network) are not part of a run's key
(they do not change the trained network); a missing checkpoint is found by the
plan and retrained.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Declared version of the training code. Bump it when a change to models/
#: changes what a given config trains (it changes every run_id).
TRAINING_CODE_VERSION = 1


def canonical_json(obj: Any) -> str:
    """Canonical JSON of a JSON-able object: sorted keys, compact separators."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def short_hash(text: str, n: int = 12) -> str:
    """First ``n`` hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def run_identity(config) -> dict:
    """The canonical form a run's key is computed from (a :class:`~runner.manifest.RunConfig`)."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("training", {}).pop("checkpoints", None)
    for where in ("root", "download"):  # where the files lie does not change the data
        data.get("dataset", {}).pop(where, None)
    data.get("model", {}).get("params", {}).pop("root", None)  # nor an imported network's weights
    data["training_code_version"] = TRAINING_CODE_VERSION
    return data


def run_id(config) -> str:
    """Short hash of :func:`run_identity`."""
    return short_hash(canonical_json(run_identity(config)))


def seeded_run_ids(configs: list) -> list[str]:
    """:func:`run_id` of configs that differ only in their seed, with one canonical dump for all of them."""
    if not configs:
        return []
    base = run_identity(configs[0])
    return [short_hash(canonical_json({**base, "seed": c.seed})) for c in configs]


def measure_key(entry, sample) -> str:
    """Key of a measurement's inputs: the measure's name and params, and the measurement sample.

    Parameters
    ----------
    entry : MeasureEntry
    sample : SampleSpec
        The fixed sample of examples (its size and seed change the values).

    The measure's ``version`` is kept apart, so a bumped version shows as stale
    rather than as a different measurement.
    """
    params = entry.params.model_dump(mode="json", exclude_defaults=True)
    return short_hash(canonical_json({"name": entry.name, "params": params,
                                      "sample": sample.model_dump(mode="json", exclude={"batch_size"})}))
