"""The ranking report on the synthetic store, whose gap is driven by cdnv_last_hidden.

References: values read straight from the raw store tables (measures, metrics,
runs) with SQL written here; scipy.stats.kendalltau (no ties in these
continuous values, so tau-a = tau-b); psi_i recomputed by a loop over pairs
that differ only in axis i (Jiang et al. 2020 Eq. (4)); the CMI score from
reports.stats.cmi and the clusters from reports.stats.clusters on those raw
values (tested against a brute-force count and scikit-learn in their own test files).
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from scipy import stats as sps

from reports.kinds.ranking import build
from reports.kinds.ranking.compute import TABLES
from reports.kinds.ranking.options import RankingConfig
from reports.render import render_html, render_latex
from reports.stats.clusters import kmeans_summaries_gap
from reports.stats.cmi import cmi_score
from tests.reports.conftest import LAST_EPOCH, MANIFEST, fill_store

AXES = ("data.label_noise", "model.depth", "optim.lr")
THREE_AXES = """UPDATE runs SET axes = json_object(
    'model.depth', json_extract(axes, '$."model.depth"'),
    'optim.lr', CASE WHEN seed % 2 = 0 THEN 0.1 ELSE 0.01 END,
    'data.label_noise', (seed // 2) % 2)::VARCHAR
WHERE status = 'done'"""


def _three_axis_store(**kwargs) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    fill_store(con, **kwargs)
    con.execute(THREE_AXES)
    return con


@pytest.fixture(scope="module")
def ranked():
    con = _three_axis_store()
    report = build(con)
    yield con, report
    con.close()


def _raw(con, statistic):
    """(run ids, statistic, gap, axes) from the raw tables, sorted by run_id."""
    rows = con.execute(f"""
        SELECT m.run_id, m.value,
               max(g.accuracy) FILTER (WHERE g.split = 'train')
                 - max(g.accuracy) FILTER (WHERE g.split = 'test'), r.axes
        FROM measures m JOIN metrics g ON g.run_id = m.run_id AND g.epoch = {LAST_EPOCH}
        JOIN runs r ON r.run_id = m.run_id
        WHERE m.statistic = ? AND m.layer = 'all' AND m.epoch = {LAST_EPOCH} AND m.version = 2
          AND r.status = 'done'
        GROUP BY m.run_id, m.value, r.axes ORDER BY m.run_id""", [statistic]).fetchall()
    axes = [json.loads(r[3]) for r in rows]
    return ([r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
            {a: [ax.get(a) for ax in axes] for a in AXES})


def _psi_loop(mu, g, axes, axis):
    """Eq. (4): per cell of the other axes, mean sign product over pairs differing in ``axis``."""
    others = [a for a in axes if a != axis]
    cells: dict = {}
    for k in range(len(mu)):
        cells.setdefault(tuple(axes[a][k] for a in others), []).append(k)
    taus = []
    for members in cells.values():
        prods = [np.sign(mu[p] - mu[q]) * np.sign(g[p] - g[q])
                 for p in members for q in members if axes[axis][p] != axes[axis][q]]
        if prods:
            taus.append(np.mean(prods))
    return float(np.mean(taus))


def _stored(con, statistic):
    return con.execute(f'SELECT position, n_runs, tau_a, tau_b, p, psi_mean, cmi, status FROM '
                       f'"{TABLES["measures"]}" WHERE statistic = ?', [statistic]).fetchall()[0]


def test_driving_feature_ranks_first_and_order_is_by_abs_tau_a(ranked):
    con, _ = ranked
    rows = con.execute(f'SELECT statistic, tau_a FROM "{TABLES["measures"]}" ORDER BY position').fetchall()
    assert rows[0][0] == "cdnv_last_hidden" and rows[0][1] > 0.8
    taus = np.abs([r[1] for r in rows])
    assert np.all(np.diff(taus) <= 0)
    assert len(rows) == 11  # 3 neural-collapse + 8 weight-spectrum statistics


def test_numbers_equal_direct_computations(ranked):
    con, _ = ranked
    for statistic in ("cdnv_last_hidden", "mean_stable_rank"):
        _, mu, gap, axes = _raw(con, statistic)
        _, n, tau, tau_b, p, psi_mean, cmi, status = _stored(con, statistic)
        ref = sps.kendalltau(mu, gap)
        assert (n, status) == (40, "ok")
        assert tau == pytest.approx(ref.statistic) and tau_b == pytest.approx(ref.statistic)
        assert p == pytest.approx(ref.pvalue)
        psi = dict(con.execute(f'SELECT axis, psi FROM "{TABLES["psi"]}" WHERE statistic = ?',
                               [statistic]).fetchall())
        expected = {a: _psi_loop(mu, gap, axes, a) for a in AXES}
        assert psi == pytest.approx(expected)
        assert psi_mean == pytest.approx(np.mean(list(expected.values())))
        assert cmi == pytest.approx(cmi_score(mu, gap, axes).score)
    assert _stored(con, "cdnv_last_hidden")[6] > _stored(con, "mean_stable_rank")[6]


def test_axes_table_and_documents(ranked):
    con, report = ranked
    axes = con.execute(f'SELECT axis, n_values, used FROM "{TABLES["axes"]}" ORDER BY position').fetchall()
    assert axes == [("data.label_noise", 2, True), ("model.depth", 3, True), ("optim.lr", 2, True)]
    table = next(b for s in report.sections for b in s.blocks if getattr(b, "key", "") == "ranking")
    assert [c.label for c in table.columns][4:10] == ["tau-a", "CI low", "CI high", "p", "p (Holm)", "p (BH)"]
    assert table.rows[0][2] == "cdnv_last_hidden" and table.rows[0][0] == 1
    robust = next(b for s in report.sections for b in s.blocks if getattr(b, "key", "") == "robustness")
    assert [c.label for c in robust.columns][3:9] == [f"psi({a})" for a in AXES] + ["Psi", "CMI", "sign error (worst)"]
    assert robust.rows[0][2] == "cdnv_last_hidden"
    html = render_html(report, title="Synthetic", manifest_text=MANIFEST)
    assert "psi(model.depth)" in html and "report_ranking_psi" in html
    tex = render_latex(report, title="Synthetic", manifest_text=MANIFEST,
                       figure_files={"top": "ranking-top.pdf"})
    assert r"cdnv\_last\_hidden" in tex and r"\begin{tabular}" in tex


def test_changing_a_stored_value_changes_the_report():
    con = _three_axis_store()
    build(con)
    before = _stored(con, "cdnv_last_hidden")
    # The final value of one run, newest version on layer 'all': the one the report reads.
    con.execute(f"UPDATE measures SET value = 50.0 WHERE run_id = 'run000' AND "
                f"statistic = 'cdnv_last_hidden' AND layer = 'all' AND epoch = {LAST_EPOCH} "
                f"AND version = 2")
    build(con)
    after = _stored(con, "cdnv_last_hidden")
    _, mu, gap, _ = _raw(con, "cdnv_last_hidden")
    assert after[2] != pytest.approx(before[2])
    assert after[2] == pytest.approx(sps.kendalltau(mu, gap).statistic)
    con.execute("UPDATE measures SET value = 1.0 WHERE statistic = 'cdnv_last_hidden'")  # constant: tau = 0
    build(con)
    assert _stored(con, "cdnv_last_hidden")[0] > 0
    con.close()


def _notices(report) -> str:
    return " ".join(b.text for s in report.sections for b in s.blocks if b.block == "notice")


def test_notices_instead_of_failures(make_store):
    few = make_store(n_runs=5)
    report = build(few)
    assert "Only 5 runs" in _notices(report) and len(report.sections) == 1
    assert few.execute(f'SELECT count(*) FROM "{TABLES["measures"]}"').fetchall()[0][0] == 0
    flat = make_store(constant_gap=True)
    assert "nothing to rank against" in _notices(build(flat))
    no_axes = make_store()
    no_axes.execute("UPDATE runs SET axes = '{}'")
    report = build(no_axes)
    assert "No sweep axis" in _notices(report)
    assert no_axes.execute(f'SELECT count(*) FROM "{TABLES["psi"]}"').fetchall()[0][0] == 0
    tau = no_axes.execute(f'SELECT statistic, tau_a FROM "{TABLES["measures"]}" '
                          f'ORDER BY position').fetchall()[0]
    assert tau[0] == "cdnv_last_hidden" and tau[1] > 0.8
    one_axis = make_store()  # conftest's store: model.depth only, no pair of axes for PGDL's CMI
    assert "no CMI score was computed" in _notices(build(one_axis))
    tex = render_latex(build(one_axis), title="t", manifest_text="m", figure_files={"top": "x.pdf"})
    assert r"\textbf{Note.}" in tex


def test_config_selects_axes_and_cmi_sets(make_store):
    con = make_store()
    con.execute(THREE_AXES)
    build(con, RankingConfig(axes=["optim.lr"], cmi_subset_sizes=(0, 1), statistics=[
        "cdnv_last_hidden", "mean_frobenius_norm"]))
    assert {r[0] for r in con.execute(f'SELECT DISTINCT axis FROM "{TABLES["psi"]}"').fetchall()} == {
        "optim.lr"}
    conditioning = {r[0] for r in con.execute(f'SELECT conditioning FROM "{TABLES["cmi"]}"').fetchall()}
    assert conditioning == {"(none)", "optim.lr"}
    assert con.execute(f'SELECT count(*) FROM "{TABLES["measures"]}"').fetchall()[0][0] == 2


def test_config_errors():
    with pytest.raises(ValueError, match="min_runs"):
        RankingConfig(min_runs=2)
    with pytest.raises(ValueError, match="cmi_subset_sizes"):
        RankingConfig(cmi_subset_sizes=(-1,))
    with pytest.raises(TypeError, match="'statuses'"):
        RankingConfig(statuses="done")


def test_persistence_statistics_are_clustered_with_the_gap(make_store):
    # Reference: reports.stats.clusters.kmeans_summaries_gap (tested against
    # sklearn.cluster.KMeans) on the raw values read here.
    con = make_store(persistence=True)
    report = build(con)
    rows = con.execute(f'SELECT statistic, cluster, n_runs, mean_value, mean_gap FROM '
                       f'"{TABLES["clusters"]}" ORDER BY statistic, cluster').fetchall()
    assert {r[0] for r in rows} == {"h0_std_death", "h0_mean_death", "h1_std_birth", "h1_std_death",
                                    "h1_mean_birth", "h1_mean_death", "h0_persistent_entropy"}
    _, mu, gap, _ = _raw(con, "h1_mean_death")
    ref = kmeans_summaries_gap(mu, gap)
    got = [r for r in rows if r[0] == "h1_mean_death"]
    assert [r[2] for r in got] == ref.sizes.tolist()
    assert [r[4] for r in got] == pytest.approx(ref.mean_gap.tolist())
    assert [r[3] for r in got] == pytest.approx([mu[ref.labels == k].mean() for k in range(2)])
    assert any(s.title == "Clusters of statistic and gap" for s in report.sections)


def test_the_seed_is_a_replicate_not_an_axis():
    con = _three_axis_store()
    # the runner stores the seed among the sweep values of runs.axes
    con.execute("""UPDATE runs SET axes = json_insert(axes::JSON, '$.seed', seed)::VARCHAR WHERE status = 'done'""")
    build(con)
    used = dict(con.execute(f'SELECT axis, used FROM "{TABLES["axes"]}"').fetchall())
    assert used == {**{a: True for a in AXES}, "seed": False}
    psi_axes = {a for (a,) in con.execute(f'SELECT DISTINCT axis FROM "{TABLES["psi"]}"').fetchall()}
    assert psi_axes == set(AXES)
    con.close()


def test_psi_of_an_axis_no_pair_varies_alone_is_a_notice():
    con = _three_axis_store()
    # the seed-parity lr is tied to the label noise: every pair that differs in one differs in the other
    con.execute("""UPDATE runs SET axes = json_object('model.depth', json_extract(axes, '$."model.depth"'),
        'optim.lr', CASE WHEN seed % 2 = 0 THEN 0.1 ELSE 0.01 END,
        'data.label_noise', seed % 2)::VARCHAR WHERE status = 'done'""")
    text = _notices(build(con))
    assert ("psi and the sign-error are undefined for data.label_noise, optim.lr: no two runs differ in that "
            "axis only") in text
    pairs = dict(con.execute(f'SELECT axis, max(n_pairs) FROM "{TABLES["psi"]}" GROUP BY 1').fetchall())
    assert pairs["data.label_noise"] == pairs["optim.lr"] == 0 and pairs["model.depth"] > 0
    con.close()


def test_oriented_tau_a_follows_the_sign_each_measure_declares(catalog):
    con = _three_axis_store()
    report = build(con, None, catalog)
    rows = {s: (sign, oriented, tau) for s, sign, oriented, tau in con.execute(
        f'SELECT statistic, sign, oriented_tau_a, tau_a FROM "{TABLES["measures"]}"').fetchall()}
    # cdnv: declared to grow with the gap (higher_is_better False), and it does in this store
    sign, oriented, tau = rows["cdnv_last_hidden"]
    assert sign == 1 and oriented == pytest.approx(tau) and oriented > 0.8
    # NCC accuracy: declared to fall as the gap grows (higher_is_better True): its tau is flipped
    sign, oriented, tau = rows["ncc_accuracy_train_last_hidden"]
    assert sign == -1 and oriented == pytest.approx(-tau)
    # weight-spectrum statistics declare no sign
    assert rows["mean_stable_rank"][:2] == (None, None)
    table = next(b for s in report.sections for b in s.blocks if getattr(b, "key", "") == "ranking")
    column = [c.label for c in table.columns].index("oriented tau-a")
    assert table.rows[0][2] == "cdnv_last_hidden"
    assert table.rows[0][column] == pytest.approx(rows["cdnv_last_hidden"][1])
    assert "No ranked statistic has a declared sign" not in _notices(report)
    assert "No ranked statistic has a declared sign" in _notices(build(con))  # no catalog: no signs
    con.close()
