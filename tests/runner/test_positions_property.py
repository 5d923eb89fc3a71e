"""Property test of the TOML key-path -> line scanner: generated documents whose true lines are known."""

import datetime
import re
import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.positions import line_of, toml_lines

SCALARS = ['1', '-7', '+1_000', '0x1F', '1.5e-3', 'inf', 'true', '"a # b = [c] {d}"', "'lit [x] = y # z'",
           '"esc \\" \\\\ \\u00e9 ]"', "1979-05-27T07:32:00Z", "1979-05-27 07:32:00", "07:32:00", '""', "''"]
TEXT = st.one_of(st.text("abXY09_-", max_size=4), st.text(st.characters(blacklist_categories=("Cs",)), max_size=4))
SHORT = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _control(c: str) -> bool:
    return ord(c) < 0x20 or ord(c) == 0x7F


def render(text: str, style: int) -> str:
    """A key or string in one of four styles: bare, literal, basic, basic with every non-ASCII character escaped."""
    if style == 0 and re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return text
    if style == 1 and "'" not in text and not any(_control(c) and c != "\t" for c in text):
        return f"'{text}'"
    out = []
    for c in text:
        if c in SHORT:
            out.append(SHORT[c])
        elif _control(c) or (style == 3 and ord(c) > 0x7F):
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


class Doc:
    """A TOML document being written, with the true line of every leaf."""

    def __init__(self, draw):
        self.draw, self.parts, self.line, self.n, self.leaves = draw, [], 1, 0, {}

    def add(self, text: str) -> int:
        line = self.line
        self.parts.append(text)
        self.line += text.count("\n") + 1
        return line

    def key(self) -> tuple[str, str]:
        self.n += 1
        name = f"{self.draw(TEXT)}_{self.n}"
        return name, render(name, self.draw(st.integers(0, 3)))

    def scalar(self) -> str:
        if self.draw(st.booleans()):
            return self.draw(st.sampled_from(SCALARS))
        return render(self.draw(TEXT), self.draw(st.integers(1, 3)))

    def inline(self, path: tuple, line: int, depth: int = 0) -> str:
        items = []
        for _ in range(self.draw(st.integers(1, 3))):
            k, rk = self.key()
            if depth < 2 and self.draw(st.booleans()):
                items.append(f"{rk} = {self.inline(path + (k,), line, depth + 1)}")
            else:
                items.append(f"{rk} = {self.scalar()}")
                self.leaves[path + (k,)] = line
        return "{ " + ", ".join(items) + " }"

    def statement(self, table: tuple) -> None:
        kind = self.draw(st.sampled_from(["scalar", "dotted", "inline", "array", "mlarray", "mlstring", "comment"]))
        k, rk = self.key()
        if kind == "scalar":
            self.leaves[table + (k,)] = self.add(f"{rk} = {self.scalar()}  # = [x] \"y\"")
        elif kind == "dotted":
            k2, rk2 = self.key()
            self.leaves[table + (k, k2)] = self.add(f"{rk} . {rk2} = {self.scalar()}")
        elif kind == "inline":
            line = self.line
            self.add(f"{rk} = {self.inline(table + (k,), line)}")
        elif kind == "array":
            n = self.draw(st.integers(1, 3))
            line = self.add(f"{rk} = [{', '.join(self.scalar() for _ in range(n))}]")
            self.leaves.update({table + (k, i): line for i in range(n)})
        elif kind == "mlarray":
            self.add(f"{rk} = [  # a comment with ] and [")
            for i in range(self.draw(st.integers(1, 3))):
                if self.draw(st.booleans()):
                    line = self.line
                    self.add(f"  {self.inline(table + (k, i), line)},")
                else:
                    self.leaves[table + (k, i)] = self.add(f"  {self.scalar()},")
            self.add("]")
        elif kind == "mlstring":
            q = self.draw(st.sampled_from(['"""', "'''"]))
            self.leaves[table + (k,)] = self.add(f'{rk} = {q}\nx = "not a key"\n[not.a.table]\n{q}')
        else:
            self.add(f"# {rk} = [not a key]")

    def body(self, table: tuple) -> None:
        for _ in range(self.draw(st.integers(0, 3))):
            self.statement(table)

    def header(self, keys: list[str], array: bool = False) -> None:
        sep = self.draw(st.sampled_from([".", " . "]))
        name = sep.join(keys)
        self.add(f"[[{name}]]" if array else f"[{name}]")


@st.composite
def documents(draw):
    doc = Doc(draw)
    doc.body(())
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):  # a table, maybe with a dotted name
            keys = [doc.key() for _ in range(draw(st.integers(1, 2)))]
            doc.header([rk for _, rk in keys])
            doc.body(tuple(k for k, _ in keys))
            continue
        a, ra = doc.key()  # an array of tables, with sub-tables and nested arrays in its elements
        sub, rsub = doc.key()
        inner, rinner = doc.key()
        for i in range(draw(st.integers(1, 3))):
            doc.header([ra], array=True)
            doc.body((a, i))
            if draw(st.booleans()):
                for j in range(draw(st.integers(1, 2))):
                    doc.header([ra, rinner], array=True)
                    doc.body((a, i, inner, j))
            if draw(st.booleans()):
                doc.header([ra, rsub])
                doc.body((a, i, sub))
    return "\n".join(doc.parts) + "\n", doc.leaves


def leaves_of(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves_of(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves_of(v, path + (i,))
    else:
        assert isinstance(value, (str, int, float, bool, datetime.date, datetime.time))
        yield path


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_every_leaf_is_located_at_its_line(doc):
    text, leaves = doc
    data = tomllib.loads(text)
    assert set(leaves_of(data)) == set(leaves)  # the generator knows the document's true paths
    lines = toml_lines(text)
    assert {p: line_of(lines, p) for p in leaves} == leaves
