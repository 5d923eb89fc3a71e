"""reports.render and reports.formatting: HTML and LaTeX documents with the store's numbers in them."""

from __future__ import annotations

import re

import pytest

from reports.document import Report
from reports.formatting import latex_cell, latex_escape, pvalue, safe_name, sig, verbatim_safe
from reports.kinds.gap_regression.compute import TABLES
from reports.render import FORMATS, build_report, figure_file, latex_environment, render_latex
from tests.reports.conftest import CATALOG


@pytest.mark.parametrize("x, text", [
    (0.98012, "0.980"), (-1.2834, "-1.28"), (0.0123456, "0.0123"), (123.456, "123"),
    (1234.5, "1234"), (0.00012345, "1.23e-04"), (2.5e7, "2.50e+07"), (0, "0"),
    (float("nan"), "–"), (None, "–"), (float("inf"), "inf")])
def test_sig(x, text):
    assert sig(x) == text


@pytest.mark.parametrize("p, text", [(0.0123, "0.012"), (0.5, "0.500"), (0.0009, "<0.001"),
                                     (1e-17, "<0.001"), (0.001, "0.001"), (float("nan"), "–")])
def test_pvalue(p, text):
    assert pvalue(p) == text


def test_latex_escape_and_cells():
    assert latex_escape(r"a_b & 50% $x$ #1 {y} ~ ^ \ <>|") == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{} \textasciicircum{} "
        r"\textbackslash{} \textless{}\textgreater{}\textbar{}")
    assert latex_cell(1.23e-5, "num") == r"$1.23\times 10^{-5}$"
    assert latex_cell(-0.5, "num") == "$-0.500$"
    assert latex_cell(1e-9, "p") == "$<$0.001"
    assert latex_cell(None, "num") == "--"
    assert latex_cell("mean_x", "text") == r"mean\_x"


def test_latex_escape_opens_no_paragraph_and_drops_control_characters():
    assert latex_escape("a\n\nb\r\n\tc\x00d\x07\x7fe") == "a b cde"
    assert verbatim_safe("x\r\ny\x00\tz\\end{verbatim}\\input{a}") == "x\ny\tz\\end {verbatim}\\input{a}"


def test_safe_names_for_files_and_labels():
    assert safe_name("tau-neural_collapse") == "tau-neural-collapse"
    hostile = safe_name("values-../../x}\\input{/etc/passwd}")
    assert re.fullmatch(r"[A-Za-z0-9-]+", hostile) and hostile.startswith("values-x-input-etc-passwd-")
    assert safe_name("a b") != safe_name("a/b") and re.fullmatch(r"[0-9a-f]{8}", safe_name("$$"))
    assert figure_file("training_dynamics", "tau-neural_collapse") == "training-dynamics-tau-neural-collapse.pdf"
    with pytest.raises(ValueError, match="Figure file names must be letters"):
        render_latex(Report("ranking", "h"), title="t", manifest_text="m", figure_files={"k": "a}b.pdf"})


def test_latex_environment_keeps_braces():
    env = latex_environment()
    out = env.from_string(r"\textbf{((( x | latex_escape )))}((= gone =))"
                          r"((* if y *)){ok}((* endif *))").render(x="a_b", y=True)
    assert out == r"\textbf{a\_b}{ok}"


def _outside_verbatim(tex: str) -> str:
    return re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", tex, flags=re.DOTALL)


def test_latex_document_is_standalone_and_escaped(built):
    tex = built["tex"]
    assert tex.startswith(r"\documentclass")
    for needed in (r"\usepackage{booktabs}", r"\usepackage{graphicx}", r"\begin{document}",
                   r"\toprule", r"\midrule", r"\bottomrule", r"\end{document}"):
        assert needed in tex
    body = _outside_verbatim(tex)
    assert not re.search(r"(?<!\\)_", body), "unescaped _ outside verbatim"
    stripped = body.replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for ch in stripped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "closing brace without an opening one"
    assert depth == 0, "unbalanced braces"
    assert r"Synthetic\_study \& co" in tex
    assert "# study_1: gap ~ measures {tiny}" in tex  # the manifest, verbatim


def test_latex_figure_pdf_beside_the_tex(built):
    names = re.findall(r"\\includegraphics\[[^\]]*\]\{([^}]*)\}", built["tex"])
    assert names == ["gap-regression-scatter.pdf"]
    pdf = built["out_dir"] / names[0]
    assert pdf in built["paths"] and pdf.read_bytes().startswith(b"%PDF")


def test_html_is_self_contained(built):
    html = built["html"]
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<style>" in html and "<svg" in html
    for external in ("<script", "<link", "src=", "@import", "url(http"):
        assert external not in html
    assert "<details class=\"sql\"><summary>SQL</summary>" in html
    assert html.count("CREATE OR REPLACE TABLE &#34;run_features&#34;") >= 4
    assert "Synthetic_study &amp; co" in html
    assert "20% &amp; &lt;more&gt;" in html  # manifest, escaped, in <details>
    assert "&lt;0.001" in html
    assert ("Left out of the tables, no data (none of their features is in the store): "
            "activation_persistence, pgdl_winners") in html


def test_build_report_returns_what_it_wrote(built):
    names = sorted(p.name for p in built["paths"])
    assert names == ["gap-regression-scatter.pdf", "gap_regression.html", "gap_regression.tex"]


def test_unknown_kind_and_format_suggest(store, tmp_path):
    with pytest.raises(ValueError, match="unknown report kind.*did you mean 'gap_regression'"):
        build_report(store, ["gap_regresion"], tmp_path, manifest_text="", title="t")
    with pytest.raises(ValueError, match="unknown report format 'latx'; did you mean 'latex'"):
        build_report(store, ["gap_regression"], tmp_path, manifest_text="", title="t",
                     formats=("latx",))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_only_the_formats_asked_for_are_written(fmt, store, tmp_path):
    paths = build_report(store, ["gap_regression"], tmp_path / "out", manifest_text="x = 1",
                         title="T", formats=(fmt,), catalog=CATALOG)
    main = [p for p in paths if p.suffix in FORMATS.values()]
    assert [p.name for p in main] == [f"gap_regression{FORMATS[fmt]}"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_store_numbers_appear_in_the_html_and_latex_tables(built):
    con, page, tex = built["con"], built["html"], built["tex"]
    (r2,) = con.execute(f'SELECT r2_mean FROM "{TABLES["r2"]}" WHERE family = \'neural_collapse\' '
                        f"AND model = 'linear'").fetchall()[0]
    (tau,) = con.execute(f'SELECT tau_b FROM "{TABLES["kendall"]}" '
                         f"WHERE feature = 'cdnv_last_hidden'").fetchall()[0]
    assert r2 > 0.9 and tau > 0.8  # the synthetic store's known answer
    for value in (r2, tau):
        assert f'<td class="num">{sig(value)}</td>' in page
        assert latex_cell(value, "num") in _outside_verbatim(tex)
    assert r"neural\_collapse & linear & $40$ & $3$ & " + latex_cell(r2, "num") in tex


def test_every_table_has_its_caption_and_every_section_its_heading(built):
    page, tex = built["html"], built["tex"]
    tables = re.findall(r"<table>(.*?)</table>", page, flags=re.DOTALL)
    assert len(tables) == page.count("<table") >= 5
    assert all(re.match(r"\s*<caption>[^<]+</caption>\s*<thead>", t) for t in tables)
    floats = re.findall(r"\\begin\{table\}(.*?)\\end\{table\}", tex, flags=re.DOTALL)
    assert len(floats) == len(tables)
    assert all(r"\caption{" in f and r"\toprule" in f and r"\bottomrule" in f for f in floats)
    for section in ("Data", "Cross-validated R²", "Comparing families (5x2cv)", "OLS fits",
                    "Single features: Kendall tau-b"):
        assert f"<h2>{section}</h2>" in page
        assert f"\\section{{{latex_escape(section)}}}" in tex
    assert tex.index(r"\begin{document}") < tex.index(r"\maketitle") < tex.index(r"\section{Data}") \
        < tex.index(r"\end{document}")
    assert tex.count(r"\begin{document}") == tex.count(r"\end{document}") == 1
