"""reports.kinds.layers on the synthetic store: per-layer values, depth, layer index, bands and trends.

References are recomputed from the raw measure rows with polars, numpy.percentile
(linear interpolation, quantile_cont's definition) and scipy.stats.spearmanr.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import scipy.stats as sps

from reports.document import Notice
from reports.kinds.layers import build
from reports.kinds.layers.compute import TABLES, compute
from reports.kinds.layers.options import LayersConfig
from reports.render import render_html, render_latex
from tests.reports.kinds_store import NC_LAYER_STATS, rows, store_factory


@pytest.fixture
def kinds_store():
    """Factory of synthetic stores: ``kinds_store(n_runs=24, seed=0)``."""
    yield from store_factory()


def _reference(con) -> pl.DataFrame:
    """(run_id, depth, layer, layer_index, statistic, value): newest version at epoch 3, fc<i> -> i, output last."""
    depth = {r: json.loads(a)["model.depth"] for r, a in
             rows(con, "runs").filter(pl.col("status") == "done").select("run_id", "axes").iter_rows()}
    m = (rows(con, "measures").filter((pl.col("measure") == "neural_collapse") & (pl.col("layer") != "all")
                                      & pl.col("statistic").is_in(NC_LAYER_STATS) & (pl.col("epoch") == 3))
         .sort("version", descending=True).unique(["run_id", "layer", "statistic"], keep="first"))
    out = []
    for r in m.iter_rows(named=True):
        d = depth[r["run_id"]]
        idx = d + 1 if r["layer"] == "output" else int(r["layer"][2:])
        out.append({"run_id": r["run_id"], "depth": d, "layer": r["layer"], "layer_index": idx,
                    "statistic": r["statistic"], "value": r["value"]})
    return pl.from_dicts(out)


def test_values_depth_and_layer_index(kinds_store):
    con = kinds_store()
    compute(con)
    got = con.sql('SELECT run_id, depth, layer_index, statistic, value, n_layers, epoch FROM "layers_values"').pl()
    ref = _reference(con)
    joined = ref.join(got, on=["run_id", "layer_index", "statistic"], how="full", coalesce=True)
    assert len(got) == len(ref) == len(joined)
    assert (joined["depth"] == joined["depth_right"]).all()
    np.testing.assert_array_equal(joined["value"], joined["value_right"])
    assert (got["n_layers"] == got["depth"] + 1).all() and set(got["epoch"]) == {3}


def test_bands_and_trends(kinds_store):
    con = kinds_store()
    compute(con)
    ref = _reference(con)
    bands = con.execute('SELECT depth, layer_index, statistic, n_runs, q25, median, q75 FROM "layers_bands"').fetchall()
    assert len(bands) == 3 * (2 + 3 + 4)  # statistics x layers of depths 1, 2, 3
    for depth, idx, stat, n, *q in bands:
        v = ref.filter((pl.col("depth") == depth) & (pl.col("layer_index") == idx)
                       & (pl.col("statistic") == stat))["value"].to_numpy()
        assert n == v.size
        np.testing.assert_allclose(q, np.percentile(v, [25, 50, 75]), rtol=1e-12)
    trend = con.execute(f'SELECT depth, statistic, n_points, rho, p, status FROM "{TABLES["trend"]}"').fetchall()
    assert len(trend) == 9
    for depth, stat, n, rho, p, status in trend:
        part = ref.filter((pl.col("depth") == depth) & (pl.col("statistic") == stat))
        res = sps.spearmanr(part["layer_index"], part["value"])
        assert status == "ok" and n == len(part)
        np.testing.assert_allclose([rho, p], [res.statistic, res.pvalue], rtol=1e-10)
        assert (rho > 0) == stat.startswith("ncc")  # the store's NCC rises and CDNV falls with the layer


@pytest.mark.parametrize("epsilon", [0.3, 0.45])
def test_effective_depth_is_the_first_layer_with_small_ncc_error(kinds_store, epsilon):
    con = kinds_store()
    compute(con, LayersConfig(epsilon=epsilon))
    got = dict(con.execute(f'SELECT run_id, effective_depth FROM "{TABLES["effective_depth"]}"').fetchall())
    ncc = _reference(con).filter(pl.col("statistic") == "ncc_accuracy_train").sort("layer_index")
    expected = {}
    for run_id in ncc["run_id"].unique():
        part = ncc.filter(pl.col("run_id") == run_id)
        reached = [i for i, a, layer in zip(part["layer_index"], part["value"], part["layer"])
                   if 1 - a <= epsilon and layer != "output"]  # the classifier is not a candidate
        expected[run_id] = reached[0] if reached else None
    assert got == expected
    assert None in got.values() and len(set(got.values())) > 1  # some runs reach it, at different layers


def test_bad_epsilon_is_an_error():
    with pytest.raises(ValueError, match=r"'epsilon' option of layers must be a float in the range \[0, 1\)"):
        LayersConfig(epsilon=1.0)


def test_depth_falls_back_to_the_number_of_layers(kinds_store):
    con = kinds_store(n_runs=6)
    con.execute("UPDATE runs SET axes = '{}'")
    compute(con)
    got = con.execute('SELECT DISTINCT depth - n_layers FROM "layers_values"').fetchall()
    assert got == [(0,)]


def test_changing_a_stored_value_changes_the_report(kinds_store):
    con = kinds_store()
    compute(con)
    q = ('SELECT median FROM "layers_bands" WHERE depth = 3 AND layer_index = 1 '
         "AND statistic = 'ncc_accuracy_train'")
    sel = (pl.col("depth") == 3) & (pl.col("layer_index") == 1) & (pl.col("statistic") == "ncc_accuracy_train")
    part = _reference(con).filter(sel).sort("value")
    assert len(part) % 2 == 1  # 7 runs of depth 3: the median is one run's value
    median_run = part["run_id"][len(part) // 2]
    before = con.execute(q).fetchall()[0][0]
    con.execute("UPDATE measures SET value = 5.0 WHERE run_id = ? AND layer = 'fc1' "
                "AND statistic = 'ncc_accuracy_train' AND version = 2 AND epoch = 3", [median_run])
    compute(con)
    after = con.execute(q).fetchall()[0][0]
    ref = _reference(con).filter(sel)["value"]
    assert after != before and after == pytest.approx(float(np.median(ref)), rel=1e-12)


def test_layer_index_orders_numbers_not_text(make_store):
    con = make_store(n_runs=1)
    con.execute("""UPDATE runs SET axes = '{"model.depth": 11}' WHERE run_id = 'run000'""")
    names = ["output"] + [f"fc{i}" for i in range(11, 0, -1)]  # stored in reverse, "fc10" < "fc2" as text
    for name in names:
        index = 12 if name == "output" else int(name[2:])
        con.execute("INSERT INTO measures VALUES ('run000', 3, 'neural_collapse', ?, 'cdnv', ?, 'k', 1)",
                    [name, float(index)])
    compute(con)
    got = con.execute('SELECT layer, layer_index, value, depth, n_layers FROM "layers_values"').fetchall()
    assert len(got) == 12
    assert all(idx == value and depth == 11 and n == 12 for _, idx, value, depth, n in got)


def test_no_per_layer_rows_gives_a_notice(make_store):
    report = build(make_store(n_runs=5))  # the conftest store has no per-layer cdnv / ncc rows
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert notices == [("No run has per-layer rows of neural_collapse (statistics ncc_accuracy_train, "
                       "ncc_accuracy_test, cdnv, nc1): there is nothing to show.")]


def test_too_few_values_for_a_trend(kinds_store):
    con = kinds_store(n_runs=2)
    report = build(con, LayersConfig(min_points=20))
    statuses = {r[0] for r in con.execute(f'SELECT status FROM "{TABLES["trend"]}"').fetchall()}
    assert all(s.startswith("too few values") for s in statuses)
    assert any(isinstance(b, Notice) and "trends were not computed" in b.text
               for s in report.sections for b in s.blocks)


def test_document_renders(kinds_store):
    report = build(kinds_store(n_runs=8))
    keys = [f.key for f in report.figures()]
    assert keys == [f"{s}-by-layer" for s in ("ncc_accuracy_train", "ncc_accuracy_test", "cdnv")]
    assert render_html(report, title="t", manifest_text="m").count("<svg") == 3
    tex = render_latex(report, title="t", manifest_text="m", figure_files={k: f"{k}.pdf" for k in keys})
    assert r"\begin{tabular}" in tex and "cdnv-by-layer.pdf" in tex
