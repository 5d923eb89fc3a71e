"""Every report kind's LaTeX compiled with pdflatex as genlab runs it (:func:`reports.latex.compile_latex`).

The document and its figure PDFs are written to pytest's tmp dir as
:func:`reports.render.build_report` writes them; the test passes when pdflatex
exits 0 and writes a PDF. A control document with an undefined command checks
that a LaTeX error fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from reports.figures import save_pdf
from reports.latex import compile_latex
from reports.render import figure_file, render_latex
from tests.reports.conftest import MANIFEST
from tests.reports.kinds_store import build_kind, one_store, report_kinds

PDFLATEX = shutil.which("pdflatex")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    PDFLATEX is None, reason="pdflatex is not installed (CI installs texlive-latex-base, "
                             "texlive-latex-recommended, texlive-pictures)")]


def pdflatex(tex_path) -> subprocess.CompletedProcess:
    """Run pdflatex once on ``tex_path`` in its directory (no shell escape, paranoid file access)."""
    return compile_latex(tex_path, pdflatex=PDFLATEX)


@pytest.fixture(scope="module")
def store():
    yield from one_store()


@pytest.mark.parametrize("kind", report_kinds())
def test_report_compiles_with_pdflatex(store, kind, tmp_path):
    report = build_kind(store, kind)
    files = {f.key: figure_file(kind, f.key) for f in report.figures()}
    for fig in report.figures():
        save_pdf(fig.figure, tmp_path / files[fig.key])
    tex = tmp_path / f"{kind}.tex"
    tex.write_text(render_latex(report, title="Synthetic_study & co", manifest_text=MANIFEST,
                                figure_files=files), encoding="utf-8")
    proc = pdflatex(tex)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    assert proc.returncode == 0, f"pdflatex failed on {kind}.tex: {errors}\n{proc.stdout[-3000:]}"
    pdf = tmp_path / f"{kind}.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    pages = re.search(r"Output written on .*\((\d+) pages?", proc.stdout.replace("\n", ""))
    assert pages and int(pages.group(1)) >= 1


def test_a_latex_error_fails(tmp_path):
    tex = tmp_path / "broken.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\undefinedcommand\n\\end{document}\n")
    proc = pdflatex(tex)
    assert proc.returncode != 0 and "Undefined control sequence" in proc.stdout
    assert not (tmp_path / "broken.pdf").exists()
