"""Manifest errors: every problem at once, each with file:line, key path and a hint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import suggest, unknown_name  # noqa: F401  (re-exported for the manifest's messages)
from runner.positions import Path, line_of


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest.

    Attributes
    ----------
    path : tuple
        Key path, e.g. ``("measures", 2, "neurons")``.
    message : str
        What was expected, and the hint ("did you mean ...").
    found : Any
        The offending value (``...`` when there is none to show).
    at : tuple or None
        Where to point in the file when it differs from ``path`` (a swept value
        points at its ``[sweep]`` entry).
    line, column : int or None
        A known position (1-based): a syntax error's, a key given twice. With a
        column, the problem is shown as ``file:line:column: message`` and a caret.
    """

    path: Path
    message: str
    found: Any = ...
    at: Path | None = None
    line: int | None = None
    column: int | None = None


#: What a value that becomes a file or directory name may hold.
SAFE_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")


def name_problem(value: Any) -> str | None:
    """Why ``value`` cannot name a file or directory, or ``None`` when it can.

    Parameters
    ----------
    value : Any
        A measure ``id``, an experiment ``name``: anything that becomes part of a path.

    Returns
    -------
    str or None
        The rule it breaks: a name is letters, digits, ``_``, ``-`` and ``.``,
        does not start with ``.`` and holds no ``..`` (so never a path).
    """
    if not isinstance(value, str):
        return "expected a string"
    if not SAFE_NAME.fullmatch(value) or ".." in value:
        return ("a name becomes a file or directory name, so it holds only letters, digits, '_', '-' and '.', "
                "does not start with '.' and has no '..'")
    return None


def safe_name(value: str) -> str:
    """``value`` if it can name a file or directory (a pydantic validator); else ``ValueError``."""
    if (why := name_problem(value)) is not None:
        raise ValueError(why)
    return value


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def dotted(path: Path) -> str:
    """``("measures", 2, "neurons")`` -> ``"measures[2].neurons"``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class ManifestError(Exception):
    """A manifest that cannot be used; ``str()`` lists every problem with its line."""

    def __init__(self, file: str, problems: list[Problem], lines: dict[Path, int] | None = None,
                 text: str = ""):
        self.file, self.problems, self.lines, self.text = file, problems, lines or {}, text
        super().__init__(self.render())

    def render(self) -> str:
        """Every problem, one ``file:line (key.path): message`` line each with the offending source line."""
        src = self.text.split("\n")  # TOML and YAML lines end at "\n" only (not at U+2028, "\f", ...)
        out = [f"{self.file}: {len(self.problems)} problem{'s' * (len(self.problems) != 1)}"]
        for p in self.problems:
            line = p.line or line_of(self.lines, p.at or p.path)
            found = "" if p.found is ... else f"; found {_short(p.found)}"
            if line and p.column:
                out.append(f"{self.file}:{line}:{p.column}: {p.message}{found}")
            else:
                where = f"{self.file}:{line}" if line else self.file
                out.append(f"{where} ({dotted(p.path) or 'top level'}): {p.message}{found}")
            if line and 0 < line <= len(src):
                shown, column = _window(src[line - 1].rstrip(), p.column)
                out.append(f"    {line:>4} | {shown}")
                if column:
                    pad = "".join(c if c == "\t" else " " for c in shown[:column - 1])
                    out.append(f"    {'':>4} | {pad}^")
        return "\n".join(out)


def _window(text: str, column: int | None, width: int = 160) -> tuple[str, int | None]:
    """At most ``width`` characters of a source line around ``column``, and the column within them."""
    start = 0 if column is None or column <= width else column - width // 2
    shown = ("..." if start else "") + text[start:start + width] + ("..." if len(text) > start + width else "")
    return shown.translate(_PICTURES), column and column - start + (3 if start else 0)


#: Control characters shown as their Unicode pictures (one column each, never sent to the terminal).
_PICTURES = {c: 0x2400 + c for c in range(0x20) if c != 0x09} | {0x7F: 0x2421}


def validate(model: type[BaseModel], data: Any, prefix: Path, problems: list[Problem],
             at: dict[Path, Path] | None = None) -> BaseModel | None:
    """Validate ``data`` with ``model``; append one :class:`Problem` per error.

    Unknown keys get a "did you mean" among the model's fields. ``at`` maps a
    key path to the place the value came from (sweep entries).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            path = prefix + loc
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
                if len(loc) == 1:
                    msg += suggest(loc[-1], model.model_fields) + f" (known: {', '.join(model.model_fields)})"
            found = err.get("input", ...)
            if err["type"] == "missing":
                found = ...
            problems.append(Problem(path, msg, found, (at or {}).get(path)))
        return None
