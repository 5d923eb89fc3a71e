"""Error types shared by every floor: unknown names with a "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, known: Iterable[str]) -> str:
    """A "did you mean" clause for an unknown ``name``, or ``""``.

    Parameters
    ----------
    name : str
        The unknown name.
    known : iterable of str
        The names that exist.

    Returns
    -------
    str
        ``"; did you mean 'x'?"`` naming the closest known names (similarity
        ratio at least 0.6 and within 0.05 of the best), or ``""``.
    """
    scored = sorted(((difflib.SequenceMatcher(None, str(name), k).ratio(), k) for k in known),
                    key=lambda pair: (-pair[0], pair[1]))  # best first; ties in alphabetical order
    best = scored[0][0] if scored else 0.0
    close = [k for score, k in scored[:3] if score >= 0.6 and score >= best - 0.05]
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """The message for an unknown ``name`` of ``kind`` (e.g. ``"measure"``).

    Names the closest known names ("did you mean") and all of them.
    """
    known = sorted(known)
    return f"unknown {kind} {name!r}{suggest(name, known)} (known: {', '.join(known)})"


class UnknownNameError(KeyError, ValueError):
    """A name that no registered plugin (or no column, no option) has.

    A ``KeyError`` for lookups and a ``ValueError`` for validation code alike;
    ``str()`` is the plain message (not ``KeyError``'s quoted repr).

    Parameters
    ----------
    kind : str
        What was looked up, e.g. ``"measure"``.
    name : str
        The unknown name.
    known : iterable of str
        The names that exist; the message suggests the closest.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(unknown_name(kind, name, self.known))

    def __str__(self) -> str:
        return str(self.args[0])
