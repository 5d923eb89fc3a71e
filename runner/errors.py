"""Manifest errors: every problem at once, each with file:line, key path and a hint."""

from __future__ import annotations

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
    """

    path: Path
    message: str
    found: Any = ...
    at: Path | None = None


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
        src = self.text.splitlines()
        out = [f"{self.file}: {len(self.problems)} problem{'s' * (len(self.problems) != 1)}"]
        for p in self.problems:
            line = line_of(self.lines, p.at or p.path)
            where = f"{self.file}:{line}" if line else self.file
            found = "" if p.found is ... else f"; found {p.found!r}"
            out.append(f"{where} ({dotted(p.path) or 'top level'}): {p.message}{found}")
            if line and 0 < line <= len(src):
                out.append(f"    {line:>4} | {src[line - 1].rstrip()}")
        return "\n".join(out)


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
