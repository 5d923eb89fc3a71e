"""Every manifest shipped under manifests/ loads, and every run it describes builds its network."""

from __future__ import annotations

import pathlib

import pytest
import torch

from models.architectures import build_model, get_model
from models.data import get_dataset
from runner.manifest import load_manifest

MANIFESTS = sorted((pathlib.Path(__file__).parents[2] / "manifests").glob("*.toml"))


def test_there_are_manifests():
    names = {p.stem for p in MANIFESTS}
    assert {"quickstart", "ballester_decorrelation", "galanti2023_intermediate_nc", "pgdl_task1", "pgdl_task2"} <= names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_loads_and_every_network_builds(path):
    manifest = load_manifest(path)
    assert manifest.runs, f"{path.name} describes no runs"
    built = set()
    for run in manifest.runs:
        cfg = run.config
        info = get_dataset(cfg.dataset.name)
        key = (cfg.model.name, repr(cfg.model.params))
        if info.input_shape is None or key in built or get_model(cfg.model.name).imported is not None:
            continue  # an imported network is built from its files (tests/runner/test_pgdl_runs.py)
        built.add(key)
        net = build_model(cfg.model.name, cfg.model.params, info.input_shape, 10)
        logits = net(torch.zeros(2, *info.input_shape))
        assert logits.shape == (2, 10)


def test_the_readme_manifest_loads_with_its_commented_options(tmp_path):
    import re

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"## A manifest, section by section\n\n```toml\n(.*?)```", readme, re.DOTALL).group(1)
    (tmp_path / "m.toml").write_text(block)
    assert len(load_manifest(tmp_path / "m.toml").runs) == 3 * 2 * 2 * 3  # depth x width x noise x seeds
    # every commented "# key = value" option of [training] is a real key with a valid value
    training = block[block.index("[training]"):block.index("[regulariser]")]
    options = re.findall(r"^# ([a-z_]+ = [^#\n]+?)[ \t]*(?:#.*)?$", training, re.MULTILINE)
    assert len(options) == 6
    (tmp_path / "all.toml").write_text(block.replace("[training]\n", "[training]\n" + "\n".join(options) + "\n"))
    spec = load_manifest(tmp_path / "all.toml").runs[0].config.training
    assert spec.early_stopping_patience == 10 and spec.amp and spec.grad_clip == 1.0
