"""The key-path -> line scanners, on golden files with strings, comments and arrays of tables."""

from pathlib import Path

import pytest

from runner.positions import line_of, toml_lines, yaml_lines

GOLDEN = Path(__file__).parent.parent / "data" / "golden.toml"


@pytest.fixture(scope="module")
def lines():
    return toml_lines(GOLDEN.read_text())


@pytest.mark.parametrize("path, line", [
    (("title",), 2),
    (("path",), 3),
    (("experiment",), 5),
    (("experiment", "name"), 6),
    (("experiment", "seeds"), 7),
    (("experiment", "seeds", 0), 8),
    (("experiment", "seeds", 1), 9),
    (("experiment", "ratio"), 11),
    (("model", "quoted.key"), 15),
    (("model", "quoted.key", "b"), 15),
    (("measures", 0, "name"), 18),
    (("measures", 1, "name"), 21),
    (("measures", 1, "text"), 22),
    (("measures", 1, "after"), 25),
    (("sweep", "grid", "model.depth"), 28),
    (("sweep", "grid", "model.depth", 1), 28),
])
def test_toml_lines_golden(lines, path, line):
    assert lines[path] == line


def test_strings_never_make_keys(lines):
    assert not any("line" in p or "not a key" in str(p) for p in lines)
    assert ("measures", 2) not in lines


def test_line_of_falls_back_to_ancestor(lines):
    assert line_of(lines, ("measures", 1, "unknown_key")) == 20
    assert line_of(lines, ("nothing",)) is None


def test_yaml_lines():
    text = "experiment:\n  name: x\n  seeds: [0, 1]\nmeasures:\n  - name: a\n  - name: b\n    neurons: 3\n"
    lines = yaml_lines(text)
    assert lines[("experiment", "name")] == 2
    assert lines[("measures", 1, "name")] == 6
    assert lines[("measures", 1, "neurons")] == 7
