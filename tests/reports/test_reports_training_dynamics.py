"""reports.kinds.training_dynamics on the synthetic store: bands, correlations and accuracy curves.

References are recomputed from the raw store rows with polars, numpy.percentile
(linear interpolation, the definition quantile_cont follows) and
scipy.stats.kendalltau / spearmanr, independently of the report's SQL.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.stats as sps
from statsmodels.stats.multitest import multipletests

from reports.common import choose_axis
from reports.document import Figure, Notice
from reports.kinds.training_dynamics import build
from reports.kinds.training_dynamics.compute import TABLES, compute
from reports.kinds.training_dynamics.options import TrainingDynamicsConfig
from reports.render import render_html, render_latex
from tests.reports.kinds_store import rows, store_factory


@pytest.fixture
def kinds_store():
    """Factory of synthetic stores: ``kinds_store(n_runs=24, seed=0)``."""
    yield from store_factory()


def _final_gaps(con) -> dict[str, float]:
    """Train minus test accuracy at each finished run's last epoch, from the metrics rows."""
    done = set(rows(con, "runs").filter(pl.col("status") == "done")["run_id"])
    m = rows(con, "metrics").filter(pl.col("run_id").is_in(done))
    last = m.group_by("run_id").agg(pl.col("epoch").max())
    m = m.join(last, on=["run_id", "epoch"])
    acc = {(r["run_id"], r["split"]): r["accuracy"] for r in m.iter_rows(named=True)}
    return {rid: acc[rid, "train"] - acc[rid, "test"] for rid, _ in acc}


def _values(con) -> pl.DataFrame:
    """Newest version of every layer-'all' statistic per run and epoch, from the measures rows."""
    return (rows(con, "measures").filter(pl.col("layer") == "all")
            .sort("version", descending=True)
            .unique(["run_id", "epoch", "measure", "statistic"], keep="first"))


def _depth(con) -> dict[str, str]:
    return {r: str(pl.Series([a]).str.json_decode()[0]["model.depth"])
            for r, a in rows(con, "runs").filter(pl.col("status") == "done").select("run_id", "axes").iter_rows()}


def test_bands_are_percentiles_of_the_newest_values(kinds_store):
    con = kinds_store()
    compute(con)
    ref, depth = _values(con), _depth(con)
    got = con.execute('SELECT group_value, measure, statistic, epoch, n_runs, q25, median, q75 '
                      'FROM "training_dynamics_bands"').fetchall()
    assert len(got) == 3 * 3 * (11 + 7)  # depths x epochs x statistics
    for g, measure, stat, epoch, n, q25, med, q75 in got:
        v = ref.filter((pl.col("measure") == measure) & (pl.col("statistic") == stat)
                       & (pl.col("epoch") == epoch))
        v = np.array([x for r, x in v.select("run_id", "value").iter_rows() if depth[r] == g])
        assert n == v.size
        np.testing.assert_allclose([q25, med, q75], np.percentile(v, [25, 50, 75]), rtol=1e-12)
    assert min(r[6] for r in got if r[3] == 3) > -1.0  # never the stale version (-300)


def test_correlations_with_the_final_gap(kinds_store):
    con = kinds_store()
    compute(con)
    gaps, ref = _final_gaps(con), _values(con)
    got = con.execute(f'SELECT measure, statistic, epoch, n_runs, tau_b, p_tau, rho, p_rho, status '
                      f'FROM "{TABLES["correlations"]}"').fetchall()
    assert {r[2] for r in got} == {1, 2, 3}
    for measure, stat, epoch, n, tau, p_tau, rho, p_rho, status in got:
        v = ref.filter((pl.col("measure") == measure) & (pl.col("statistic") == stat)
                       & (pl.col("epoch") == epoch)).sort("run_id")
        x, y = v["value"].to_numpy(), np.array([gaps[r] for r in v["run_id"]])
        assert n == 24
        if epoch == 1:  # every run stores -100 at epoch 1
            assert status == "constant value" and tau is None
            continue
        assert status == "ok"
        k, s = sps.kendalltau(x, y), sps.spearmanr(x, y)
        np.testing.assert_allclose([tau, p_tau, rho, p_rho], [k.statistic, k.pvalue, s.statistic, s.pvalue],
                                   rtol=1e-10)
    cdnv = next(r[4] for r in got if r[1] == "cdnv_last_hidden" and r[2] == 3)
    assert cdnv > 0.7  # the conftest's gap is linear in cdnv_last_hidden plus small noise


def test_accuracy_bands_from_metrics(kinds_store):
    con = kinds_store()
    compute(con, TrainingDynamicsConfig(axis=None))
    depth_free = rows(con, "metrics").filter(pl.col("run_id").str.starts_with("run"))
    got = con.execute('SELECT group_value, split, epoch, n_runs, q25, median, q75 '
                      'FROM "training_dynamics_accuracy" ORDER BY split, epoch').fetchall()
    assert {r[0] for r in got} == {"all"} and len(got) == 6
    for _, split, epoch, n, *q in got:
        a = depth_free.filter((pl.col("split") == split) & (pl.col("epoch") == epoch))["accuracy"].to_numpy()
        assert n == a.size == 24
        np.testing.assert_allclose(q, np.percentile(a, [25, 50, 75]), rtol=1e-12)


def test_changing_a_stored_value_changes_the_report(kinds_store):
    con = kinds_store()
    compute(con)
    before = con.execute(f'SELECT tau_b FROM "{TABLES["correlations"]}" WHERE statistic = '
                         f"'cdnv_last_hidden' AND epoch = 2").fetchall()[0][0]
    con.execute("UPDATE measures SET value = 1e6 WHERE run_id = 'run000' AND epoch = 2 "
                "AND statistic = 'cdnv_last_hidden' AND version = 2")
    compute(con)
    after = con.execute(f'SELECT tau_b FROM "{TABLES["correlations"]}" WHERE statistic = '
                        f"'cdnv_last_hidden' AND epoch = 2").fetchall()[0][0]
    ref = _values(con).filter((pl.col("statistic") == "cdnv_last_hidden") & (pl.col("epoch") == 2)).sort("run_id")
    gaps = _final_gaps(con)
    expected = sps.kendalltau(ref["value"].to_numpy(), [gaps[r] for r in ref["run_id"]]).statistic
    assert after != before
    assert after == pytest.approx(expected, rel=1e-12)


def test_choose_axis():
    axes = pl.DataFrame({"axis": ["b", "a", "c", "d"], "n_values": [3, 2, 2, 1], "n_runs": [4] * 4})
    assert choose_axis(axes, "auto") == "a"  # fewest values >= 2, ties by name
    assert choose_axis(axes.filter(pl.col("n_values") < 2), "auto") is None
    assert choose_axis(axes, None) is None and choose_axis(axes, "b") == "b"
    seeded = pl.DataFrame({"axis": ["seed", "width"], "n_values": [2, 3], "n_runs": [6, 6]})
    assert choose_axis(seeded, "auto") == "width"  # seeds are replicates, not a grouping
    assert choose_axis(seeded.filter(pl.col("axis") == "seed"), "auto") is None


def test_too_few_runs_gives_notices_not_errors(kinds_store):
    con = kinds_store(n_runs=3)
    report = build(con)
    statuses = {r[0] for r in con.execute(f'SELECT status FROM "{TABLES["correlations"]}"').fetchall()}
    assert statuses == {"too few runs (n=3 < 5)"}
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert any("were not computed (e.g. too few runs" in t for t in notices)
    empty = build(con, TrainingDynamicsConfig(experiment="nope"))
    assert [b.text for b in empty.sections[0].blocks if isinstance(b, Notice)] == [
        "No run has a generalization gap: there is nothing to show."]


def test_document_renders(kinds_store):
    con = kinds_store(n_runs=8)
    report = build(con, TrainingDynamicsConfig(measures=("neural_collapse",)))
    keys = [f.key for f in report.figures()]
    assert keys == ["accuracy", "values-neural_collapse", "tau-neural_collapse"]
    html = render_html(report, title="t", manifest_text="m")
    assert html.count("<svg") == 3 and "model.depth = 3" in html
    tex = render_latex(report, title="t", manifest_text="m", figure_files={k: f"{k}.pdf" for k in keys})
    assert r"\includegraphics[width=0.7\linewidth]{tau-neural_collapse.pdf}" in tex
    assert all(isinstance(b, Figure) or b.block != "figure" for s in report.sections for b in s.blocks)


def test_p_values_adjusted_over_every_correlation(kinds_store):
    con = kinds_store()
    compute(con)
    p, holm, bh = (np.array(v, dtype=float) for v in zip(*con.execute(
        f'SELECT p_tau, p_holm, p_bh FROM "{TABLES["correlations"]}" WHERE p_tau IS NOT NULL '
        f'ORDER BY measure, statistic, epoch').fetchall()))
    assert p.size == 2 * 18  # epochs 2 and 3 x statistics (every value is -100 at epoch 1: no test)
    np.testing.assert_allclose(holm, multipletests(p, method="holm")[1])
    np.testing.assert_allclose(bh, multipletests(p, method="fdr_bh")[1])


def test_only_the_top_statistics_by_abs_tau_are_shown(kinds_store):
    con = kinds_store()
    report = build(con, TrainingDynamicsConfig(top=2))
    final = {(m, s): t for m, s, t in con.execute(
        f'SELECT measure, statistic, tau_b FROM "{TABLES["correlations"]}" WHERE epoch = 3').fetchall()}
    top = con.execute(f'SELECT measure, position, statistic, epoch, tau_b FROM "{TABLES["top"]}" '
                      f'ORDER BY measure, position').fetchall()
    for measure in ("neural_collapse", "weight_spectrum", "activation_persistence"):
        expected = sorted((s for m, s in final if m == measure), key=lambda s: (-abs(final[measure, s]), s))[:2]
        assert [r[2] for r in top if r[0] == measure] == expected
        assert all(r[3] == 3 for r in top)
        table = next(b for s in report.sections for b in s.blocks if getattr(b, "key", "") == f"correlations-{measure}")
        assert {r[0] for r in table.rows} == set(expected) and len(table.rows) == 2 * 3
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert (f"2 of the 8 statistics of weight_spectrum are shown, those with the largest |tau-b| with the "
            f"final gap at their last epoch (option top); the correlations of all of them are in the table "
            f"{TABLES['correlations']}.") in notices
    assert con.execute(f'SELECT count(DISTINCT statistic) FROM "{TABLES["correlations"]}"').fetchall() == [(18,)]
    default = build(con)  # top = 5
    table = next(b for s in default.sections for b in s.blocks
                 if getattr(b, "key", "") == "correlations-weight_spectrum")
    assert len({r[0] for r in table.rows}) == 5
    with pytest.raises(ValueError, match=r"The 'top' option of training_dynamics must be an int in the range \[1, "):
        TrainingDynamicsConfig(top=0)
