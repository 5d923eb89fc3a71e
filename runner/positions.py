"""Map key paths of a manifest to the line that defines them.

Neither ``tomllib`` nor PyYAML's ``safe_load`` keeps positions, so error
messages would lose ``file:line``. For TOML, a small tokenizer walks the raw
text (strings and comments are tokens, so a ``=`` or ``#`` inside a string never
confuses it) and records the line of every key, table header and array element.
For YAML, PyYAML's node graph carries the marks.

A path is a tuple of keys and list indices, e.g. ``("measures", 2, "neurons")``.
"""

from __future__ import annotations

import re
from typing import Any

Path = tuple[Any, ...]

_TOKEN = re.compile(
    r'(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>#[^\n]*)'
    r'|(?P<mlb>"""(?:[^\\]|\\.)*?""")|(?P<mll>\'\'\'.*?\'\'\')'
    r'|(?P<basic>"(?:[^"\\\n]|\\.)*")|(?P<literal>\'[^\'\n]*\')'
    r'|(?P<punct>[\[\]{}=,.])|(?P<bare>[A-Za-z0-9_\-+:]+)|(?P<other>.)',
    re.S,
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, line = [], 1
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind not in ("ws", "comment"):
            out.append((kind, value, line))
        line += value.count("\n")
    return out


def _key_text(kind: str, value: str) -> str:
    if kind == "basic":
        return value[1:-1].encode().decode("unicode_escape")
    if kind == "literal":
        return value[1:-1]
    return value


class _TomlScanner:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0
        self.lines: dict[Path, int] = {}
        self.array_counts: dict[Path, int] = {}

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "", 0)

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def skip_newlines(self) -> None:
        while self.peek()[0] == "nl":
            self.i += 1

    def dotted_key(self, stop: str) -> list[str]:
        parts = []
        while self.peek()[1] not in (stop, "") and self.peek()[0] != "nl":
            kind, value, _ = self.take()
            if value != ".":
                parts.append(_key_text(kind, value))
        return parts

    def run(self) -> dict[Path, int]:
        table: Path = ()
        while self.peek()[0] != "eof":
            self.skip_newlines()
            kind, value, line = self.peek()
            if kind == "eof":
                break
            if value == "[":
                self.take()
                is_array = self.peek()[1] == "["
                if is_array:
                    self.take()
                path = tuple(self.dotted_key("]"))
                self.take()
                if is_array:
                    self.take()
                    n = self.array_counts.get(path, 0)
                    self.array_counts[path] = n + 1
                    self.lines.setdefault(path, line)
                    table = path + (n,)
                else:
                    table = path
                self.lines[table] = line
            else:
                self.key_value(table)
        return self.lines

    def key_value(self, table: Path) -> None:
        line = self.peek()[2]
        path = table + tuple(self.dotted_key("="))
        self.lines[path] = line
        if self.peek()[1] == "=":
            self.take()
            self.value(path)

    def value(self, path: Path) -> None:
        self.skip_newlines()
        kind, value, line = self.peek()
        if value == "[":
            self.take()
            index = 0
            while self.peek()[1] not in ("]", ""):
                self.skip_newlines()
                if self.peek()[1] == "]":
                    break
                self.lines[path + (index,)] = self.peek()[2]
                self.value(path + (index,))
                index += 1
                self.skip_newlines()
                if self.peek()[1] == ",":
                    self.take()
            self.take()
        elif value == "{":
            self.take()
            while self.peek()[1] not in ("}", ""):
                self.key_value(path)
                if self.peek()[1] == ",":
                    self.take()
            self.take()
        else:
            self.take()
            while self.peek()[1] == "." or (self.peek()[0] == "bare" and self.toks[self.i - 1][1] == "."):
                self.take()  # floats like 1.5 and dates are several tokens


def toml_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every key path in a TOML document.

    Parameters
    ----------
    text : str
        The raw TOML text (already known to parse).

    Returns
    -------
    dict
        ``{path: line}``; array elements are indexed (``("seeds", 1)``), arrays of
        tables by occurrence (``("measures", 0, "name")``).
    """
    return _TomlScanner(text).run()


def yaml_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every key path in a YAML document."""
    import yaml

    lines: dict[Path, int] = {}

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                p = path + (key.value,)
                lines[p] = key.start_mark.line + 1
                walk(child, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (i,)] = child.start_mark.line + 1
                walk(child, path + (i,))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its closest defined ancestor."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None
