"""Bad manifests: each is refused by ``runner plan`` with exit code 2, ``file:line`` and its key path.

Never a traceback, never a file in the store, and oversized input stays cheap:
an alias bomb, a sweep of a million points and a manifest with a 5 MB string
are refused or read without expanding or copying them.
"""

import textwrap
import tracemalloc
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.errors import ManifestError
from runner.manifest import load_manifest
from runner.sweep import SweepSpec, expand_sweep, sweep_size
from tests.runner.conftest import BASE

NO_MEASURES = BASE.replace('[[measures]]\nname = "weight_spectrum"\n\n[[measures]]\nname = "neural_collapse"\n', "")
NO_MODEL = BASE.replace('[model]\nname = "mlp"\ndepth = 1\nwidth = 16\n', "")
BASE_YAML = yaml.safe_dump({"experiment": {"name": "t"}, "dataset": {"name": "digits"}, "model": {"name": "mlp"}},
                           sort_keys=False)
BOMB = "".join(f"{x}: &{x} [{', '.join([f'*{p}'] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi"))
BOMB = BASE_YAML + 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB


def _id(value: str) -> str:
    return BASE.replace('name = "weight_spectrum"', f'name = "weight_spectrum"\nid = {value}')


def _grid(value: str) -> str:
    return BASE.replace('grid = { "model.depth" = [1, 2] }', value)


# name: (file name, content, line, text that must be in the error: the key path, or the message)
CORPUS = {
    # sections of the wrong type
    "regulariser string": ("m.toml", 'regulariser = "none"\n' + BASE, 1, "(regulariser): expected a table"),
    "regulariser int": ("m.toml", "regulariser = 3\n" + BASE, 1, "(regulariser): expected a table"),
    "model int": ("m.toml", "model = 3\n" + NO_MODEL, 1, "(model): expected a table [model]; found 3"),
    "measures string": ("m.toml", 'measures = "x"\n' + NO_MEASURES, 1, "(measures): expected a list"),
    "reports string": ("m.toml", 'reports = "ranking"\n' + BASE, 1, "(reports): expected a list"),
    "sweep int": ("m.toml", "sweep = 3\n" + BASE.replace('[sweep]\ngrid = { "model.depth" = [1, 2] }', ""), 1,
                  "(sweep): expected a table"),
    # values of the wrong type
    "measure id int": ("m.toml", _id("5"), 25, "(measures[0].id)"),
    "measure id list": ("m.toml", _id('["a"]'), 25, "(measures[0].id)"),
    "model name list": ("m.toml", BASE.replace('name = "mlp"', 'name = ["mlp"]'), 10, "(model.name)"),
    "grid value not a list": ("m.toml", _grid('grid = { "model.depth" = 3 }'), 30, "(sweep.grid.model.depth)"),
    "grid not a table": ("m.toml", _grid('grid = "x"'), 30, "(sweep.grid)"),
    "zip value not a list": ("m.toml", _grid('zip = [{ "training.lr" = 0.1 }]'), 30, "(sweep.zip[0].training.lr)"),
    "zip not a list": ("m.toml", _grid('zip = { "training.lr" = [0.1] }'), 30, "(sweep.zip)"),
    "include not tables": ("m.toml", _grid("include = [3]"), 30, "(sweep.include[0])"),
    "sweep into a value": ("m.toml", _grid('grid = { "model.depth.x" = [1] }'), 30,
                           "(sweep.grid.model.depth.x): cannot set 'model.depth.x'"),
    "overlapping sweep keys": ("m.toml", _grid('grid = { "model.depth" = [1], "model.depth.x" = [2] }'), 29,
                               "(sweep): sweep keys 'model.depth' and 'model.depth.x' overlap"),
    # ids are names, never paths
    "id with slash": ("m.toml", _id('"a/b"'), 25, "(measures[0].id): a measure id names its files"),
    "id with backslash": ("m.toml", _id("'a\\b'"), 25, "(measures[0].id)"),
    "id with dot dot": ("m.toml", _id('"a..b"'), 25, "(measures[0].id)"),
    "id is dot dot": ("m.toml", _id('".."'), 25, "(measures[0].id)"),
    "id with leading dot": ("m.toml", _id('".hidden"'), 25, "(measures[0].id)"),
    "empty id": ("m.toml", _id('""'), 25, "(measures[0].id)"),
    "name with slash": ("m.toml", BASE.replace('name = "t"', 'name = "../t"'), 3, "(experiment.name)"),
    "name with leading dot": ("m.toml", BASE.replace('name = "t"', 'name = ".t"'), 3, "(experiment.name)"),
    "name with backslash": ("m.toml", BASE.replace('name = "t"', "name = 'a\\t'"), 3, "(experiment.name)"),
    # YAML
    "yaml duplicate key": ("m.yaml", BASE_YAML.replace("  name: t\n", "  name: t\n  seeds: [0]\n  name: u\n"), 4,
                           "(experiment.name): duplicate key 'name': first at line 2, again at line 4"),
    "yaml duplicate section": ("m.yaml", BASE_YAML + "dataset:\n  name: mnist1d\n", 7, "(dataset): duplicate key"),
    "yaml alias bomb": ("m.yaml", BOMB, 15, "(i): YAML aliases expand"),
    "yaml recursive alias": ("m.yaml", BASE_YAML + "sweep: &s {grid: *s}\n", 7, "used inside itself"),
    "yaml model int": ("m.yaml", BASE_YAML.replace("model:\n  name: mlp\n", "model: 3\n"), 5, "(model)"),
    "yaml measure id list": ("m.yaml", BASE_YAML + "measures:\n- name: weight_spectrum\n  id: [a]\n", 9,
                             "(measures[0].id)"),
    "yaml top level list": ("m.yaml", "- 1\n- 2\n", None, "expected a table of sections; found list"),
    "yaml too deep": ("m.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
    "toml too deep": ("m.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
    # bytes and syntax
    "not utf-8": ("m.toml", BASE.encode().replace(b'name = "t"', b'name = "t\xff"'), 3,
                  "m.toml:3:10: not valid UTF-8: byte 0xff at byte offset 23 (line 3)"),
    "unclosed array": ("m.toml", BASE.replace("seeds = [0, 1]", "seeds = [0, 1"), 4,
                       "m.toml:4:9: not valid TOML: Unclosed array: this '[' is never closed (the parser stopped "
                       "at line 6, column 1)"),
    "unclosed string": ("m.toml", BASE.replace('name = "t"', 'name = """t'), 3,
                        "m.toml:3:8: not valid TOML: Unterminated string"),
    "toml duplicate key": ("m.toml", BASE.replace("width = 16", "width = 16\nwidth = 8"), 13,
                           "m.toml:13:10: not valid TOML: Cannot overwrite a value"),
    "yaml unclosed flow": ("m.yaml", BASE_YAML.replace("name: t", "seeds: [0, 1"), 2,
                           "m.yaml:2:10: not valid YAML: expected ',' or ']'"),
    "yaml tab": ("m.yaml", BASE_YAML.replace("  name: t", "\tname: t"), 2,
                 "m.yaml:2:1: not valid YAML: found character '\\t' that cannot start any token"),
    "yaml control character": ("m.yaml", BASE_YAML.replace("name: t", "name: t\x00"), 2,
                               "m.yaml:2:10: not valid YAML: character '\\x00' is not allowed"),
}


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def _plan(path: Path, store: Path):
    return CliRunner().invoke(main, ["plan", str(path), "--store", str(store)])


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_manifest_is_exit_2_with_line_and_key_path(tmp_path, case):
    name, content, line, expected = CORPUS[case]
    path, store = _write(tmp_path, name, content), tmp_path / "store"
    result = _plan(path, store)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.output
    if line is not None:
        assert f"{name}:{line}" in result.output
    assert not store.exists()


def test_a_syntax_error_shows_the_line_and_a_caret(tmp_path):
    path = _write(tmp_path, "m.toml", BASE.replace("seeds = [0, 1]", "seeds = [0, 1"))
    msg = str(pytest.raises(ManifestError, load_manifest, path).value)
    assert msg.splitlines()[1:] == [
        "m.toml:4:9: not valid TOML: Unclosed array: this '[' is never closed (the parser stopped at line 6, "
        "column 1)".replace("m.toml", str(path)),
        "       4 | seeds = [0, 1",
        "         |         ^",
    ]


def test_a_string_that_is_not_a_list_is_one_error(tmp_path):
    result = _plan(_write(tmp_path, "m.toml", 'reports = "ranking"\n' + BASE), tmp_path / "store")
    assert "1 problem\n" in result.output


def test_alias_bomb_is_refused_at_once(tmp_path):
    path = _write(tmp_path, "m.yaml", BOMB)
    tracemalloc.start()
    try:  # refused before expanding: a few MB traced at most (expanding it takes gigabytes)
        msg = str(pytest.raises(ManifestError, load_manifest, path).value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert "1 problem" in msg and "YAML aliases expand" in msg
    assert len(msg) < 1000


def test_sweep_too_large_is_refused_before_expanding(tmp_path):
    values = ", ".join(str(i) for i in range(1, 101))
    text = BASE.replace('grid = { "model.depth" = [1, 2] }',
                        f'grid = {{ "model.depth" = [{values}], "model.width" = [{values}], '
                        f'"training.epochs" = [{values}] }}')
    path = _write(tmp_path, "m.toml", text)
    tracemalloc.start()
    try:  # refused before expanding: expanding 10^6 points would trace gigabytes
        msg = str(pytest.raises(ManifestError, load_manifest, path).value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "(sweep): the sweep has 1,000,000 points x 2 seeds: more than max_runs = 100,000 runs" in msg
    assert peak < 5_000_000


def test_max_runs_sets_the_limit(tmp_path):
    too_many = _write(tmp_path, "a.toml", BASE.replace("[sweep]", "[sweep]\nmax_runs = 3"))
    msg = str(pytest.raises(ManifestError, load_manifest, too_many).value)
    assert "2 points x 2 seeds: more than max_runs = 3 runs" in msg
    assert len(load_manifest(_write(tmp_path, "b.toml", BASE.replace("[sweep]", "[sweep]\nmax_runs = 4"))).runs) == 4


def test_excludes_are_counted_without_expanding(tmp_path):
    values = ", ".join(str(i) for i in range(1, 1001))
    text = BASE.replace('grid = { "model.depth" = [1, 2] }',
                        f'grid = {{ "model.depth" = [{values}], "model.width" = [{values}] }}\n'
                        'exclude = [{ "model.depth" = 1 }, { "model.width" = 1 }, { "model.depth" = 2, '
                        '"model.width" = 2 }]\ninclude = [{ "model.depth" = 1 }]')
    msg = str(pytest.raises(ManifestError, load_manifest, _write(tmp_path, "m.toml", text)).value)
    assert f"the sweep has {999 * 999 - 1 + 1:,} points" in msg


small_lists = st.lists(st.integers(0, 2), min_size=1, max_size=3)
excludes = st.lists(st.dictionaries(st.sampled_from(["model.depth", "model.width", "training.lr", "training.epochs"]),
                                    st.integers(0, 2), min_size=1, max_size=3), max_size=4)


@settings(max_examples=100, deadline=None)
@given(small_lists, small_lists, st.lists(st.integers(0, 2), min_size=2, max_size=2), excludes,
       st.integers(0, 2))
def test_sweep_size_is_the_number_of_points(depths, widths, lrs, exclude, include):
    sweep = SweepSpec(grid={"model.depth": depths, "model.width": widths},
                      zip=[{"training.lr": lrs, "training.epochs": lrs[::-1]}], exclude=exclude,
                      include=[{"model.depth": 5}] * include)
    base = {"training": {"epochs": 1}}
    points, problems = expand_sweep(base, sweep)
    assert not problems
    assert sweep_size(base, sweep) == (len(points), len(points))


def _peak_rss_during(fn) -> int:
    """Bytes that the resident set grew by at its peak while ``fn`` ran (Linux: VmHWM reset through clear_refs)."""
    def status(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current resident set
    before = status("VmRSS:")
    fn()
    return status("VmHWM:") - before


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc peak resident set")
def test_a_5mb_string_is_read_in_a_few_times_its_size(tmp_path):
    # tracemalloc would make tomllib's character loop many times slower; the resident set's peak is exact here
    path = _write(tmp_path, "m.toml", BASE.replace('name = "t"', 'name = "t"\ndescription = "' + "x" * 5_000_000 + '"'))
    size = path.stat().st_size
    peak = _peak_rss_during(lambda: load_manifest(path))
    assert peak < 20 * size, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB manifest"
