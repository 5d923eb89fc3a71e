"""Map key paths of a manifest to the line that defines them.

Neither ``tomllib`` nor PyYAML's ``safe_load`` keeps positions, so error
messages would lose ``file:line``. For TOML, a small tokenizer walks the raw
text (strings and comments are tokens, so a ``=`` or ``#`` inside a string never
confuses it) and records the line of every key, table header and array element.
It streams its tokens and finds the end of a string with ``str.find``, so it
holds a few bytes per token, not per character. For YAML, PyYAML's node graph
carries the marks.

A path is a tuple of keys and list indices, e.g. ``("measures", 2, "neurons")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Path = tuple[Any, ...]
Token = tuple[str, str, int, int, int]  # kind, text (empty for strings), line, start, end

_SIMPLE = re.compile(r"[ \t\r]+|#[^\n]*|(?P<bare>[A-Za-z0-9_\-+:]+)|(?P<punct>[\[\]{}=,.])")
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}
_EOF: Token = ("eof", "", 0, -1, -1)


def _escaped(text: str, i: int) -> bool:
    """Whether the character at ``i`` follows an odd number of backslashes."""
    n = 0
    while i - n - 1 >= 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _string_end(text: str, start: int) -> tuple[str, int]:
    """Kind and end offset of the string literal at ``start``; kind ``unclosed`` if it never closes."""
    quote = text[start]
    kind = "basic" if quote == '"' else "literal"
    if text.startswith(quote * 3, start):
        i = start + 3
        while (i := text.find(quote * 3, i)) != -1 and quote == '"' and _escaped(text, i):
            i += 1
        if i == -1:
            return "unclosed", len(text)
        extra = 0
        while extra < 2 and text.startswith(quote, i + 3 + extra):
            extra += 1
        return "ml" + kind, i + 3 + extra
    eol = text.find("\n", start + 1)
    eol = len(text) if eol == -1 else eol
    i = start + 1
    while (i := text.find(quote, i, eol)) != -1 and quote == '"' and _escaped(text, i):
        i += 1
    return ("unclosed", eol) if i == -1 else (kind, i + 1)


def tokens(text: str) -> Iterator[Token]:
    """The tokens of a TOML text: strings whole, comments and blanks skipped.

    Parameters
    ----------
    text : str
        TOML text, valid or not (an unclosed string runs to the end of its line,
        or of the text for a multi-line string).

    Yields
    ------
    tuple
        ``(kind, text, line, start, end)``; ``kind`` is ``nl``, ``basic``,
        ``literal``, ``mlbasic``, ``mlliteral``, ``unclosed`` (a string),
        ``punct``, ``bare`` or ``other``; ``text`` is empty for strings (slice ``start:end`` if needed).
    """
    pos, line, n = 0, 1, len(text)
    while pos < n:
        c = text[pos]
        if c == "\n":
            yield "nl", "\n", line, pos, pos + 1
            line, pos = line + 1, pos + 1
        elif c in "\"'":
            kind, end = _string_end(text, pos)
            yield kind, "", line, pos, end
            line, pos = line + text.count("\n", pos, end), end
        elif m := _SIMPLE.match(text, pos):
            if m.lastgroup:
                yield m.lastgroup, m.group(), line, pos, m.end()
            pos = m.end()
        else:
            yield "other", c, line, pos, pos + 1
            pos += 1


def _unescape(body: str) -> str:
    def one(m: re.Match) -> str:
        code = m.group(1)
        return chr(int(code[1:], 16)) if code[0] in "uU" and len(code) > 1 else _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, body)


class _TomlScanner:
    def __init__(self, text: str):
        self.text = text
        self._toks = tokens(text)
        self.tok = next(self._toks, _EOF)
        self.lines: dict[Path, int] = {}
        self.aot: dict[Path, int] = {}  # array-of-tables path -> elements so far

    def take(self) -> Token:
        tok, self.tok = self.tok, next(self._toks, _EOF)
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok[0] in ("punct", "nl", "eof") and self.tok[1] in texts

    def skip_newlines(self) -> None:
        while self.tok[0] == "nl":
            self.take()

    def key_part(self, tok: Token) -> str:
        kind, text, _, start, end = tok
        if kind == "basic":
            return _unescape(self.text[start + 1:end - 1])
        if kind == "literal":
            return self.text[start + 1:end - 1]
        return text

    def dotted_key(self, stop: str) -> list[str]:
        parts = []
        while self.tok[0] not in ("nl", "eof") and not self.at(stop):
            tok = self.take()
            if tok[1] != ".":
                parts.append(self.key_part(tok))
        return parts

    def resolve(self, keys: list[str]) -> Path:
        """A header's path: every array of tables on the way means its last element."""
        path: Path = ()
        for key in keys:
            path += (key,)
            if path in self.aot:
                path += (self.aot[path] - 1,)
        return path

    def header(self) -> Path:
        line = self.take()[2]
        is_array = self.at("[")
        if is_array:
            self.take()
        keys = self.dotted_key("]")
        self.take()
        if is_array:
            self.take()
            path = self.resolve(keys[:-1]) + tuple(keys[-1:])
            n = self.aot.get(path, 0)
            self.aot[path] = n + 1
            self.lines.setdefault(path, line)
            table = path + (n,)
        else:
            table = self.resolve(keys)
        for k in range(1, len(table)):
            self.lines.setdefault(table[:k], line)
        self.lines[table] = line
        return table

    def run(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self.skip_newlines()
            if self.tok[0] == "eof":
                return self.lines
            if self.at("["):
                table = self.header()
            else:
                self.key_value(table, None)

    def key_value(self, table: Path, context: int | None) -> None:
        """``key = value``; positions on the line of ``context`` (an inline table's) are not recorded."""
        line = self.tok[2]
        path = table + tuple(self.dotted_key("="))
        if line != context:
            for k in range(len(table) + 1, len(path)):
                self.lines.setdefault(path[:k], line)
            self.lines[path] = line
        if self.at("="):
            self.take()
            self.value(path, line)

    def value(self, path: Path, line: int) -> None:
        """A value whose effective line (its own or its closest recorded ancestor's) is ``line``."""
        if self.at("["):
            self.take()
            index = 0
            while True:
                self.skip_newlines()
                if self.tok[0] == "eof" or self.at("]"):
                    break
                element_line = self.tok[2]
                if element_line != line:
                    self.lines[path + (index,)] = element_line
                self.value(path + (index,), element_line)
                index += 1
                self.skip_newlines()
                if self.at(","):
                    self.take()
            self.take()
        elif self.at("{"):
            self.take()
            while self.tok[0] not in ("nl", "eof") and not self.at("}"):
                self.key_value(path, line)
                if self.at(","):
                    self.take()
            self.take()
        else:  # a scalar: one token, or several (floats, dates with a space)
            while self.tok[0] != "eof" and not self.at("\n", ",", "]", "}"):
                self.take()


def toml_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of the key paths of a TOML document.

    Parameters
    ----------
    text : str
        The raw TOML text (already known to parse).

    Returns
    -------
    dict
        ``{path: line}``; array elements are indexed (``("seeds", 1)``), arrays of
        tables by occurrence (``("measures", 0, "name")``), a sub-table of an
        array element under that element (``("a", 1, "b")``). A key or element on
        the same line as its parent (inside an inline table or a one-line array)
        is left out: :func:`line_of` finds it through the parent.
    """
    return _TomlScanner(text).run()


def yaml_node_lines(root: Any) -> tuple[dict[Path, int], list[tuple[Path, int, int]]]:
    """Lines of every key path under a composed YAML node, and the keys given twice.

    Parameters
    ----------
    root : yaml.Node
        A composed document (its aliases already checked to expand to a bounded
        size, and no anchor inside itself).

    Returns
    -------
    lines : dict
        ``{path: line}``.
    duplicates : list of (path, first_line, line)
        Every key that a mapping lists twice (merge keys ``<<`` aside).
    """
    import yaml

    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, int, int]] = []
    stack: list[tuple[Any, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, child in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                p, line = path + (key.value,), key.start_mark.line + 1
                if (key.tag, key.value) in seen:
                    duplicates.append((p, seen[key.tag, key.value], line))
                else:
                    seen[key.tag, key.value] = line
                    lines[p] = line
                stack.append((child, p))
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                lines[path + (i,)] = child.start_mark.line + 1
                stack.append((child, path + (i,)))
    return lines, sorted(duplicates, key=lambda d: d[2])


def yaml_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every key path in a YAML document (without aliases that expand it)."""
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return yaml_node_lines(root)[0] if root is not None else {}


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its closest defined ancestor."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None
