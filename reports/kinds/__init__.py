"""Report kinds: one folder each, ``reports/kinds/<kind>/``, registered by name.

A kind's folder holds everything the kind is:

``options.py``
    its options, a frozen pydantic model (a :class:`KindOptions`) whose fields
    are the keys of a manifest's ``[[reports]]`` entry besides ``kind`` and
    ``formats``;
``compute.py``
    ``compute(con, options=None, catalog=None) -> <Kind>Result``: binds the
    options to its SQL models, computes its statistics, writes its
    ``report_<kind>_*`` tables and returns a typed result (a dataclass);
``document.py``
    ``document(con, result) -> reports.document.Report`` and the document's
    heading ``TITLE``;
``<model>.sql.j2``
    its own SQL models, beside the shared ones of ``templates/sql``
    (:func:`reports.common.kind_project`);
``document.html.j2``, ``document.tex.j2`` (optional)
    its document templates, extending ``templates/html/base.html.j2`` and
    ``templates/tex/base.tex.j2`` (used as they are when absent);
``__init__.py``
    its ``build`` function, registered with :func:`register_kind`.

:data:`KINDS` finds the kinds itself by importing every module of this package
(there is no list of kinds to keep). :func:`list_kinds` gives them in their
declared ``order`` (then by name): the order in which a report lists them.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.registry import Registry
from reports.kinds._options import KindOptions, OptionTypeError, ReportOptionError, validate_options

__all__ = ["KINDS", "KindOptions", "OptionTypeError", "ReportKind", "ReportOptionError", "check_kind",
           "get_kind", "kind_options", "kind_summary", "list_kinds", "register_kind"]

#: Build function of a kind: ``build(con, options=None, catalog=None) -> reports.document.Report``.
Build = Callable[..., Any]


@dataclass(frozen=True)
class ReportKind:
    """A registered report kind.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"gap_regression"``.
    order : int
        Place in :func:`list_kinds` (smaller first).
    title : str
        Heading of its document.
    summary : str
        One line saying what it shows (``runner report --list``).
    options : type of KindOptions
        Its options model; ``options()`` gives the defaults.
    build : callable
        ``build(con, options=None, catalog=None) -> reports.document.Report``.
    folder : pathlib.Path
        Its folder: SQL models and document templates.
    """

    name: str
    order: int
    title: str
    summary: str
    options: type[KindOptions]
    build: Build
    folder: pathlib.Path


#: Every report kind, by name.
KINDS: Registry[ReportKind] = Registry("report kind", search=("reports.kinds",), depth=1)


def register_kind(name: str, *, order: int, title: str, summary: str,
                  options: type[KindOptions]) -> Callable[[Build], Build]:
    """Decorator registering a kind's ``build`` function in :data:`KINDS`.

    Parameters
    ----------
    name : str
        The kind's name; must equal ``options.kind``.
    order : int
        Place in :func:`list_kinds`.
    title : str
        Heading of its document (its ``document.TITLE``).
    summary : str
        One line, no newline.
    options : type of KindOptions
        Its options model.

    Returns
    -------
    callable
        The decorator; it returns ``build`` unchanged. The kind's folder is the
        folder of the module that defines ``build``.
    """
    if options.kind != name:
        raise ValueError(f"report kind {name!r}: its options model {options.__name__} says kind "
                         f"{options.kind!r}; set {options.__name__}.kind = {name!r}")

    def decorate(build: Build) -> Build:
        folder = pathlib.Path(sys.modules[build.__module__].__file__).parent
        KINDS.add(name, ReportKind(name, order, title, summary, options, build, folder))
        return build

    return decorate


def list_kinds() -> list[str]:
    """Names of the report kinds, in their declared order (ties: by name)."""
    return sorted(KINDS.list(), key=lambda n: (KINDS.get(n).order, n))


def get_kind(name: str) -> ReportKind:
    """The report kind ``name``.

    Raises
    ------
    core.errors.UnknownNameError
        ``name`` is not a report kind (a ``ValueError`` and ``KeyError``; the
        message suggests the closest names).
    """
    return KINDS.get(name)


def check_kind(name: str) -> None:
    """Raise ``UnknownNameError`` (a ``ValueError``, with a did-you-mean) unless ``name`` is a report kind."""
    get_kind(name)


def kind_summary(name: str) -> str:
    """One line saying what report kind ``name`` shows."""
    return get_kind(name).summary


def kind_options(name: str, options: Mapping[str, Any] | None = None) -> KindOptions:
    """The validated options of report kind ``name`` from plain values (a manifest's table).

    Parameters
    ----------
    name : str
        A report kind.
    options : mapping, optional
        Option name -> value; lists become tuples, tables inside a list the
        model their field holds (e.g. a ``gap_regression`` family). Empty or
        ``None``: the kind's defaults.

    Returns
    -------
    KindOptions
        An instance of the kind's options model.

    Raises
    ------
    core.errors.UnknownNameError
        ``name`` is not a report kind.
    ReportOptionError
        Unknown options (with a did-you-mean) or rejected values; ``errors``
        holds one per problem, each with its key.
    """
    return validate_options(name, get_kind(name).options, options)
