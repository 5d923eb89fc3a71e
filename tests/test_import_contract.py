"""The import contract of pyproject.toml ([tool.importlinter]): every import points down.

runner > models | measures | reports (siblings that never import each other) > functional > core.
The contract is checked on the source tree, and shown to fail on a planted upward import.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("core", "functional", "models", "measures", "reports", "runner")

pytest.importorskip("importlinter", reason="import-linter is a test dependency: pip install -e '.[test]'")


def _lint(root: pathlib.Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the tree at ``root`` (its pyproject.toml, its packages first on the path)."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_imports_point_down():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line, culprit", [
    ("functional/_planted.py", "import runner.store\n", "functional._planted -> runner.store"),
    ("measures/_planted.py", "import reports.sql\n", "measures._planted -> reports.sql"),
    ("core/_planted.py", "import functional.collapse\n", "core._planted -> functional.collapse"),
])
def test_a_planted_upward_or_sideways_import_breaks_the_contract(tmp_path, module, line, culprit):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(line)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "1 broken" in result.stdout and culprit in result.stdout, result.stdout
