"""Critical-difference diagrams (Demšar 2006, Figure 1) as SVG and TikZ.

The top line is an axis of average ranks, turned so that the best (lowest) ranks
are on the right, where readers look for the better methods (Demšar 2006,
Figure 1; ``best_right=False`` turns it back). Above it, a bar as long as the
critical difference. Each method is joined to its average rank by an elbow line; the
better half is labelled on the best side, the rest on the other. Thick bars below
the axis join methods that are not significantly different (the cliques of
:func:`reports.stats.posthoc.cliques`).

One :class:`CdLayout`, in axis units (x: fraction of the axis from its left end,
y: rows, up positive), is drawn by both :func:`to_svg` and :func:`to_tikz`, so the
HTML and LaTeX documents show the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from reports.document import Graphic
from reports.formatting import latex_escape, sig
from reports.stats.posthoc import cd_cliques

_CLIQUE_Y0, _CLIQUE_DY, _LABEL_GAP, _ROW = -0.55, -0.45, -0.9, -1.0
_TICK, _CD_Y, _OVERHANG, _BAR_PAD = 0.3, 1.9, 0.04, 0.006


@dataclass(frozen=True)
class CdLayout:
    """Geometry of a critical-difference diagram.

    Attributes
    ----------
    lo, hi : float
        Ranks at the two ends of the axis (1 and ``max(k, 1 + cd)`` rounded up).
    best_right : bool
        Rank ``lo`` at the right end (Demšar's orientation).
    ticks : list of (int, float)
        Integer rank -> x.
    labels : list of (str, float, float, float, str)
        ``(text, x of the rank, y of the label row, x of the label end, side)`` per
        method, best first; ``side`` is ``"left"`` or ``"right"``.
    bars : list of (float, float, float)
        ``(x_start, x_end, y)`` per clique, in clique order.
    cd : (float, float, float) or None
        ``(x_start, x_end, y)`` of the critical-difference bar.
    cd_text : str
    """

    lo: float
    hi: float
    best_right: bool
    ticks: list[tuple[int, float]]
    labels: list[tuple[str, float, float, float, str]]
    bars: list[tuple[float, float, float]]
    cd: tuple[float, float, float] | None
    cd_text: str

    def x(self, rank: float) -> float:
        """Position of ``rank`` on the axis, as a fraction of its length from the left."""
        f = (rank - self.lo) / (self.hi - self.lo)
        return 1.0 - f if self.best_right else f

    @property
    def bottom(self) -> float:
        """Lowest y used (the last label row)."""
        return min([y for _, _, y, _, _ in self.labels] + [b[2] for b in self.bars] + [0.0])


def layout(names, avg_ranks, cd: float | None, cliques, *, best_right: bool = True) -> CdLayout:
    """Lay out a critical-difference diagram.

    Parameters
    ----------
    names : sequence of str of length n_methods
    avg_ranks : array-like of shape (n_methods,)
        Average ranks, 1 = best.
    cd : float or None
        Critical difference in rank units; None draws no CD bar.
    cliques : list of tuple of int
        Method indices of each group drawn as one bar.
    best_right : bool

    Returns
    -------
    CdLayout

    Raises
    ------
    ValueError
        Names and ranks of different lengths, fewer than 2 methods, a rank below 1,
        or a clique naming no method.
    """
    r = np.asarray(avg_ranks, dtype=float)
    names = [str(n) for n in names]
    if r.ndim != 1 or r.size != len(names) or r.size < 2:
        raise ValueError(f"A CD diagram needs one average rank per name and at least 2 "
                         f"methods. Got {len(names)} names and ranks of shape {r.shape}.")
    if not np.all(np.isfinite(r)) or r.min() < 1:
        raise ValueError(f"Average ranks must be finite and at least 1. Got {r.tolist()}.")
    for c in cliques:
        if any(not 0 <= i < r.size for i in c):
            raise ValueError(f"Clique {tuple(c)} names a method outside 0..{r.size - 1}.")
    span = max(float(r.size), r.max(), 1.0 + (cd or 0.0))
    proto = CdLayout(1.0, float(math.ceil(span)), best_right, [], [], [], None, "")
    x = proto.x
    ticks = [(t, x(t)) for t in range(1, int(proto.hi) + 1)]
    bars = [(min(x(r[i]) for i in c) - _BAR_PAD, max(x(r[i]) for i in c) + _BAR_PAD,
             _CLIQUE_Y0 + _CLIQUE_DY * n) for n, c in enumerate(cliques)]
    top = (_CLIQUE_Y0 + _CLIQUE_DY * (len(cliques) - 1) if cliques else 0.0) + _LABEL_GAP
    order = list(np.argsort(r, kind="stable"))
    n_best = math.ceil(r.size / 2)
    best_side = "right" if best_right else "left"
    worst_side = "left" if best_right else "right"
    labels = []
    for row, i in enumerate(order[:n_best]):
        labels.append((f"{names[i]} ({r[i]:.2f})", x(r[i]), top + _ROW * row,
                       1 + _OVERHANG if best_side == "right" else -_OVERHANG, best_side))
    for row, i in enumerate(order[n_best:][::-1]):
        labels.append((f"{names[i]} ({r[i]:.2f})", x(r[i]), top + _ROW * row,
                       1 + _OVERHANG if worst_side == "right" else -_OVERHANG, worst_side))
    cd_bar = None
    if cd is not None:
        cd_bar = (0.0, abs(x(1.0 + cd) - x(1.0)), _CD_Y)
    return CdLayout(proto.lo, proto.hi, best_right, ticks, labels, bars, cd_bar,
                    f"CD = {sig(cd)}" if cd is not None else "")


def to_svg(lay: CdLayout, *, axis_px: float = 420.0, row_px: float = 18.0,
           font_px: float = 12.0) -> str:
    """The diagram as a self-contained ``<svg>`` element (no scripts, fonts or links)."""
    width_txt = max([len(t) for t, *_ in lay.labels] + [8]) * 0.55 * font_px
    margin = width_txt + _OVERHANG * axis_px + 12
    top = (_CD_Y + 1.2) * row_px
    height = top + (-lay.bottom + 0.8) * row_px

    def px(x: float) -> str:
        return f"{margin + x * axis_px:.2f}"

    def py(y: float) -> str:
        return f"{top - y * row_px:.2f}"

    width = 2 * margin + axis_px
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="cd-diagram" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'font-family="sans-serif" font-size="{font_px:g}" stroke="#222" role="img">')]
    out.append(f'<line class="axis" x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(0)}"/>')
    for t, x in lay.ticks:
        out.append(f'<line class="tick" x1="{px(x)}" y1="{py(0)}" x2="{px(x)}" y2="{py(_TICK)}"/>')
        out.append(f'<text class="tick-label" x="{px(x)}" y="{py(_TICK + 0.25)}" '
                   f'text-anchor="middle" stroke="none">{t}</text>')
    if lay.cd is not None:
        a, b, y = lay.cd
        out.append(f'<line class="cd" x1="{px(a)}" y1="{py(y)}" x2="{px(b)}" y2="{py(y)}" '
                   f'stroke-width="1.5"/>')
        for e in (a, b):
            out.append(f'<line class="cd-end" x1="{px(e)}" y1="{py(y - 0.2)}" x2="{px(e)}" '
                       f'y2="{py(y + 0.2)}"/>')
        out.append(f'<text class="cd-label" x="{px((a + b) / 2)}" y="{py(y + 0.35)}" '
                   f'text-anchor="middle" stroke="none">{escape(lay.cd_text)}</text>')
    for a, b, y in lay.bars:
        out.append(f'<line class="clique" x1="{px(a)}" y1="{py(y)}" x2="{px(b)}" y2="{py(y)}" '
                   f'stroke-width="4" stroke-linecap="butt"/>')
    for text, x, y, end, side in lay.labels:
        out.append(f'<polyline class="method" fill="none" points="{px(x)},{py(0)} {px(x)},{py(y)} '
                   f'{px(end)},{py(y)}"/>')
        anchor, dx = ("start", 4) if side == "right" else ("end", -4)
        out.append(f'<text class="method-label" x="{float(px(end)) + dx:.2f}" y="{py(y)}" '
                   f'dominant-baseline="middle" text-anchor="{anchor}" stroke="none">'
                   f'{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def to_tikz(lay: CdLayout, *, axis_cm: float = 6.0, row_cm: float = 0.45,
            fit_width: bool = True) -> str:
    """The diagram as a ``tikzpicture`` environment (pdflatex + tikz; labels escaped).

    With ``fit_width`` the picture is wrapped in graphicx's ``\\resizebox`` so that it
    shrinks to ``\\linewidth`` when the labels make it wider (never enlarged).
    """
    out = [f"\\begin{{tikzpicture}}[x={axis_cm:g}cm, y={row_cm:g}cm, font=\\small]",
           "\\draw (0,0) -- (1,0);"]
    for t, x in lay.ticks:
        out.append(f"\\draw ({x:.4f},0) -- ({x:.4f},{_TICK}) node[above] {{{t}}};")
    if lay.cd is not None:
        a, b, y = lay.cd
        out.append(f"\\draw[|-|, semithick] ({a:.4f},{y}) -- ({b:.4f},{y}) "
                   f"node[midway, above] {{{latex_escape(lay.cd_text)}}};")
    for a, b, y in lay.bars:
        out.append(f"\\draw[line width=2.5pt] ({a:.4f},{y:.2f}) -- ({b:.4f},{y:.2f});")
    for text, x, y, end, side in lay.labels:
        anchor = "west" if side == "right" else "east"
        out.append(f"\\draw ({x:.4f},0) |- ({end:.4f},{y:.2f}) node[anchor={anchor}] "
                   f"{{{latex_escape(text)}}};")
    out.append("\\end{tikzpicture}")
    if fit_width:
        out = ["\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%", *out, "}"]
    return "\n".join(out)


def cd_graphic(key: str, caption: str, names, avg_ranks, cd: float | None,
               cliques=None, *, best_right: bool = True) -> Graphic:
    """A critical-difference diagram as a :class:`reports.document.Graphic`.

    Parameters
    ----------
    key, caption : str
    names : sequence of str of length n_methods
    avg_ranks : array-like of shape (n_methods,)
        Average ranks over the blocks, 1 = best.
    cd : float or None
        Nemenyi critical difference (:func:`reports.stats.posthoc.critical_difference`).
    cliques : list of tuple of int, optional
        Groups of methods not significantly different; by default those within
        less than ``cd`` (:func:`reports.stats.posthoc.cd_cliques`).
    best_right : bool

    Returns
    -------
    reports.document.Graphic
    """
    if cliques is None:
        cliques = cd_cliques(avg_ranks, cd) if cd is not None else []
    lay = layout(names, avg_ranks, cd, cliques, best_right=best_right)
    return Graphic(key, caption, to_svg(lay), to_tikz(lay))
