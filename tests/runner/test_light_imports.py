"""Reading a manifest, planning, listing and querying import no deep-learning or statistics library.

``runner plan``, ``runner list``, ``runner sql`` and :func:`runner.manifest.load_manifest`
need the plugins' names and parameter models only; torch, gudhi, scikit-learn,
torchvision, scipy.stats, statsmodels and matplotlib are imported when a worker
trains or measures, or a report is built. Each check runs in a fresh
interpreter, so that nothing imported by other tests hides an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "manifests").glob("*.toml"))
HEAVY = ("torch", "gudhi", "sklearn", "torchvision", "scipy.stats", "statsmodels", "matplotlib")

_PRELUDE = f"""
import json, sys
HEAVY = {HEAVY!r}

def heavy():
    return sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
"""


def _run(code: str, cwd: Path) -> dict:
    """Run ``code`` in a fresh interpreter (the project on its path); return the JSON it prints last."""
    script = _PRELUDE + textwrap.dedent(code)
    env_path = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cli(args: list[str], cwd: Path) -> dict:
    return _run(f"""
        from runner.cli import main
        try:
            main({args!r}, standalone_mode=False)
        finally:
            sys.stdout.flush()
        print()
        print(json.dumps({{"heavy": heavy()}}))
    """, cwd)


@pytest.mark.parametrize("args", [
    ["plan", str(ROOT / "manifests" / "quickstart.toml")],
    ["list", "measures"],
    ["list", "models"],
    ["list", "regularisers"],
    ["list", "datasets"],
], ids=" ".join)
def test_cli_imports_no_heavy_library(args, tmp_path):
    assert _cli(args, tmp_path)["heavy"] == []


def test_sql_imports_no_heavy_library(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text('[experiment]\nname = "light"\nstore = "store"\n\n[dataset]\nname = "digits"\n\n'
                        '[model]\nname = "mlp"\n\n[[measures]]\nname = "weight_spectrum"\n')
    _run("""
        from runner.store import Store
        Store("store").connect().close()
        print(json.dumps({}))
    """, tmp_path)
    assert _cli(["sql", str(manifest), "SELECT 1 AS one"], tmp_path)["heavy"] == []


def test_load_every_shipped_manifest_imports_no_heavy_library(tmp_path):
    out = _run(f"""
        from runner.manifest import load_manifest
        runs = {{}}
        for path in {[str(p) for p in MANIFESTS]!r}:
            runs[path] = len(load_manifest(path).runs)
        print(json.dumps({{"heavy": heavy(), "runs": runs}}))
    """, tmp_path)
    assert len(out["runs"]) == len(MANIFESTS)
    assert out["heavy"] == []


def test_plugins_still_build_and_are_the_same_classes():
    """The lazy re-exports give the real classes (the ones the builders use)."""
    from models import _network
    from models.architectures import Block, Network, build_model
    from models.training import TrainingSpec, train
    from models.training.loop import train as loop_train
    from models.training.spec import TrainingSpec as SpecTrainingSpec

    assert (Block, Network) == (_network.Block, _network.Network)
    assert (TrainingSpec, train) == (SpecTrainingSpec, loop_train)
    assert isinstance(build_model("mlp", {"depth": 1, "width": 4}, (1, 8, 8), 10), Network)
