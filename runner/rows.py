"""Rows of the store's core tables: pure functions from a run's results to Arrow tables.

Each function returns a table with the fixed schema of :data:`core.schema.SCHEMAS`
(columns it is not given are null); none of them reads or writes a file. The
worker writes what they return; :func:`history` turns a ``metrics`` table back
into the layout of the ``history`` provider.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from core import schema as store_schema

if TYPE_CHECKING:
    import pyarrow as pa


def table(name: str, columns: Mapping[str, Sequence[Any] | np.ndarray], n: int) -> pa.Table:
    """The core table ``name`` from ``columns`` (``n`` rows), missing columns null.

    Parameters
    ----------
    name : str
        A key of :data:`core.schema.SCHEMAS`.
    columns : mapping of str to sequence or ndarray of shape (n,)
        Values by column name; each is cast to the schema's type.
    n : int
        Number of rows.

    Returns
    -------
    pyarrow.Table
        With exactly the schema ``SCHEMAS[name]``.
    """
    import pyarrow as pa

    schema = store_schema.SCHEMAS[name]
    return pa.table({f.name: pa.array(columns[f.name] if f.name in columns else [None] * n, f.type)
                     for f in schema}, schema=schema)


def run_table(run, experiment: str, state: Mapping[str, Any], status: str, error: str | None = None,
              finished_at: datetime | None = None) -> pa.Table:
    """The run's single row of the ``runs`` table.

    Parameters
    ----------
    run : runner.manifest.Run
        The run's config (its identity) and the sweep values that made it.
    experiment : str
        The manifest's experiment name.
    state : mapping
        The run's state (:class:`runner.state.RunState`): ``device``,
        ``started_at`` (a datetime), ``train_seconds``, ``best_epoch``,
        ``stopped_epoch``, ``notes`` (list of str), each optional.
    status : str
        ``"running"``, ``"trained"``, ``"done"`` or ``"failed"``.
    error : str, optional
        The traceback(s) of a failed run.
    finished_at : datetime, optional
        When the run finished (naive UTC); None while it is not finished.

    Returns
    -------
    pyarrow.Table of one row
    """
    c = run.config
    row = {
        "run_id": run.run_id, "experiment": experiment, "seed": c.seed, "dataset": c.dataset.name,
        "arch": c.model.name, "regulariser": c.regulariser.name,
        "config": json.dumps(c.model_dump(mode="json"), sort_keys=True),
        "axes": json.dumps(run.axes, sort_keys=True), "status": status, "error": error,
        "device": state.get("device"), "started_at": state.get("started_at"), "finished_at": finished_at,
        "wall_s": state.get("train_seconds"), "best_epoch": state.get("best_epoch"),
        "stopped_epoch": state.get("stopped_epoch"), "notes": "\n".join(state.get("notes") or []) or None,
    }
    return table("runs", {k: [v] for k, v in row.items()}, 1)


def metrics_table(run_id: str, metrics: Iterable) -> pa.Table:
    """The ``metrics`` rows of a training: one per epoch and split, in training order.

    Parameters
    ----------
    run_id : str
    metrics : iterable of models.training.EpochMetrics
        Loss (cross-entropy, nats) and accuracy in [0, 1] per split; the
        regulariser's value (train split only) and the learning rate.

    Returns
    -------
    pyarrow.Table
    """
    cols: dict[str, list] = {k: [] for k in ("epoch", "split", "loss", "accuracy", "regulariser", "lr")}
    for m in metrics:
        for split in m.loss:
            cols["epoch"].append(m.epoch), cols["split"].append(split)
            cols["loss"].append(m.loss[split]), cols["accuracy"].append(m.accuracy[split])
            cols["regulariser"].append(m.regulariser if split == "train" else None), cols["lr"].append(m.lr)
    n = len(cols["epoch"])
    return table("metrics", {"run_id": [run_id] * n, **cols}, n)


def measures_table(run_id: str, epoch: int, measure: str, key: str, version: int,
                   rows: Sequence[tuple[str, str, float]]) -> pa.Table:
    """The ``measures`` rows of one measurement (long format).

    Parameters
    ----------
    run_id : str
    epoch : int
        The checkpoint epoch.
    measure : str
        The measure's id in the manifest.
    key, version : str, int
        The measurement's key (:func:`runner.keys.measure_key`) and the measure's version.
    rows : sequence of (layer, statistic, value)

    Returns
    -------
    pyarrow.Table
    """
    n = len(rows)
    return table("measures", {"run_id": [run_id] * n, "epoch": [epoch] * n, "measure": [measure] * n,
                              "layer": [r[0] for r in rows], "statistic": [r[1] for r in rows],
                              "value": [r[2] for r in rows], "measure_key": [key] * n,
                              "version": [version] * n}, n)


def diagrams_table(run_id: str, epoch: int, measure: str, diagrams: Iterable) -> pa.Table:
    """The ``diagrams`` rows of one measurement: one per persistence pair.

    Parameters
    ----------
    run_id : str
    epoch : int
    measure : str
        The measure's id in the manifest.
    diagrams : iterable of measures.registry.Diagram
        Each with ``layer``, ``bootstrap``, ``dim`` and ``pairs`` of shape
        (n_pairs, 2) (birth, death; death may be inf).

    Returns
    -------
    pyarrow.Table
    """
    cols: dict[str, list] = {k: [] for k in ("layer", "bootstrap", "dim", "birth", "death")}
    for d in diagrams:
        pairs = np.asarray(d.pairs, dtype=np.float64).reshape(-1, 2)
        k = len(pairs)
        cols["layer"] += [d.layer] * k
        cols["bootstrap"].append(np.full(k, d.bootstrap, np.int32))
        cols["dim"].append(np.full(k, d.dim, np.int32))
        cols["birth"].append(pairs[:, 0])
        cols["death"].append(pairs[:, 1])
    n = len(cols["layer"])
    cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items() if k != "layer"}
    return table("diagrams", {"run_id": [run_id] * n, "epoch": np.full(n, epoch, np.int32),
                              "measure": [measure] * n, "layer": cols["layer"], **cat}, n)


def timings_table(run_id: str, entries: Sequence[Mapping[str, Any]]) -> pa.Table:
    """``timings`` rows: what each phase cost.

    Parameters
    ----------
    run_id : str
    entries : sequence of mapping
        Each with ``epoch``, ``phase`` (``setup``, ``train``, ``provider`` or
        ``measure``), ``name``, ``seconds`` (wall seconds), ``measured_at``
        (naive UTC datetime) and ``threads`` (CPU threads it had).

    Returns
    -------
    pyarrow.Table
    """
    n = len(entries)
    cols = {k: [e[k] for e in entries] for k in ("epoch", "phase", "name", "seconds", "measured_at", "threads")}
    return table("timings", {"run_id": [run_id] * n, **cols}, n)


def history(metrics: pa.Table) -> dict[str, dict[str, np.ndarray]]:
    """A run's ``metrics`` rows laid out as the ``history`` provider gives them.

    Parameters
    ----------
    metrics : pyarrow.Table
        The run's ``metrics`` table (any row order).

    Returns
    -------
    dict[str, dict[str, ndarray of shape (n_epochs + 1,)]]
        Per split: ``epoch``, ``loss`` and ``accuracy`` as float64, sorted by
        epoch (stable).
    """
    data = metrics.select(["epoch", "split", "loss", "accuracy"]).to_pydict()
    out: dict[str, dict[str, list]] = {}
    for epoch, split, loss, acc in zip(data["epoch"], data["split"], data["loss"], data["accuracy"]):
        cols = out.setdefault(split, {"epoch": [], "loss": [], "accuracy": []})
        cols["epoch"].append(epoch), cols["loss"].append(loss), cols["accuracy"].append(acc)
    result = {}
    for split, cols in out.items():
        order = np.argsort(cols["epoch"], kind="stable")
        result[split] = {k: np.asarray(v, dtype=np.float64)[order] for k, v in cols.items()}
    return result
