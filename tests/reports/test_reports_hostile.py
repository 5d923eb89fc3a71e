"""Every report kind, built from a store whose text is hostile (:mod:`tests.reports.hostile_store`).

In HTML no ``<script>`` element survives; in LaTeX no command that came from the
store does (``\\input`` and its kin), outside the verbatim manifest; every figure
is written inside the output folder; and pdflatex, run as genlab runs it
(:func:`reports.latex.compile_latex`), compiles each document without reading
``/etc/passwd`` (its ``-recorder`` file list and its log say so).
"""

from __future__ import annotations

import pathlib
import re
import shutil

import pytest

from reports.latex import KPATHSEA_ENV, PDFLATEX_FLAGS, compile_latex, files_read
from reports.render import build_report
from tests.reports.conftest import CATALOG, connection_factory
from tests.reports.hostile_store import ATTACK, MANIFEST, TITLE, fill_hostile_store, hostile_options
from tests.reports.kinds_store import report_kinds

#: Hostile names are long: matplotlib may give up its layout for them, which is fine here.
pytestmark = pytest.mark.filterwarnings("ignore:constrained_layout not applied:UserWarning")

#: Commands that read, write or redefine: none may come from the store's text.
DANGEROUS = ("input", "include", "openin", "openout", "read", "write", "immediate", "catcode", "def",
             "csname", "special", "usepackage", "documentclass", "end", "begin")
#: Of those, the ones genlab's own templates use.
OURS = ("usepackage", "documentclass", "end", "begin")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each kind built once in HTML and LaTeX from the hostile store: kind -> (folder, written paths)."""
    for factory in connection_factory(lambda con: fill_hostile_store(con)):
        con = factory()
        out = {}
        for kind in report_kinds():
            folder = tmp_path_factory.mktemp(f"hostile-{kind}")
            paths = build_report(con, [kind], folder, title=TITLE, manifest_text=MANIFEST,
                                 options={kind: hostile_options(kind)}, catalog=CATALOG)
            out[kind] = (folder, paths)
        yield out


def _outside_verbatim(tex: str) -> str:
    return re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", tex, flags=re.DOTALL)


@pytest.mark.parametrize("kind", report_kinds())
def test_html_escapes_the_store_text(built, kind):
    folder, _ = built[kind]
    html = (folder / f"{kind}.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the text is there, escaped


@pytest.mark.parametrize("kind", report_kinds())
def test_latex_escapes_the_store_text(built, kind):
    folder, paths = built[kind]
    tex = (folder / f"{kind}.tex").read_text(encoding="utf-8")
    body = _outside_verbatim(tex)
    found = {c for c in DANGEROUS if re.search(rf"\\{c}(?![A-Za-z])", body)}
    assert found <= set(OURS), f"commands from the store's text in {kind}.tex: {found - set(OURS)}"
    assert body.count("\\begin{document}") == 1 and body.count("\\end{document}") == 1
    assert "<script>" not in body and r"\textbackslash{}input\{/etc/passwd\}" in body
    assert len(re.findall(r"\\begin\{verbatim\}", tex)) == 1
    for path in paths:  # figure names from the store stay inside the folder, in plain characters
        assert path.parent == folder and re.fullmatch(r"[A-Za-z0-9_-]+\.(pdf|tex|html)", path.name)
    for name in re.findall(r"\\includegraphics\[[^]]*\]\{([^}]*)\}", body):
        assert (folder / name).exists() and re.fullmatch(r"[A-Za-z0-9-]+\.pdf", name)


TEMPLATES = pathlib.Path(__file__).resolve().parents[2]
#: Template expressions that print no text of the store's: literals, macro calls, lengths, the TikZ
#: built from escaped parts (cd_diagram.to_tikz) and the figure names render_latex checks.
UNESCAPED_OK = {'" & " if not loop.last else " \\\\\\\\"', '", " if not loop.last', "m.block(b, figure_files)",
                "table(b)", "t.columns | length", "b.tikz", "figure_files[b.key]",
                '{"text": "l", "long": "p{0.3\\\\linewidth}"}.get(c.kind, "r")'}


def test_every_latex_expression_is_escaped():
    """Each ``((( ... )))`` of the LaTeX templates ends in an escaping filter, or prints no stored text."""
    files = [*TEMPLATES.glob("templates/tex/*.j2"), *TEMPLATES.glob("reports/kinds/*/*.tex.j2")]
    assert len(files) >= 3
    for path in files:
        for expr in re.findall(r"\(\(\(\s*(.*?)\s*\)\)\)", path.read_text(encoding="utf-8")):
            last = expr.rsplit("|", 1)[-1].strip() if "|" in expr else ""
            escaped = re.fullmatch(r"(latex_escape|label|verbatim_safe|cell\(.*\))", last)
            assert escaped or expr in UNESCAPED_OK, f"{path.name}: ((( {expr} ))) is not escaped"


def test_html_templates_mark_only_built_svg_safe():
    files = [*TEMPLATES.glob("templates/html/*.j2"), *TEMPLATES.glob("reports/kinds/*/*.html.j2")]
    marked = [m for path in files for m in re.findall(r"\{\{\s*([^}]*?\|\s*safe)\s*\}\}", path.read_text())]
    assert marked == ["b.svg | safe"]  # cd_diagram.to_svg escapes every label


def test_the_attack_carries_every_special_character():
    for c in "<>$&%#_{}~^\\":
        assert c in ATTACK


def test_pdflatex_runs_locked_down():
    assert "-no-shell-escape" in PDFLATEX_FLAGS and "-recorder" in PDFLATEX_FLAGS
    assert KPATHSEA_ENV["openin_any"] == "p"


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")


@pytest.mark.slow
@needs_pdflatex
def test_a_slipped_input_is_not_read(tmp_path):
    """The control: even an unescaped ``\\input{/etc/passwd}`` reads nothing under genlab's settings."""
    tex = tmp_path / "leak.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\nx\\input{/etc/passwd}\n\\end{document}\n")
    proc = compile_latex(tex)
    assert proc.returncode != 0 and "/etc/passwd" not in files_read(tex)
    assert "root:" not in proc.stdout


@pytest.mark.slow
@needs_pdflatex
@pytest.mark.parametrize("kind", report_kinds())
def test_hostile_latex_compiles_without_reading_outside(built, kind):
    folder, _ = built[kind]
    tex = folder / f"{kind}.tex"
    proc = compile_latex(tex)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    assert proc.returncode == 0, f"pdflatex failed on {kind}.tex: {errors}\n{proc.stdout[-3000:]}"
    assert (folder / f"{kind}.pdf").read_bytes().startswith(b"%PDF")
    read = files_read(tex)
    assert read and not [f for f in read if "/etc/passwd" in f]
    log = tex.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert "(/etc/passwd" not in log and "Not reading from" not in proc.stdout + proc.stderr
