"""The report kinds: name -> module, imported only when the kind is built.

Each kind is a module of :mod:`reports` with ``build(con, config=None) -> Report``
(see :mod:`reports.document`), a one-line ``SUMMARY`` and ``CONFIG``, the frozen
dataclass of its options. Adding a kind means writing that module and naming it
here.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable, Mapping
from typing import Any

from runner.errors import unknown_name

#: Report kind -> module that builds it.
KIND_MODULES: dict[str, str] = {
    "gap_regression": "reports.gap_regression",
    "ranking": "reports.ranking",
    "regulariser_comparison": "reports.regulariser_comparison",
    "training_dynamics": "reports.training_dynamics",
    "layers": "reports.layers",
    "persistence": "reports.persistence",
}


def list_kinds() -> list[str]:
    """Names of the report kinds, in the order a report lists them."""
    return list(KIND_MODULES)


def check_kind(name: str) -> None:
    """Raise ``ValueError`` (with a did-you-mean) when ``name`` is not a report kind."""
    if name not in KIND_MODULES:
        raise ValueError(unknown_name("report kind", name, list_kinds()))


def kind_builder(name: str) -> Callable:
    """The ``build(con, config=None)`` function of report kind ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a report kind (the message suggests the closest names).
    """
    check_kind(name)
    return importlib.import_module(KIND_MODULES[name]).build


def kind_summary(name: str) -> str:
    """One line saying what report kind ``name`` shows."""
    check_kind(name)
    return importlib.import_module(KIND_MODULES[name]).SUMMARY


class ReportOptionError(ValueError):
    """A report option is unknown or has a value its kind rejects; ``key`` names it when known."""

    def __init__(self, message: str, key: str | None):
        super().__init__(message)
        self.key = key


def kind_options(name: str, options: Mapping[str, Any]) -> Any:
    """The options object of report kind ``name`` built from plain values (a manifest's table).

    Lists become tuples; a table inside a list becomes the dataclass its field
    holds (e.g. a ``gap_regression`` family). An empty mapping gives ``None``,
    the kind's defaults, without importing the kind.

    Parameters
    ----------
    name : str
        A report kind.
    options : mapping
        Field name -> value of the kind's ``CONFIG`` dataclass.

    Returns
    -------
    object or None
        An instance of the kind's ``CONFIG``.

    Raises
    ------
    ValueError
        ``name`` is not a report kind.
    ReportOptionError
        An option is unknown (with a did-you-mean), or the kind rejects a value (its
        message says which and why).
    """
    check_kind(name)
    if not options:
        return None
    config = importlib.import_module(KIND_MODULES[name]).CONFIG
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(config)
    for key in options:
        if key not in fields:
            raise ReportOptionError(unknown_name(f"{name} option", key, list(fields)), key)
    try:
        return config(**{key: _coerce(value, hints[key]) for key, value in options.items()})
    except (TypeError, ValueError) as exc:
        raise ReportOptionError(f"{name} options: {exc}", None) from None


def _coerce(value: Any, hint: Any) -> Any:
    """Lists to tuples, tables in a list to the list's dataclass element type."""
    if not isinstance(value, list):
        return value
    element = next((a for a in _tuple_elements(hint) if dataclasses.is_dataclass(a)), None)
    if element is None:
        return tuple(value)
    return tuple(element(**v) if isinstance(v, dict) else v for v in value)


def _tuple_elements(hint: Any) -> list:
    """Element types of ``tuple[X, ...]`` (also inside ``tuple[X, ...] | None``)."""
    out = []
    for arm in typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,):
        if typing.get_origin(arm) is tuple:
            out += [a for a in typing.get_args(arm) if a is not Ellipsis]
    return out


_UnionType = type(int | None)
