"""reports.kinds.persistence: Betti curves, diagram summaries and representative runs.

References: Betti numbers counted by hand on a constructed diagram (half-open
bars [birth, death)), and on the random store recounted with numpy from the raw
diagram rows; summaries recomputed with numpy; quantiles with numpy.percentile.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reports.document import Notice
from reports.kinds.persistence import build
from reports.kinds.persistence.compute import TABLES, compute
from reports.kinds.persistence.options import PersistenceConfig
from reports.render import render_html, render_latex
from tests.reports.conftest import _insert
from tests.reports.kinds_store import rows, store_factory

INF = float("inf")

@pytest.fixture
def kinds_store():
    """Factory of synthetic stores: ``kinds_store(n_runs=24, seed=0)``."""
    yield from store_factory()


def _hand_store(make_store):
    """Two runs of the conftest store with the diagrams of the hand-counted test."""
    con = make_store(n_runs=2)
    row = {"run_id": "run000", "epoch": 3, "measure": "activation_persistence", "layer": "all"}
    pairs = [(0, 0, 0.0, 0.25), (0, 0, 0.0, 0.5), (0, 0, 0.0, INF), (0, 1, 0.25, 0.75),
             (1, 0, 0.0, 0.5), (1, 0, 0.0, INF)]  # (bootstrap, dim, birth, death); draw 1 has no H1
    rows_ = [dict(row, bootstrap=b, dim=d, birth=x, death=y) for b, d, x, y in pairs]
    rows_ += [dict(row, run_id="run001", bootstrap=0, dim=0, birth=0.0, death=0.125),
              dict(row, run_id="run001", bootstrap=0, dim=0, birth=0.0, death=INF),
              dict(row, epoch=1, bootstrap=0, dim=1, birth=0.0, death=0.7)]  # earlier epoch: ignored
    _insert(con, "diagrams", rows_)
    return con


def test_betti_curve_counts_half_open_bars_by_hand(make_store):
    con = _hand_store(make_store)
    compute(con, PersistenceConfig(n_grid=5, axis=None))
    got = con.execute('SELECT dim, t, betti, n_bootstraps FROM "persistence_betti" '
                      "WHERE run_id = 'run000' ORDER BY dim, t_index").fetchall()
    # H0: t_max = 0.5 (largest finite death), t = 0, 0.125, 0.25, 0.375, 0.5.
    # draw 0 counts 3, 3, 2, 2, 1 (the bar dying at 0.25 is gone at t = 0.25); draw 1: 2, 2, 2, 2, 1.
    # H1: t_max = 0.75, t = 0, 0.1875, 0.375, 0.5625, 0.75; draw 0: 0, 0, 1, 1, 0; draw 1 empty.
    assert got == [(0, 0.0, 2.5, 2), (0, 0.125, 2.5, 2), (0, 0.25, 2.0, 2), (0, 0.375, 2.0, 2),
                   (0, 0.5, 1.0, 2), (1, 0.0, 0.0, 2), (1, 0.1875, 0.0, 2), (1, 0.375, 0.5, 2),
                   (1, 0.5625, 0.5, 2), (1, 0.75, 0.0, 2)]
    bands = con.execute('SELECT q25, median, q75, n_runs FROM "persistence_betti_bands" '
                        "WHERE dim = 0 AND t_index = 1").fetchall()
    # run000: 2.5, run001: 1 (its bar dies at 0.125) -> numpy.percentile([1, 2.5], [25, 50, 75])
    assert bands == [(1.375, 1.75, 2.125, 2)]


def test_summaries_and_representatives_by_hand(make_store):
    con = _hand_store(make_store)
    compute(con, PersistenceConfig(axis=None))
    got = con.execute(f'SELECT dim, n_bootstraps, n_pairs, n_essential, total_persistence, max_persistence '
                      f'FROM "{TABLES["summaries"]}" WHERE run_id = \'run000\' ORDER BY dim').fetchall()
    # H0 draws: finite lifetimes {0.25, 0.5} and {0.5}; H1 draws: {0.5} and none.
    assert got == [(0, 2, 1.5, 1.0, 0.625, 0.5), (1, 2, 0.5, 0.0, 0.25, 0.25)]
    reps = con.execute(f'SELECT role, run_id FROM "{TABLES["representatives"]}" ORDER BY position').fetchall()
    gaps = dict(con.execute('SELECT run_id, gen_gap FROM "final_gaps"').fetchall())
    low, high = sorted(gaps, key=gaps.get)
    assert reps == [("smallest gap", low), ("largest gap", high)]  # the lower median is the smallest


def test_betti_curves_and_summaries_on_the_random_store(kinds_store):
    con = kinds_store(n_runs=10)
    compute(con, PersistenceConfig(n_grid=16))
    d = rows(con, "diagrams").filter(pl.col("epoch") == 3)
    got = con.execute('SELECT run_id, dim, t, betti FROM "persistence_betti"').fetchall()
    assert len(got) == 10 * 2 * 16
    for run_id, dim, t, betti in got:
        mine = d.filter(pl.col("run_id") == run_id)
        counts = [((part["birth"] <= t) & (t < part["death"])).sum()
                  for b in (0, 1) for part in [mine.filter((pl.col("bootstrap") == b) & (pl.col("dim") == dim))]]
        assert betti == np.mean(counts)
    summaries = con.execute(f'SELECT run_id, dim, total_persistence FROM "{TABLES["summaries"]}"').fetchall()
    for run_id, dim, total in summaries:
        part = d.filter((pl.col("run_id") == run_id) & (pl.col("dim") == dim))
        life = (part["death"] - part["birth"]).to_numpy()
        assert total == pytest.approx(life[np.isfinite(life)].sum() / 2, rel=1e-12)
    tmax = d.filter(pl.col("death").is_finite()).group_by("dim").agg(pl.col("death").max()).sort("dim")
    grid_max = con.execute('SELECT dim, max(t) FROM "persistence_betti" GROUP BY dim ORDER BY dim').fetchall()
    np.testing.assert_allclose([g[1] for g in grid_max], tmax["death"].to_numpy(), rtol=1e-12)


def test_changing_a_death_changes_the_curve(make_store):
    con = _hand_store(make_store)
    q = 'SELECT betti FROM "persistence_betti" WHERE run_id = \'run000\' AND dim = 0 AND t_index = 2'
    compute(con, PersistenceConfig(n_grid=5))
    assert con.execute(q).fetchall() == [(2.0,)]
    con.execute("UPDATE diagrams SET death = 0.3 WHERE run_id = 'run000' AND death = 0.25")
    compute(con, PersistenceConfig(n_grid=5))
    assert con.execute(q).fetchall() == [(2.5,)]  # the bar [0, 0.3) now covers t = 0.25


def test_no_diagrams_gives_a_notice(make_store):
    report = build(make_store(n_runs=4))
    notices = [b.text for s in report.sections for b in s.blocks if isinstance(b, Notice)]
    assert notices == [("No run has persistence diagrams of activation_persistence on layer 'all': "
                       "there is nothing to show.")]


def test_bad_grid_is_an_error():
    with pytest.raises(ValueError, match=r"'n_grid' option of persistence must be an int in the range \[2, inf\)"):
        PersistenceConfig(n_grid=1)


def test_document_renders(kinds_store):
    report = build(kinds_store(n_runs=6))
    keys = [f.key for f in report.figures()]
    assert keys == ["diagrams", "betti"]
    html = render_html(report, title="t", manifest_text="m")
    assert html.count("<svg") == 2 and "model.depth = " in html
    tex = render_latex(report, title="t", manifest_text="m", figure_files={k: f"{k}.pdf" for k in keys})
    assert "betti.pdf" in tex and "smallest gap" in tex
