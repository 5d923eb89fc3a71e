"""Render report documents to HTML and LaTeX.

``build_report(con, ["gap_regression"], out_dir, ...)`` writes
``out_dir/gap_regression.html`` (one self-contained file: inline CSS and SVG)
and ``out_dir/gap_regression.tex`` (standalone article with booktabs tables,
figures as PDF files beside it). The kinds are registered in
:mod:`reports.kinds`. A kind's ``document.<ext>.j2`` in its folder is used
when present, else the shared ``base.<ext>.j2`` of ``templates/html`` and
``templates/tex`` (which a kind's template extends). LaTeX templates use
``((( var )))``, ``((* block *))`` and ``((= comment =))`` so that braces stay
LaTeX.

Text from manifests and the store is HTML-escaped in HTML (autoescape) and
LaTeX-escaped in LaTeX: there every ``((( ... )))`` of a template goes through
``latex_escape``, ``cell``, ``label`` or ``verbatim_safe``
(:mod:`reports.formatting`), except the TikZ of a graphic, built from escaped
parts in Python, and the figure file names, made by :func:`figure_file` of
letters, digits and hyphens only.
"""

from __future__ import annotations

import importlib.resources
import pathlib
import re
from collections.abc import Iterable, Mapping

import duckdb
import jinja2
from markupsafe import Markup

from core.catalog import Catalog
from core.errors import unknown_name
from reports.document import Report
from reports.figures import save_pdf, to_svg
from reports.formatting import cell_text, latex_cell, latex_escape, pvalue, safe_name, sig, verbatim_safe
from reports.kinds import KindOptions, check_kind, get_kind

#: Output formats and their file suffixes.
FORMATS = {"html": ".html", "latex": ".tex"}


def _search_path(sub: str, folder: str | pathlib.Path | None) -> list[str]:
    shared = str(importlib.resources.files("templates") / sub)
    return [str(folder), shared] if folder is not None else [shared]


def html_environment(folder: str | pathlib.Path | None = None) -> jinja2.Environment:
    """Jinja environment for a kind's ``folder`` and ``templates/html`` (autoescape, StrictUndefined)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_search_path("html", folder)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(cell=cell_text, sig=sig, pvalue=pvalue, label=safe_name)
    return env


def latex_environment(folder: str | pathlib.Path | None = None) -> jinja2.Environment:
    """Jinja environment for a kind's ``folder`` and ``templates/tex``: ``((( )))``, ``((* *))``, ``((= =))``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_search_path("tex", folder)),
        variable_start_string="(((", variable_end_string=")))",
        block_start_string="((*", block_end_string="*))",
        comment_start_string="((=", comment_end_string="=))",
        line_statement_prefix=None, line_comment_prefix=None,
        autoescape=False, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(latex_escape=latex_escape, cell=latex_cell, label=safe_name,
                       verbatim_safe=verbatim_safe)
    return env


def _template(env: jinja2.Environment, ext: str) -> jinja2.Template:
    try:
        return env.get_template(f"document.{ext}.j2")
    except jinja2.TemplateNotFound:
        return env.get_template(f"base.{ext}.j2")


def figure_file(kind: str, key: str) -> str:
    """File name of a figure's PDF: letters, digits and hyphens (:func:`reports.formatting.safe_name`).

    A key made from the store's text (a measure's name) can neither leave the
    output folder nor put a LaTeX command in ``\\includegraphics``.
    """
    return safe_name(f"{kind}-{key}") + ".pdf"


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def render_html(report: Report, *, title: str, manifest_text: str) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    report : Report
    title : str
        Document title.
    manifest_text : str
        The manifest, shown verbatim in a ``<details>`` element.

    Returns
    -------
    str
    """
    svgs = {f.key: Markup(to_svg(f.figure)) for f in report.figures()}
    folder = get_kind(report.kind).folder
    return _template(html_environment(folder), "html").render(
        report=report, title=title, manifest_text=manifest_text, svgs=svgs)


def render_latex(report: Report, *, title: str, manifest_text: str,
                 figure_files: Mapping[str, str]) -> str:
    """The report as a standalone LaTeX article.

    Parameters
    ----------
    report : Report
    title, manifest_text : str
    figure_files : mapping
        Figure key -> PDF file name, relative to the ``.tex`` file.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        A figure file name holds other characters than letters, digits, ``.``, ``_`` and ``-``.
    """
    for name in figure_files.values():
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"Figure file names must be letters, digits, '.', '_' and '-' "
                             f"(see figure_file). Got {name!r} instead.")
    folder = get_kind(report.kind).folder
    return _template(latex_environment(folder), "tex").render(
        report=report, title=title, manifest_text=manifest_text,
        figure_files=dict(figure_files))


def _check_names(kinds: Iterable[str], formats: Iterable[str]) -> None:
    for name in kinds:
        check_kind(name)
    for name in formats:
        if name not in FORMATS:
            raise ValueError(unknown_name("report format", name, list(FORMATS)))


def build_report(con: duckdb.DuckDBPyConnection, kinds: list[str], out_dir: pathlib.Path,
                 *, manifest_text: str, title: str, formats: Iterable[str] = ("html", "latex"),
                 options: Mapping[str, KindOptions | None] | None = None,
                 catalog: Catalog | None = None) -> list[pathlib.Path]:
    """Compute each report kind from the store and write its documents.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store; report tables (``report_<kind>_*``) are written to it.
    kinds : list of str
        Report kinds (:func:`reports.kinds.list_kinds`).
    out_dir : pathlib.Path
        Created if missing.
    manifest_text : str
        The manifest behind the store, reproduced in each document.
    title : str
        Document title.
    formats : iterable of {"html", "latex"}
    options : mapping, optional
        Kind -> its options object (:func:`reports.kinds.kind_options`); a kind
        left out gets its defaults.
    catalog : core.catalog.Catalog, optional
        The statistics the measures declare (measure name -> statistics): the
        default feature families of ``gap_regression``, the signs of
        ``ranking``. Without it those are empty.

    Returns
    -------
    list of pathlib.Path
        Files written: per kind ``<kind>.html``, ``<kind>.tex`` and the figure PDFs.
    """
    kinds, formats = list(kinds), list(formats)
    _check_names(kinds, formats)
    options = dict(options or {})
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[pathlib.Path] = []
    for kind in kinds:
        report = get_kind(kind).build(con, options.get(kind), catalog)
        if "html" in formats:
            path = out_dir / f"{kind}.html"
            path.write_text(render_html(report, title=title, manifest_text=manifest_text),
                            encoding="utf-8")
            written.append(path)
        if "latex" in formats:
            files = {f.key: figure_file(kind, f.key) for f in report.figures()}
            for fig in report.figures():
                written.append(save_pdf(fig.figure, out_dir / files[fig.key]))
            path = out_dir / f"{kind}.tex"
            path.write_text(render_latex(report, title=title, manifest_text=manifest_text,
                                         figure_files=files), encoding="utf-8")
            written.append(path)
    return written
