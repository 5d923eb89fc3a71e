"""The report kinds: name -> module, imported only when the kind is built.

Each kind is a module of :mod:`reports` with ``build(con, config=None) -> Report``
(see :mod:`reports.document`) and a one-line ``SUMMARY``. Adding a kind means
writing that module and naming it here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

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
