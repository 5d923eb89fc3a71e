"""The regulariser_comparison report on a synthetic store where one setting is best.

The store: 12 networks (width x depth x seed) trained with 4 regulariser settings;
``topological_t1`` at weight 0.01 has the highest test accuracy and the smallest
gap on every network, so its average rank is exactly 1. Traps: earlier epochs
with other values, a failed run with absurd accuracies, a network that lacks two
settings. References: the numbers the store was filled with, through numpy
(means, ddof=1 standard deviations, ranks by double argsort, Demšar's chi²_F
formula), Demšar (2006) Table 5 for q_0.05 (k = 4: 2.569), scipy.stats.wilcoxon
and statsmodels' Holm correction.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil

import duckdb
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from reports.document import Graphic, Notice
from reports.kinds.regulariser_comparison import build
from reports.kinds.regulariser_comparison.compute import TABLES
from reports.kinds.regulariser_comparison.options import RegulariserComparisonConfig
from reports.latex import compile_latex
from reports.render import render_html, render_latex
from tests.reports.conftest import _create_tables, _insert, fill_store

METHODS = [("none", 0.0), ("decorrelation", 0.01), ("topological_t1", 0.001),
           ("topological_t1", 0.01)]
LABELS = ["none", "decorrelation (weight 0.01)", "topological_t1 (weight 0.001)",
          "topological_t1 (weight 0.01)"]
BEST = 3
NETWORKS = [(w, d, s) for w in (64, 128) for d in (2, 3) for s in (0, 1, 2)]
PICKED = (128, 3, 1)


def _network(w, d, s):
    return f"model.depth={d}, model.width={w}, seed={s}"


def _fill(con: duckdb.DuckDBPyConnection, seed: int = 0, *, latin: bool = False) -> dict:
    """Create the store; return {(network, method label): (test accuracy, gap)}.

    ``latin``: no setting is better; each takes every rank on 3 of the 12 networks.
    """
    rng = np.random.default_rng(seed)
    _create_tables(con)
    runs, metrics, truth = [], [], {}

    def add(w, d, s, m, test, gap, status="done", val=None):
        name, weight = METHODS[m]
        rid = f"r{w}_{d}_{s}_{m}_{status}"
        axes = {"model.width": w, "model.depth": d, "regulariser.name": name, "seed": s}
        if name != "none":
            axes["regulariser.weight"] = weight
        config = {"seed": s, "regulariser": {"name": name, "weight": weight, "params": {}}}
        runs.append({"run_id": rid, "experiment": "decor", "seed": s, "dataset": "digits",
                     "arch": "mlp", "regulariser": name, "config": json.dumps(config),
                     "axes": json.dumps(axes), "status": status})
        val = test + 0.001 if val is None else val
        for epoch, accs in enumerate([(0.5, 0.9, 0.45), (0.6, 0.9, 0.55), (test + gap, val, test)], 1):
            metrics.extend({"run_id": rid, "epoch": epoch, "split": split, "loss": 1.0,
                            "accuracy": a} for split, a in zip(("train", "val", "test"), accs))

    for i, (w, d, s) in enumerate(NETWORKS):
        base = 0.8 + 0.05 * rng.uniform()
        effects = rng.uniform(-0.02, 0.02, size=4)
        effects[BEST] = 0.05
        gaps = 0.1 + rng.uniform(0.0, 0.05, size=4)
        gaps[BEST] = 0.04 + 0.005 * rng.uniform()
        if latin:
            effects = gaps = 0.01 * ((i + np.arange(4)) % 4) + 0.05
        for m in range(4):
            truth[(_network(w, d, s), LABELS[m])] = (base + effects[m], gaps[m])
            # validation picks weight 0.001 of topological_t1 on one network only
            add(w, d, s, m, base + effects[m], gaps[m],
                val=0.99 if (w, d, s, m) == (*PICKED, 2) else None)
    add(64, 2, 0, 0, 0.01, 0.9, status="failed")          # ignored: failed
    add(256, 2, 0, 0, 0.7, 0.1)                           # network lacking two settings
    add(256, 2, 0, BEST, 0.9, 0.02)
    _insert(con, "runs", runs)
    _insert(con, "metrics", metrics)
    _insert(con, "measures", [])
    return truth


def _matrix(truth: dict, col: int) -> np.ndarray:
    return np.array([[truth[(_network(*n), lab)][col] for lab in LABELS] for n in NETWORKS])


@pytest.fixture(scope="module")
def built():
    con = duckdb.connect()
    truth = _fill(con)
    report = build(con)
    yield {"con": con, "truth": truth, "report": report}
    con.close()


def _methods(con, criterion):
    return con.execute(f'SELECT method, mean, std, avg_rank, n_blocks FROM "{TABLES["methods"]}" '
                       f"WHERE criterion = ? ORDER BY position", [criterion]).fetchall()


def test_best_regulariser_ranks_first(built):
    for criterion in ("accuracy", "gap"):
        rows = _methods(built["con"], criterion)
        assert rows[0][0] == LABELS[BEST] and rows[0][3] == 1.0 and rows[0][4] == 12
        assert sorted(r[0] for r in rows) == sorted(LABELS)


@pytest.mark.parametrize("criterion, col, sign", [("accuracy", 0, -1), ("gap", 1, 1)])
def test_stored_numbers_equal_numpy(built, criterion, col, sign):
    con, x = built["con"], _matrix(built["truth"], col)
    ranks = np.argsort(np.argsort(sign * x, axis=1), axis=1) + 1.0  # no ties in this store
    avg = ranks.mean(axis=0)
    got = {r[0]: r[1:4] for r in _methods(con, criterion)}
    for j, lab in enumerate(LABELS):
        np.testing.assert_allclose(got[lab], [x[:, j].mean(), x[:, j].std(ddof=1), avg[j]],
                                   rtol=1e-10, atol=1e-12)
    n, k = x.shape
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(avg ** 2) - k * (k + 1) ** 2 / 4)  # Demšar 2006
    ff = (n - 1) * chi2 / (n * (k - 1) - chi2)
    row = con.execute(f'SELECT chi2, f, cd, q_alpha FROM "{TABLES["tests"]}" WHERE criterion = ?',
                      [criterion]).fetchall()[0]
    assert row[:2] == pytest.approx((chi2, ff), rel=1e-10)
    assert row[3] == pytest.approx(2.569, abs=1e-3)  # Demšar Table 5, k = 4
    assert row[2] == pytest.approx(2.569 * np.sqrt(k * (k + 1) / (6 * n)), abs=2e-3)
    pairs = con.execute(f'SELECT method_a, method_b, wilcoxon_p, holm_p FROM "{TABLES["pairs"]}" '
                        f"WHERE criterion = ?", [criterion]).fetchall()
    ref = {(LABELS[a], LABELS[b]): stats.wilcoxon(x[:, a], x[:, b]).pvalue
           for a in range(k) for b in range(a + 1, k)}
    holm = dict(zip(ref, multipletests(list(ref.values()), method="holm")[1]))
    assert len(pairs) == 6
    for a, b, p, ph in pairs:
        assert (p, ph) == pytest.approx((ref[(a, b)], holm[(a, b)]), rel=1e-10)
    # stored per-network ranks average to the stored average ranks
    back = dict(con.execute(f'SELECT method, avg(rank_{criterion}) FROM "{TABLES["cells"]}" '
                            "WHERE used GROUP BY method").fetchall())
    for j, lab in enumerate(LABELS):
        assert back[lab] == pytest.approx(avg[j])


def test_best_is_in_no_clique_with_the_worst(built):
    con = built["con"]
    worst = _methods(con, "accuracy")[-1][0]
    cliques = {}
    for g, m in con.execute(f'SELECT clique, method FROM "{TABLES["cliques"]}" '
                            "WHERE criterion = 'accuracy' AND test = 'nemenyi'").fetchall():
        cliques.setdefault(g, set()).add(m)
    assert not any({LABELS[BEST], worst} <= c for c in cliques.values())
    assert con.execute(f'SELECT nemenyi_different FROM "{TABLES["pairs"]}" WHERE criterion = '
                       "'accuracy' AND ? IN (method_a, method_b) AND ? IN (method_a, method_b)",
                       [LABELS[BEST], worst]).fetchall() == [(True,)]
    # every pair inside a Wilcoxon-Holm clique is one the Holm-corrected tests do not reject
    differ = {frozenset((a, b)): d for a, b, d in con.execute(
        f'SELECT method_a, method_b, holm_different FROM "{TABLES["pairs"]}" '
        "WHERE criterion = 'accuracy'").fetchall()}
    holm = {}
    for g, m in con.execute(f'SELECT clique, method FROM "{TABLES["cliques"]}" '
                            "WHERE criterion = 'accuracy' AND test = 'wilcoxon_holm'").fetchall():
        holm.setdefault(g, []).append(m)
    assert holm and all(not differ[frozenset(p)] for c in holm.values()
                        for p in itertools.combinations(c, 2))
    assert all(LABELS[BEST] not in c for c in holm.values())  # it beats every other setting


def test_incomplete_network_and_failed_run(built):
    con = built["con"]
    rows = con.execute(f'SELECT method, used, test_accuracy FROM "{TABLES["cells"]}" '
                       "WHERE network LIKE '%model.width=256%' ORDER BY method").fetchall()
    assert [(m, u) for m, u, _ in rows] == [("none", False), (LABELS[BEST], False)]
    acc = con.execute(f'SELECT test_accuracy, n_runs FROM "{TABLES["cells"]}" WHERE network = ? '
                      "AND method = 'none'", [_network(64, 2, 0)]).fetchall()
    assert acc == [(pytest.approx(built["truth"][(_network(64, 2, 0), "none")][0]), 1)]
    notices = [b.text for s in built["report"].sections for b in s.blocks if isinstance(b, Notice)]
    assert any("model.width=256" in t and "lacks decorrelation (weight 0.01)" in t for t in notices)


def test_changing_a_value_in_the_store_changes_the_report():
    con = duckdb.connect()
    _fill(con)
    con.execute("UPDATE metrics SET accuracy = 0.01 WHERE run_id = 'r64_2_0_3_done' "
                "AND split = 'test' AND epoch = 3")
    build(con)
    rank = {m: r for m, _, _, r, _ in _methods(con, "accuracy")}[LABELS[BEST]]
    assert rank == pytest.approx((11 * 1 + 4) / 12)  # last on one network of twelve
    con.close()


def test_pooled_seeds():
    con = duckdb.connect()
    truth = _fill(con)
    build(con, RegulariserComparisonConfig(seed_blocks=False, min_blocks=4))
    cells = con.execute(f'SELECT network, n_runs, test_accuracy FROM "{TABLES["cells"]}" '
                        "WHERE method = 'none' AND used ORDER BY network").fetchall()
    assert [(n, k) for n, k, _ in cells] == [(f"model.depth={d}, model.width={w}", 3)
                                             for d in (2, 3) for w in (128, 64)]
    ref = np.mean([truth[(_network(64, 3, s), "none")][0] for s in range(3)])
    assert {n: a for n, _, a in cells}["model.depth=3, model.width=64"] == pytest.approx(ref)
    con.close()


@pytest.mark.parametrize("store, kwargs, message", [
    ("shared", {}, "The store holds 1 regulariser setting(s)"),
    ("empty", {}, "The store holds 0 regulariser setting(s)"),
    ("decor", {"min_blocks": 100}, "Only 12 network configurations have every regulariser setting")])
def test_notice_instead_of_failure(store, kwargs, message):
    con = duckdb.connect()
    if store == "shared":
        fill_store(con, n_runs=8)  # the shared synthetic store: one setting ('none')
    elif store == "empty":
        _create_tables(con)
    else:
        _fill(con)
    report = build(con, RegulariserComparisonConfig(**kwargs))
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert any(message in t for t in notices)
    assert not any(isinstance(b, Graphic) for s in report.sections for b in s.blocks)
    for t in TABLES.values():  # the tables exist, possibly empty
        con.execute(f'SELECT * FROM "{t}"')
    assert "<p class=\"notice\">" in render_html(report, title="T", manifest_text="")
    assert r"\textbf{Note.}" in render_latex(report, title="T", manifest_text="", figure_files={})
    con.close()


def test_weight_chosen_on_validation():
    con = duckdb.connect()
    truth = _fill(con)
    build(con, RegulariserComparisonConfig(select_weight=True))
    rows = con.execute(f'SELECT network, weight, test_accuracy FROM "{TABLES["cells"]}" '
                       "WHERE method = 'topological_t1' AND used").fetchall()
    assert len(rows) == 12
    for network, weight, acc in rows:
        lab = LABELS[2] if network == _network(*PICKED) else LABELS[BEST]
        assert weight == (0.001 if lab == LABELS[2] else 0.01)
        assert acc == pytest.approx(truth[(network, lab)][0])
    methods = _methods(con, "accuracy")
    assert sorted(m for m, *_ in methods) == ["decorrelation", "none", "topological_t1"]
    weights = dict(con.execute(f'SELECT method, weight FROM "{TABLES["methods"]}" '
                               "WHERE criterion = 'gap'").fetchall())
    assert weights == {"none": 0.0, "decorrelation": 0.01, "topological_t1": None}  # chosen per network
    x = np.array([[truth[(_network(*n), lab)][0] for lab in
                   (LABELS[0], LABELS[1], LABELS[2] if n == PICKED else LABELS[BEST])]
                  for n in NETWORKS])
    avg = (np.argsort(np.argsort(-x, axis=1), axis=1) + 1.0).mean(axis=0)
    got = {m: r for m, _, _, r, _ in methods}
    assert [got["none"], got["decorrelation"], got["topological_t1"]] == pytest.approx(avg)
    con.close()


def test_two_settings_rank_without_friedman():
    con = duckdb.connect()
    _fill(con)
    con.execute("DELETE FROM runs WHERE regulariser = 'decorrelation' "
                "OR config LIKE '%\"weight\": 0.001%'")
    report = build(con)
    status, cd, k = con.execute(f'SELECT status, cd, n_methods FROM "{TABLES["tests"]}" '
                                "WHERE criterion = 'accuracy'").fetchall()[0]
    assert k == 2 and status == "Friedman's test needs at least 3 methods"
    assert cd == pytest.approx(1.960 * np.sqrt(2 * 3 / (6 * 13)), abs=1e-3)  # Demšar Table 5
    assert len([b for s in report.sections for b in s.blocks if isinstance(b, Graphic)]) == 2
    con.close()


def test_no_post_hoc_bars_when_friedman_does_not_reject():
    con = duckdb.connect()
    _fill(con, latin=True)
    report = build(con)
    p_f, chi2 = con.execute(f'SELECT p_f, chi2 FROM "{TABLES["tests"]}" '
                            "WHERE criterion = 'accuracy'").fetchall()[0]
    assert chi2 == pytest.approx(0.0, abs=1e-9) and p_f == pytest.approx(1.0)  # equal mean ranks
    graphic = next(b for s in report.sections for b in s.blocks if isinstance(b, Graphic))
    assert "Friedman's test does not reject" in graphic.caption
    assert graphic.svg.count('class="clique"') == 1
    con.close()


def test_bad_config():
    with pytest.raises(ValueError, match="'alpha' option.*Got 1.5"):
        RegulariserComparisonConfig(alpha=1.5)
    with pytest.raises(ValueError, match="'min_blocks' option.*Got 1"):
        RegulariserComparisonConfig(min_blocks=1)


def test_render_html_and_latex(built, tmp_path):
    report = built["report"]
    graphics = [b for s in report.sections for b in s.blocks if isinstance(b, Graphic)]
    assert [g.key for g in graphics] == ["cd-accuracy", "cd-gap"]
    html = render_html(report, title="Decor & co", manifest_text="x = 1")
    assert html.count('class="cd-diagram"') == 2 and "topological_t1 (weight 0.01) (1.00)" in html
    tex = render_latex(report, title="Decor & co", manifest_text="x = 1", figure_files={})
    assert tex.count(r"\begin{tikzpicture}") == 2
    assert r"{topological\_t1 (weight 0.01) (1.00)}" in tex
    body = re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", tex, flags=re.DOTALL)
    assert not re.search(r"(?<!\\)_", body), "unescaped _ outside verbatim"
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "r.tex").write_text(tex, encoding="utf-8")
    res = compile_latex(tmp_path / "r.tex")
    assert res.returncode == 0, res.stdout[-3000:]
