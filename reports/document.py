"""The document a report kind returns; :mod:`reports.render` formats it.

A report is a list of sections; a section is a list of blocks (paragraphs,
notices, tables, figures). Cells keep raw values and each column names how to
format them (``"text"``, ``"long"`` for text that may wrap, ``"int"``, ``"num"``
for 3 significant digits, ``"p"`` for p-values), so the HTML and LaTeX templates only format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ColumnKind = Literal["text", "long", "int", "num", "p"]


@dataclass(frozen=True)
class Column:
    """A table column: its header and how its cells are formatted."""

    label: str
    kind: ColumnKind = "text"


@dataclass
class Paragraph:
    """Plain text (escaped by the renderer)."""

    text: str
    block: str = "paragraph"


@dataclass
class Notice:
    """A caveat the reader must see (too few runs, a family not computed, ...)."""

    text: str
    block: str = "notice"


@dataclass
class Table:
    """A table of raw values.

    Attributes
    ----------
    key : str
        Identifier, unique in the report (used for anchors and labels).
    caption : str
    columns : list of Column
    rows : list of tuple
        One tuple of raw values per row, aligned with ``columns``.
    sql : str
        The SQL behind the table, shown to the reader.
    """

    key: str
    caption: str
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    sql: str = ""
    block: str = "table"


@dataclass
class Figure:
    """A matplotlib figure; the renderer inlines it as SVG or writes a PDF.

    Attributes
    ----------
    key : str
        Identifier, unique in the report (PDF file name stem).
    caption : str
    figure : matplotlib.figure.Figure
    """

    key: str
    caption: str
    figure: Any
    block: str = "figure"


@dataclass
class Graphic:
    """A drawing given in both output languages (e.g. a critical-difference diagram).

    Attributes
    ----------
    key : str
        Identifier, unique in the report.
    caption : str
    svg : str
        A complete ``<svg>`` element, inlined in the HTML as it is.
    tikz : str
        A complete ``tikzpicture`` environment, placed in the LaTeX as it is.
    """

    key: str
    caption: str
    svg: str
    tikz: str
    block: str = "graphic"


Block = Paragraph | Notice | Table | Figure | Graphic


@dataclass
class Section:
    """A titled list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    """What a report kind returns.

    Attributes
    ----------
    kind : str
        Registry name, e.g. ``"gap_regression"``.
    heading : str
        Heading of the report under the document title.
    sections : list of Section
    tables : list of str
        DuckDB tables the report wrote.
    """

    kind: str
    heading: str
    sections: list[Section] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        """All figures, in document order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
