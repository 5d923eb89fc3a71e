"""The README's "Extending genlab" works as written.

Its fenced blocks whose first line names a path (``# measures/x.py``, ``-- reports/kinds/k/m.sql.j2``) are
written at those paths into a copy of the packages; there, in fresh interpreters, the new measure is
registered and passes the measure contract tests and the README's own test of it, the new report kind
is listed and builds on the fixture store of tests/reports/kinds_store.py into HTML and LaTeX with the
right numbers, and the README's ``[[measures]]`` and ``[[reports]]`` entries load in a manifest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "functional", "measures", "models", "reports", "runner", "templates")
COPIED = ("tests/__init__.py", "tests/measures/__init__.py", "tests/measures/conftest.py",
          "tests/measures/test_contracts.py", "tests/reports/__init__.py", "tests/reports/conftest.py",
          "tests/reports/kinds_store.py", "manifests/quickstart.toml", "pyproject.toml")
SECTION = "## Extending genlab"

#: What the section adds: the measure, its test, the report kind's two files.
EXPECTED = {"measures/participation_ratio.py", "tests/measures/test_measures_participation_ratio.py",
            "reports/kinds/measure_summary/__init__.py",
            "reports/kinds/measure_summary/measure_summary_values.sql.j2"}

CHECK = """
import json, pathlib, subprocess, sys
import duckdb
import measures, reports
from measures.registry import get_measure, list_measures
from reports.kinds import get_kind, list_kinds
from reports.render import build_report
from runner.manifest import load_manifest
from tests.reports.kinds_store import fill_kinds_store
from tests.reports.conftest import LAST_EPOCH

here = pathlib.Path.cwd()
assert pathlib.Path(measures.__file__).is_relative_to(here) and pathlib.Path(reports.__file__).is_relative_to(here)
assert "participation_ratio" in list_measures(), list_measures()
assert get_measure("participation_ratio").providers == ("activations",)
assert list_kinds()[-1] == "measure_summary", list_kinds()
listed = subprocess.run([sys.executable, "-m", "runner.cli", "report", "--list"], capture_output=True, text=True,
                        check=True).stdout
assert any(line.startswith("measure_summary ") for line in listed.splitlines()), listed

m = load_manifest("m.toml")
assert "participation_ratio" in [e.name for e in m.measures]
assert "measure_summary" in [r.kind for r in m.reports]

con = duckdb.connect()
fill_kinds_store(con, n_runs=12)
paths = build_report(con, ["measure_summary"], here / "out", manifest_text="x = 1", title="Extending")
assert sorted(p.name for p in paths) == ["measure_summary.html", "measure_summary.tex"], paths
report = get_kind("measure_summary").build(con)
[table] = [b for s in report.sections for b in s.blocks if getattr(b, "block", "") == "table"]
expected = con.execute(
    "SELECT measure, statistic, count(*), avg(value), stddev_samp(value) FROM measures JOIN runs USING (run_id) "
    "WHERE status = 'done' AND layer = 'all' AND epoch = ? AND version = 2 GROUP BY ALL ORDER BY ALL",
    [LAST_EPOCH]).fetchall()
assert len(table.rows) == len(expected) > 10, (table.rows, expected)
for got, want in zip(table.rows, expected):
    assert got[:3] == want[:3] and abs(got[3] - want[3]) < 1e-12 and abs(got[4] - want[4]) < 1e-12, (got, want)
page = (here / "out" / "measure_summary.html").read_text()
assert "(report <code>measure_summary</code>)" in page and "cdnv_last_hidden" in page
print(json.dumps({"rows": len(table.rows)}))
"""


def readme_section() -> str:
    """The README's "Extending genlab" section, up to the next second-level heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end < 0 else text[start:end]


def readme_blocks(section: str) -> tuple[dict[str, str], list[str]]:
    """Files (path -> text, the path line dropped) and TOML blocks of ``section``'s fenced code."""
    files, toml = {}, []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", section, re.MULTILINE | re.DOTALL):
        first, _, rest = body.partition("\n")
        path = re.fullmatch(r"(?:#|--) ([\w./]+\.(?:py|sql\.j2))", first.strip())
        if path:
            files[path.group(1)] = rest
        elif lang == "toml":
            toml.append(body)
    return files, toml


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "200"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def test_the_readme_extensions_work_as_written(tmp_path):
    files, toml = readme_blocks(readme_section())
    assert set(files) == EXPECTED and len(toml) == 2
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in COPIED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for name, text in files.items():
        assert not (tmp_path / name).exists(), f"{name} exists already: the README would not add it"
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "m.toml").write_text((ROOT / "manifests/quickstart.toml").read_text() + "\n" + "\n".join(toml))

    tests = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/measures/test_contracts.py",
                  "tests/measures/test_measures_participation_ratio.py", "-k", "participation_ratio"], tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\b8 passed\b", tests.stdout), tests.stdout  # 5 contract tests, 3 of the README's

    (tmp_path / "check.py").write_text(textwrap.dedent(CHECK))
    check = _run(["check.py"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
