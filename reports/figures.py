"""Figures (matplotlib, no pyplot state) and their SVG / PDF output.

matplotlib is imported when the first figure is made (:func:`new_figure`), not
when the report kinds are imported to be listed. Every text of a figure is
drawn as it is written (:func:`literal_text`): names from the store are never
read as matplotlib's mathtext, where a pair of ``$`` would start a formula.
"""

from __future__ import annotations

import io
import pathlib
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_SVG_RC = {"svg.hashsalt": "genlab", "svg.fonttype": "path"}


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty ``matplotlib.figure.Figure`` of ``figsize`` inches, constrained layout, no pyplot state."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def scatter_with_fit(x, y, *, xlabel: str, ylabel: str, title: str = "") -> Figure:
    """Scatter of ``y`` against ``x`` with the least-squares line.

    Parameters
    ----------
    x : array-like of shape (n_runs,)
        A measure, one value per run.
    y : array-like of shape (n_runs,)
        E.g. the generalization gap (train - test accuracy).
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fig = new_figure((4.5, 3.4))
    ax = fig.add_subplot()
    ax.scatter(x, y, s=14, alpha=0.8, color="#1f77b4", edgecolors="none")
    if x.size >= 2 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 2)
        ax.plot(xs, intercept + slope * xs, color="#d62728", lw=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, lw=0.5)
    return fig


def group_order(values) -> list[str]:
    """Distinct group values, numeric ones first in numeric order, then text in order."""
    def key(v: str):
        try:
            return (0, float(v), "")
        except (TypeError, ValueError):
            return (1, 0.0, str(v))
    return sorted(set(values), key=key)


def plot_bands(ax, rows: list[tuple], *, label_of=str, log: bool = False) -> None:
    """Median lines with interquartile bands, one per group.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    rows : list of tuple
        ``(group, x, q25, median, q75)``, any order.
    label_of : callable
        Group -> legend label.
    log : bool
        Logarithmic y axis (non-positive values are left out).
    """
    groups = group_order(r[0] for r in rows)
    for i, g in enumerate(groups):
        part = sorted((r[1:] for r in rows if r[0] == g), key=lambda r: r[0])
        x, lo, med, hi = (np.array(v, dtype=float) for v in zip(*part))
        if log:
            lo, med, hi = (np.where(v > 0, v, np.nan) for v in (lo, med, hi))
        ax.plot(x, med, marker="o" if x.size <= 20 else None, ms=2.5, lw=1.2, color=f"C{i % 10}",
                label=label_of(g))
        ax.fill_between(x, lo, hi, color=f"C{i % 10}", alpha=0.2, lw=0)
    if log and any(r[3] is not None and r[3] > 0 for r in rows):
        ax.set_yscale("log")
    ax.grid(alpha=0.3, lw=0.5)


def literal_text(fig: Figure) -> Figure:
    """Turn off mathtext for every text of ``fig`` (titles, labels, legends): ``$`` is a dollar sign."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML (no XML prolog, no date; texts literal).

    With ``svg.fonttype = "path"`` texts are drawn as paths; matplotlib keeps each
    text only in an XML comment, with ``<``, ``>``, ``&`` and ``--`` escaped.
    """
    import matplotlib

    literal_text(fig)
    buf = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return re.sub(r"<metadata>.*?</metadata>", "", text[start:], flags=re.DOTALL).strip()


def save_pdf(fig: Figure, path: pathlib.Path) -> pathlib.Path:
    """Write the figure as a PDF (no creation date, so reruns give equal files; texts literal)."""
    path = pathlib.Path(path)
    literal_text(fig)
    fig.savefig(path, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    return path
