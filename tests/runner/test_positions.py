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
    assert line_of(lines, path) == line


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


def test_sub_table_of_an_array_element_is_under_that_element():
    text = '[[a]]\nx = 1\n\n[[a]]\nx = 2\n[a.b]\ny = 3\n\n[[a]]\n[a.b]\ny = 4\n'
    lines = toml_lines(text)
    assert line_of(lines, ("a", 1, "b", "y")) == 7
    assert line_of(lines, ("a", 2, "b", "y")) == 11
    assert ("a", "b") not in lines


def test_nested_arrays_of_tables_count_per_element():
    text = '[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[[a]]\n[[a.b]]\nx = 3\n'
    lines = toml_lines(text)
    assert [line_of(lines, p) for p in [("a", 0, "b", 0, "x"), ("a", 0, "b", 1, "x"), ("a", 1, "b", 0, "x")]] \
        == [3, 5, 8]


def test_quoted_keys_keep_non_ascii_text_and_escapes():
    text = '"é" = 1\n"\\u00e9\\t\\"x" = 2\n\'ünï\' = 3\n[\'ß\'."中\\U0001F600"]\nk = 4\n'
    lines = toml_lines(text)
    assert lines[("é",)] == 1
    assert lines[('é\t"x',)] == 2
    assert lines[("ünï",)] == 3
    assert lines[("ß", "中😀", "k")] == 5


def test_a_huge_string_is_scanned_in_little_memory():
    import tracemalloc

    text = 'a = "' + "x" * 1_000_000 + '"\nb = 1\n'
    tracemalloc.start()
    try:
        assert toml_lines(text) == {("a",): 1, ("b",): 2}
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(text)
