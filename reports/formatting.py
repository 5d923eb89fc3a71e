"""Number and text formatting shared by the HTML and LaTeX renderers.

Text from manifests and the store reaches LaTeX only through :func:`latex_escape`
(text), :func:`latex_cell` (table cells), :func:`safe_name` (file names and
labels) and :func:`verbatim_safe` (the manifest, shown verbatim).
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "\u00b2": r"\textsuperscript{2}",
    "\u2013": "--",
    "\u2212": "$-$",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
#: Characters TeX reads as ends of lines or paragraphs, and control characters it rejects.
_LINE_BREAKS = re.compile(r"[\t\n\r\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def sig(x: Any, digits: int = 3) -> str:
    """``x`` rounded to ``digits`` significant digits, as text.

    Fixed notation for 1e-3 <= |x| < 1e5 (integer digits are never dropped:
    ``1234.5 -> "1235"``), scientific otherwise (``"1.23e-05"``). ``None`` and
    NaN give ``"–"``; infinities ``"inf"``/``"-inf"``.
    """
    if _is_missing(x):
        return "–"
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    if -3 <= exponent < 5:
        decimals = max(0, digits - 1 - exponent)
        text = f"{x:.{decimals}f}"
        return "0" if float(text) == 0 else text
    return f"{x:.{digits - 1}e}"


def pvalue(p: Any) -> str:
    """A p-value as ``"0.012"`` (3 decimals) or ``"<0.001"``; NaN gives ``"–"``."""
    if _is_missing(p):
        return "–"
    p = float(p)
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def cell_text(value: Any, kind: str) -> str:
    """Format one table cell for display; ``kind`` in {"text","int","num","p"}."""
    if kind == "num":
        return sig(value)
    if kind == "p":
        return pvalue(value)
    if _is_missing(value):
        return "–"
    if kind == "int":
        return str(int(value))
    return str(value)


def latex_escape(text: Any) -> str:
    """``text`` as LaTeX text-mode material that typesets it character for character.

    Each of LaTeX's special characters (``\\ & % $ # _ { } ~ ^``, and ``< > |``
    that the default fonts lack) becomes the command that prints it, so no
    command, group or math mode can start from ``text``; line breaks and tabs
    become one space (a blank line would end a paragraph inside a caption or a
    cell); other control characters are dropped.
    """
    text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(text)))
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group()], text)


def verbatim_safe(text: Any) -> str:
    """``text`` for a ``verbatim`` environment: it cannot end the environment early.

    ``\\end{verbatim}`` becomes ``\\end {verbatim}`` (verbatim ends only at the exact
    string), line ends are ``\\n`` and control characters other than tabs are dropped.
    """
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    return text.replace("\\end{verbatim}", "\\end {verbatim}")


def safe_name(text: Any) -> str:
    """``text`` as a name made of ``A-Z a-z 0-9 -`` only: for file names and LaTeX labels.

    Runs of other characters become one ``-`` (``_`` too); when ``text`` held
    anything but letters, digits, ``-`` and ``_``, a hash of it is appended so
    that different texts keep different names. The result needs no escaping in
    LaTeX and names no folder.
    """
    text = str(text)
    name = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or not name:
        name = f"{name}-{hashlib.sha1(text.encode()).hexdigest()[:8]}".lstrip("-")
    return name


def latex_cell(value: Any, kind: str) -> str:
    """Format one table cell as LaTeX: numbers in math mode, text escaped."""
    text = cell_text(value, kind)
    if kind in ("num", "int", "p") and text not in ("–", "inf", "-inf"):
        m = re.fullmatch(r"(-?[\d.]+)e([+-])0*(\d+)", text)
        if m:
            sign = "-" if m.group(2) == "-" else ""
            return f"${m.group(1)}\\times 10^{{{sign}{m.group(3)}}}$"
        if text.startswith("<"):
            return f"$<${text[1:]}"
        return f"${text}$"
    if text == "–":
        return "--"
    if text in ("inf", "-inf"):
        return r"$\infty$" if text == "inf" else r"$-\infty$"
    return latex_escape(text)
