"""Read a manifest's bytes into data and key-path lines; syntax errors get ``file:line:column``.

Every failure is a :class:`~runner.errors.ManifestError`: bytes that are not
UTF-8 (with the line and byte offset), a TOML or YAML syntax error (pointing at
the bracket or quote that is never closed, when that is what went wrong), YAML
keys given twice, YAML documents whose aliases multiply them (a "billion
laughs") and nesting too deep to parse.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from runner.errors import ManifestError, Problem, suggest
from runner.positions import Path, tokens, toml_lines, yaml_node_lines

#: Nodes that YAML aliases may add to a document (beyond the nodes written in it).
MAX_ALIAS_NODES = 10_000

_TOML_AT = re.compile(r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$", re.S)
_OPENED = {"Unclosed array": "[", "Unclosed inline table": "{", "Unterminated string": "string"}
_WHAT = {"[": "this '['", "{": "this '{'", "string": "this string"}


def parse(file: str, raw: bytes) -> tuple[dict, dict[Path, int], str]:
    """Decode and parse a manifest.

    Parameters
    ----------
    file : str
        The file's name (``.yaml``/``.yml`` is YAML, anything else TOML).
    raw : bytes
        Its content.

    Returns
    -------
    data : dict
        The parsed document (an empty one is ``{}``).
    lines : dict
        ``{key path: line}``, see :mod:`runner.positions`.
    text : str
        The decoded text.

    Raises
    ------
    ManifestError
        For bytes that are not UTF-8, a syntax error, YAML keys given twice, YAML
        aliases that expand the document too far, nesting too deep, or a top
        level that is not a table.
    """
    text = _decode(file, raw)
    try:
        if file.endswith((".yaml", ".yml")):
            data, lines = _load_yaml(file, text)
        else:
            try:
                data, lines = tomllib.loads(text), toml_lines(text)
            except tomllib.TOMLDecodeError as exc:
                raise ManifestError(file, [_toml_problem(str(exc), text)], {}, text) from None
    except RecursionError:
        raise ManifestError(file, [Problem((), "values nested too deeply to read")], {}, text) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManifestError(file, [Problem((), f"expected a table of sections; found {type(data).__name__}")],
                            lines, text)
    return data, lines, text


def check_sections(data: dict, sections: tuple[str, ...], lists: tuple[str, ...], problems: list[Problem]) -> dict:
    """The known sections of the right type; a problem for each other one.

    Parameters
    ----------
    data : dict
        The parsed manifest.
    sections : tuple of str
        The known sections.
    lists : tuple of str
        Those that are lists of tables (``[[measures]]``); the others are tables.
    problems : list of Problem
        Appended to: an unknown section, a section of the wrong type (``model = 3``).

    Returns
    -------
    dict
        ``data`` without the sections that have a problem.
    """
    out = {}
    for key, value in data.items():
        if key not in sections:
            problems.append(Problem((key,), f"unknown section{suggest(key, sections)} (known: {', '.join(sections)})"))
        elif key in lists and not isinstance(value, list):
            problems.append(Problem((key,), f"expected a list of [[{key}]] tables", value))
        elif key not in lists and not isinstance(value, dict):
            problems.append(Problem((key,), f"expected a table [{key}]", value))
        else:
            out[key] = value
    return out


def _decode(file: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = raw.count(b"\n", 0, start) + 1
        column = len(raw[raw.rfind(b"\n", 0, start) + 1:start].decode("utf-8", "replace")) + 1
        problem = Problem((), f"not valid UTF-8: byte 0x{raw[start]:02x} at byte offset {start} (line {line}); "
                              "save the file as UTF-8", line=line, column=column)
        raise ManifestError(file, [problem], {}, raw.decode("utf-8", "replace")) from None


def opened_at(text: str, offset: int) -> tuple[str, int, int] | None:
    """The construct still open at ``offset``: the innermost unclosed ``[`` or ``{``, or a string.

    Parameters
    ----------
    text : str
        TOML text that does not parse.
    offset : int
        Where the parser stopped.

    Returns
    -------
    tuple or None
        ``(what, line, column)`` of the opening bracket or quote (1-based), or
        ``None`` when nothing is open there.
    """
    stack: list[tuple[str, int, int]] = []
    for kind, tok_text, line, start, _ in tokens(text):
        if start >= offset:
            break
        column = start - text.rfind("\n", 0, start)
        if kind == "unclosed":
            return "string", line, column
        if tok_text in ("[", "{"):
            stack.append((tok_text, line, column))
        elif tok_text in ("]", "}") and stack:
            stack.pop()
    return stack[-1] if stack else None


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _toml_problem(error: str, text: str) -> Problem:
    """A TOML syntax error at the construct that is wrong: an unclosed bracket's or string's opening."""
    m = _TOML_AT.match(error)
    if m is None:
        return Problem((), f"not valid TOML: {error}")
    msg = m.group("msg")
    if m.group("line"):
        line, column = int(m.group("line")), int(m.group("col"))
        offset = sum(len(s) + 1 for s in text.split("\n")[:line - 1]) + column - 1
    else:
        offset = len(text)
        line, column = _position(text, offset)
    opened = opened_at(text, offset)
    if opened and (opened[0] == _OPENED.get(msg) or (msg == "Unclosed array" and opened[0] == "string")):
        return Problem((), f"not valid TOML: {msg}: {_WHAT[opened[0]]} is never closed (the parser stopped "
                           f"at line {line}, column {column})", line=opened[1], column=opened[2])
    if opened and opened[1] != line:
        msg += f" (inside the '{opened[0]}' opened at line {opened[1]}, column {opened[2]})"
    return Problem((), f"not valid TOML: {msg}", line=line, column=column)


def _load_yaml(file: str, text: str) -> tuple[Any, dict[Path, int]]:
    """Compose the document, check its aliases and keys, then construct it (PyYAML's safe loader)."""
    loader = None
    try:
        try:
            loader = yaml.SafeLoader(text)
            root = loader.get_single_node()
            if root is None:
                return {}, {}
            _check_aliases(file, root, text)
            lines, duplicates = yaml_node_lines(root)
            if duplicates:
                raise ManifestError(file, [Problem(p, f"duplicate key {p[-1]!r}: first at line {first}, again at "
                                                      f"line {line}; keep one", line=line)
                                           for p, first, line in duplicates], lines, text)
            return loader.construct_document(root), lines
        except yaml.MarkedYAMLError as exc:
            raise ManifestError(file, [_yaml_problem(exc)], {}, text) from None
        except yaml.reader.ReaderError as exc:
            line, column = _position(text, exc.position)
            char = chr(exc.character) if isinstance(exc.character, int) else exc.character
            msg = f"not valid YAML: character {char!r} is not allowed in YAML ({exc.reason})"
            raise ManifestError(file, [Problem((), msg, line=line, column=column)], {}, text) from None
        except yaml.YAMLError as exc:
            raise ManifestError(file, [Problem((), f"not valid YAML: {exc}")], {}, text) from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError) -> Problem:
    """A YAML syntax error, at the unclosed flow collection or quote when that is what is wrong."""
    mark, ctx = exc.problem_mark, exc.context_mark
    msg = exc.problem or "syntax error"
    if exc.context and ctx is not None and ("flow" in exc.context or "quoted" in exc.context) and mark is not None:
        msg = f"{msg} ({exc.context} that starts here; the parser stopped at line {mark.line + 1}, " \
              f"column {mark.column + 1})"
        mark = ctx
    elif exc.context:
        msg = f"{msg} ({exc.context})"
    if mark is None:
        return Problem((), f"not valid YAML: {msg}")
    return Problem((), f"not valid YAML: {msg}", line=mark.line + 1, column=mark.column + 1)


def _check_aliases(file: str, root: yaml.Node, text: str) -> None:
    """Refuse an anchor inside itself, and aliases that add more than :data:`MAX_ALIAS_NODES` nodes."""
    size: dict[int, int] = {}
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    stack = [root]
    while stack:
        node = stack[-1]
        children = [n for kv in node.value for n in kv] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        if id(node) not in state:
            state[id(node)] = 1
            for child in children:
                if state.get(id(child)) == 1:
                    line = child.start_mark.line + 1
                    raise ManifestError(file, [Problem((), f"the YAML anchor at line {line} is used inside itself "
                                                           "(a recursive alias); refused", line=line)], {}, text)
                if id(child) not in state:
                    stack.append(child)
            continue
        stack.pop()
        if state[id(node)] == 1:
            state[id(node)] = 2
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
    extra = size[id(root)] - len(size)
    if extra > MAX_ALIAS_NODES:
        where: Path = ()
        line = None
        if isinstance(root, yaml.MappingNode) and root.value:
            key, _ = max(root.value, key=lambda kv: size[id(kv[1])])
            where, line = (key.value,), key.start_mark.line + 1
        raise ManifestError(file, [Problem(where, f"YAML aliases expand {len(size):,} written nodes to "
                                                  f"{size[id(root)]:,}; more than {MAX_ALIAS_NODES:,} nodes added by "
                                                  "aliases (a 'billion laughs' document?) are refused", line=line)],
                            {}, text)
