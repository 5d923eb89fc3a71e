"""Every manifest shipped under manifests/ loads, and every run it describes builds its network."""

from __future__ import annotations

import pathlib

import pytest
import torch

from models.architectures import build_model
from models.data import get_dataset
from runner.manifest import load_manifest

MANIFESTS = sorted((pathlib.Path(__file__).parents[2] / "manifests").glob("*.toml"))


def test_there_are_manifests():
    names = {p.stem for p in MANIFESTS}
    assert {"quickstart", "ballester_decorrelation", "galanti2023_intermediate_nc"} <= names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_loads_and_every_network_builds(path):
    manifest = load_manifest(path)
    assert manifest.runs, f"{path.name} describes no runs"
    built = set()
    for run in manifest.runs:
        cfg = run.config
        info = get_dataset(cfg.dataset.name)
        key = (cfg.model.name, repr(cfg.model.params))
        if info.input_shape is None or key in built:
            continue
        built.add(key)
        net = build_model(cfg.model.name, cfg.model.params, info.input_shape, 10)
        logits = net(torch.zeros(2, *info.input_shape))
        assert logits.shape == (2, 10)
