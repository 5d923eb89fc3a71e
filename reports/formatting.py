"""Number and text formatting shared by the HTML and LaTeX renderers."""

from __future__ import annotations

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
    """Escape LaTeX's special characters in ``text`` (for text mode)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group()], str(text))


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
