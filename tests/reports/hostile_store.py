"""A store whose text is hostile: every name a report shows tries to break out of HTML and LaTeX.

The store of :mod:`tests.reports.kinds_store`, with every text the store holds
rewritten to carry :data:`ATTACK` (a ``<script>`` element, ``\\input{/etc/passwd}``,
a math-mode pair of dollars that matplotlib would parse) and every character
LaTeX treats specially: run ids, the experiment, the measure id of
``weight_spectrum``, statistic names, layer names, a sweep axis (starting with the `$` of a JSON path) and its values;
plus 18 runs of another hostile experiment that compare a hostile regulariser
with none (6 networks x 3 settings) for ``regulariser_comparison``.
:func:`hostile_options` gives each kind the options that point it at these rows.
"""

from __future__ import annotations

import json

import duckdb

from reports.kinds import kind_options
from tests.reports.conftest import _insert
from tests.reports.kinds_store import fill_kinds_store

#: What every hostile text carries: markup, a file read, math mode, and LaTeX's special characters.
ATTACK = "<script>alert(1)</script>\\input{/etc/passwd}$\\input{x}$ & % # _ { } ~ ^ \\"


def hostile(tag: str) -> str:
    """A hostile text that starts with ``tag`` (so that two of them differ)."""
    return f"{tag}{ATTACK}"


EXPERIMENT, REG_EXPERIMENT = hostile("exp"), hostile("regexp")
RUN_PREFIX, MEASURE, STAT_PREFIX = hostile("run"), hostile("measure"), hostile("stat")
LAYER, LAYER_PREFIX = hostile("layer"), hostile("layer")
AXIS, VALUE, REGULARISER = hostile("$axis/~"), hostile("value"), hostile("reg")
TITLE = hostile("title")
#: A manifest whose description is hostile (it is shown verbatim in the documents).
MANIFEST = (f'[experiment]\nname = "safe"\n'
            f'description = """{hostile("description")}\n\\end{{verbatim}}\\input{{/etc/passwd}}"""\n')


def _rename(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("runs", "metrics", "measures", "diagrams"):
        con.execute(f"UPDATE {table} SET run_id = ? || run_id", [RUN_PREFIX])
    con.execute("UPDATE runs SET experiment = ?", [EXPERIMENT])
    con.execute("UPDATE measures SET measure = ? WHERE measure = 'weight_spectrum'", [MEASURE])
    con.execute("UPDATE measures SET statistic = ? || statistic WHERE layer = 'all' "
                "AND measure IN (?, 'neural_collapse')", [STAT_PREFIX, MEASURE])
    con.execute("UPDATE measures SET layer = ? WHERE layer = 'all'", [LAYER])
    con.execute("UPDATE diagrams SET layer = ? WHERE layer = 'all'", [LAYER])
    con.execute("UPDATE measures SET layer = ? || layer WHERE layer LIKE 'fc%'", [LAYER_PREFIX])
    for run_id, seed, axes in con.execute("SELECT run_id, seed, axes FROM runs").fetchall():
        axes = json.loads(axes)
        if axes:
            axes[AXIS] = VALUE + "AB"[seed % 2]
            con.execute("UPDATE runs SET axes = ? WHERE run_id = ?", [json.dumps(axes), run_id])


def _regulariser_runs(con: duckdb.DuckDBPyConnection) -> None:
    runs, metrics = [], []
    for net in range(6):
        for m, (name, weight) in enumerate((("none", 0.0), (REGULARISER, 0.01), (REGULARISER, 0.1))):
            rid = f"{RUN_PREFIX}reg{net}_{m}"
            axes = {AXIS: f"{VALUE}{net}", "regulariser.name": name, "regulariser.weight": weight}
            config = {"regulariser": {"name": name, "weight": weight, "params": {}}}
            runs.append({"run_id": rid, "experiment": REG_EXPERIMENT, "seed": 0, "dataset": "d",
                         "arch": "mlp", "regulariser": name, "config": json.dumps(config),
                         "axes": json.dumps(axes), "status": "done"})
            test = 0.7 + 0.01 * net + 0.02 * m
            metrics += [{"run_id": rid, "epoch": 1, "split": s, "loss": 1.0, "accuracy": a}
                        for s, a in (("train", test + 0.1 - 0.01 * m), ("test", test))]
    _insert(con, "runs", runs)
    _insert(con, "metrics", metrics)


def fill_hostile_store(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``con`` with the hostile store of the module docstring."""
    fill_kinds_store(con, n_runs=24)
    _rename(con)
    _regulariser_runs(con)


def hostile_options(kind: str):
    """Options of report ``kind`` that read the hostile rows (validated as a manifest's would be)."""
    common = {"experiment": EXPERIMENT}
    by_kind = {
        "gap_regression": {"layer": LAYER, "families": [
            [hostile("family1"), [STAT_PREFIX + "cdnv_last_hidden"]],
            [hostile("family2"), [STAT_PREFIX + "mean_spectral_norm", STAT_PREFIX + "mean_stable_rank"],
             MEASURE]]},
        "ranking": {"layer": LAYER, "cluster_measures": [MEASURE]},
        "training_dynamics": {"layer": LAYER},
        "persistence": {"layer": LAYER},
        "layers": {},
        "regulariser_comparison": {"experiment": REG_EXPERIMENT},
    }
    return kind_options(kind, {**common, **by_kind.get(kind, {})})
