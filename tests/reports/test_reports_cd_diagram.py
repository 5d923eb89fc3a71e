"""reports.kinds.regulariser_comparison.cd_diagram: geometry, clique bars, escaping, and a pdflatex compile.

References: the axis orientation and bars follow Demšar (2006), Figure 1 (best ranks
on the right; thick lines join methods within the critical difference); positions
are checked against the closed form x = (hi - r) / (hi - lo); cliques against
reports.stats.posthoc.cd_cliques (itself checked against a brute force);
SVG well-formedness with the standard library's XML parser.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from reports.formatting import latex_escape
from reports.kinds.regulariser_comparison.cd_diagram import cd_graphic, layout, to_tikz
from reports.latex import compile_latex
from reports.stats.posthoc import cd_cliques, critical_difference

NAMES = ["none", "topological_t1 w=0.01", "T2 & <co>", "decorrelation_50%", "m5"]
RANKS = np.array([4.2, 1.5, 2.1, 3.0, 4.9])
SVG_NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(graphic):
    return ET.fromstring(graphic.svg)


def _lines(root, cls):
    return [tuple(float(e.get(a)) for a in ("x1", "y1", "x2", "y2"))
            for e in root.iterfind(f"s:line[@class='{cls}']", SVG_NS)]


def test_rank_to_x_closed_form():
    lay = layout(NAMES, RANKS, 1.0, [])
    assert (lay.lo, lay.hi) == (1.0, 5.0)
    for r in (1.0, 2.5, 4.2, 5.0):
        assert lay.x(r) == pytest.approx((5.0 - r) / 4.0)  # best (rank 1) on the right
    flipped = layout(NAMES, RANKS, 1.0, [], best_right=False)
    assert flipped.x(2.5) == pytest.approx(1.5 / 4.0)
    assert [t for t, _ in lay.ticks] == [1, 2, 3, 4, 5]
    by_name = {t.rsplit(" (", 1)[0]: (x, side) for t, x, _, _, side in lay.labels}
    for name, r in zip(NAMES, RANKS):
        assert by_name[name][0] == pytest.approx((5.0 - r) / 4.0)
    # the best ceil(5/2) = 3 methods are labelled on the right
    assert {n for n, (_, s) in by_name.items() if s == "right"} == set(np.array(NAMES)[[1, 2, 3]])
    # a CD longer than the axis lengthens the axis
    assert layout(NAMES, RANKS, 5.3, []).hi == 7.0


def test_svg_positions_match_ranks_and_cd():
    cd = critical_difference(5, 10)
    root = _svg(cd_graphic("cd", "c", NAMES, RANKS, cd))
    (ax0, _, ax1, _), = _lines(root, "axis")
    rank_x = {}
    for e in root.iterfind("s:polyline[@class='method']", SVG_NS):
        first = e.get("points").split()[0]
        rank_x[e] = float(first.split(",")[0])
    xs = sorted(rank_x.values())
    expected = sorted(ax0 + (5.0 - r) / 4.0 * (ax1 - ax0) for r in RANKS)
    np.testing.assert_allclose(xs, expected, atol=0.01)
    (c0, _, c1, _), = _lines(root, "cd")
    assert (c1 - c0) / (ax1 - ax0) == pytest.approx(cd / 4.0, abs=1e-4)
    label = root.find("s:text[@class='cd-label']", SVG_NS).text
    assert label == f"CD = {cd:.3g}"


def test_clique_bars_match_cliques():
    cd = 1.6
    cliques = cd_cliques(RANKS, cd)
    assert cliques == [(1, 2, 3), (3, 0), (0, 4)]  # 1.5-3.0, 3.0-4.2, 4.2-4.9
    g = cd_graphic("cd", "c", NAMES, RANKS, cd)
    root = _svg(g)
    (ax0, _, ax1, _), = _lines(root, "axis")
    bars = _lines(root, "clique")
    assert len(bars) == len(cliques)
    for (x1, y1, x2, y2), c in zip(bars, cliques):
        xs = [ax0 + (5.0 - RANKS[i]) / 4.0 * (ax1 - ax0) for i in c]
        lo, hi = min(xs), max(xs)
        assert y1 == y2 and x1 < lo <= hi < x2 and hi - lo < x2 - x1 < hi - lo + 6
    assert len({b[1] for b in bars}) == len(bars)  # one row per bar
    assert g.tikz.count("line width=2.5pt") == len(cliques)
    # no clique when every pair differs; explicit cliques are drawn as given
    assert not _lines(_svg(cd_graphic("cd", "c", NAMES, RANKS, 0.3)), "clique")
    assert len(_lines(_svg(cd_graphic("cd", "c", NAMES, RANKS, None, [(0, 4)])), "clique")) == 1


def test_labels_escaped():
    g = cd_graphic("cd", "c", NAMES, RANKS, 1.0)
    assert "T2 &amp; &lt;co&gt; (2.10)" in g.svg and "<co>" not in g.svg
    assert latex_escape("T2 & <co>") == r"T2 \& \textless{}co\textgreater{}"
    assert r"{T2 \& \textless{}co\textgreater{} (2.10)}" in g.tikz
    assert r"decorrelation\_50\% (3.00)" in g.tikz
    picture = g.tikz[g.tikz.index(r"\begin{tikzpicture}"):]
    body = re.sub(r"\\[&%_]", "", picture)
    assert not re.search(r"[&%_<>]", body)
    # shrunk to the line width when wider, in a graphicx resizebox
    assert g.tikz.startswith(r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%")
    assert g.tikz.count(r"\begin{tikzpicture}") == g.tikz.count(r"\end{tikzpicture}") == 1
    bare = to_tikz(layout(NAMES, RANKS, 1.0, []), fit_width=False)
    assert bare.startswith(r"\begin{tikzpicture}") and bare.endswith(r"\end{tikzpicture}")
    assert g.svg.startswith("<svg") and "<script" not in g.svg and "href" not in g.svg


def test_bad_input():
    with pytest.raises(ValueError, match="one average rank per name"):
        layout(["a", "b"], [1.0, 2.0, 3.0], 1.0, [])
    with pytest.raises(ValueError, match="at least 1"):
        layout(["a", "b"], [0.5, 2.0], 1.0, [])
    with pytest.raises(ValueError, match="outside 0..1"):
        layout(["a", "b"], [1.0, 2.0], 1.0, [(0, 2)])


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_tikz_compiles_with_pdflatex(tmp_path):
    g = cd_graphic("cd", "c", NAMES, RANKS, critical_difference(5, 10))
    (tmp_path / "cd.tex").write_text(
        "\\documentclass{article}\n\\usepackage{graphicx}\n\\usepackage{tikz}\n\\begin{document}\n"
        f"{g.tikz}\n\\end{{document}}\n", encoding="utf-8")
    res = compile_latex(tmp_path / "cd.tex", timeout=120)
    assert res.returncode == 0, res.stdout[-2000:]
    assert (tmp_path / "cd.pdf").read_bytes().startswith(b"%PDF")
