"""One registry type for every plugin kind: measures, architectures, data sets,
regularisers, report kinds, executors.

A :class:`Registry` maps names to entries of one kind. Entries are added by the
kind's registration decorator; the registry finds them itself by importing
every module of the packages it is told to search (no hand-kept list), the
first time a name is looked up or listed.

Examples
--------
>>> MEASURES = Registry("measure", search=("measures",))
>>> MEASURES.add("stable_rank", spec)          # done by @register_measure
>>> MEASURES.get("stable_rnk")                 # UnknownNameError: ... did you mean 'stable_rank'?
>>> MEASURES.list("*rank*")
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from core.errors import UnknownNameError

E = TypeVar("E")


class Registry(Generic[E]):
    """Named entries of one plugin kind.

    Parameters
    ----------
    kind : str
        What an entry is, in words (``"measure"``, ``"report kind"``); used in errors.
    search : sequence of str
        Packages (or modules) whose every module is imported, once, before the
        first lookup, so that their registration decorators run. Modules whose
        name starts with ``_`` are skipped, and so are the modules a package
        names in its ``__not_plugins__`` (infrastructure that registers
        nothing, such as the training loop, whose imports are heavy).
    depth : int or None
        How deep below each searched package to import: ``1`` imports its
        direct modules and subpackages only (a report kind is a folder whose
        ``__init__`` registers it; its compute loads when it is built);
        ``None`` imports the whole tree.
    """

    def __init__(self, kind: str, search: Sequence[str] = (), depth: int | None = None):
        self.kind = kind
        self._search = tuple(search)
        self._depth = depth
        self._entries: dict[str, E] = {}
        self._discovered = False

    def add(self, name: str, entry: E) -> E:
        """Register ``entry`` under ``name``.

        Raises
        ------
        ValueError
            If ``name`` is already registered.
        """
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> E:
        """The entry registered as ``name``.

        Raises
        ------
        UnknownNameError
            ``name`` is not registered; the message names the closest registered names.
        """
        self.discover()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, str(name), self._entries) from None

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching the shell-style ``pattern``, sorted."""
        self.discover()
        if pattern == "*":
            return sorted(self._entries)
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)

    def discover(self) -> None:
        """Import every public module of the searched packages (once)."""
        if self._discovered:
            return
        self._discovered = True
        for name in self._search:
            _import_tree(name, self._depth)


def _import_tree(name: str, depth: int | None) -> None:
    module = importlib.import_module(name)
    if depth == 0:
        return
    skip = set(getattr(module, "__not_plugins__", ()))
    for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", [])), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name not in skip:
            _import_tree(f"{name}.{info.name}", None if depth is None else depth - 1)
