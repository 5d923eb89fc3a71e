"""Contracts every registered architecture, data set and regulariser keeps.

Parametrized over the registries themselves, so a plugin is tested the day it
is registered, with no list to update here.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch import nn

from core.errors import UnknownNameError
from models.architectures import ARCHITECTURES, ModelParams, build_model, get_model
from models.data import DATASETS, DatasetSpec, RawDataset, get_dataset
from models.regularisers import REGULARISERS, RegulariserParams, get_regulariser

#: One input shape per number of dimensions an architecture may accept.
SHAPES = {1: (20,), 2: (2, 24), 3: (3, 16, 16)}
N_CLASSES, BATCH = 7, 3


def _accepted(name: str) -> list[tuple[int, ...]]:
    ndims = get_model(name).input_ndims
    return [s for n, s in SHAPES.items() if ndims is None or n in ndims]


#: Imported architectures are built from the PGDL fixture files: (params, their input shape, their classes).
IMPORTED = {"pgdl": ({"task": "task1_v4", "id": 0}, (3, 32, 32), 10)}


def _shapes(name: str) -> list[tuple[int, ...]]:
    return [IMPORTED[name][1]] if get_model(name).imported is not None else _accepted(name)


ARCH_SHAPES = [pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
               for name in ARCHITECTURES for shape in _shapes(name)]


def _build(name: str, shape: tuple[int, ...], request):
    """``name`` with default params, or an imported network from its fixture files; and its classes."""
    if get_model(name).imported is None:
        return build_model(name, get_model(name).params(), shape, N_CLASSES), N_CLASSES
    params, _, n_classes = IMPORTED[name]
    root = str(request.getfixturevalue("pgdl_root"))
    return build_model(name, {**params, "root": root}, shape, n_classes), n_classes


# ---------------------------------------------------------------- architectures


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_architecture_is_documented_and_its_params_have_defaults(name):
    arch = get_model(name)
    assert arch.name == name
    assert arch.paper.strip(), f"{name}: register_model(paper=...) is empty"
    assert (arch.build.__doc__ or "").strip(), f"{name}: the build function has no docstring"
    assert issubclass(arch.params, ModelParams)
    arch.params()  # every parameter has a default
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        arch.params(no_such_parameter=1)
    assert _accepted(name), f"{name}: input_ndims {arch.input_ndims} accepts none of {sorted(SHAPES)}"


@pytest.mark.parametrize("name, shape", ARCH_SHAPES)
def test_architecture_builds_and_records_every_block(name, shape, request):
    torch.manual_seed(0)
    model, n_classes = _build(name, shape, request)
    model.eval()
    record: dict = {}
    with torch.no_grad():
        logits = model(torch.randn(BATCH, *shape), record=record)
    assert logits.shape == (BATCH, n_classes) and torch.isfinite(logits).all()
    blocks = list(model.blocks)
    assert blocks[-1] == "output"
    for kind in ("pre", "post"):
        assert list(record[kind]) == blocks
        assert all(a.ndim == 2 and a.shape[0] == BATCH for a in record[kind].values())
    assert torch.equal(record["post"]["output"], logits)
    layers = model.weight_layers()
    assert layers and list(layers)[0] == blocks[0]
    assert all(isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)) for m in layers.values())


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_architecture_refuses_the_shapes_it_does_not_accept(name):
    if get_model(name).imported is not None:
        pytest.skip(f"{name} is imported: its files fix its input shape")
    refused = [s for s in SHAPES.values() if s not in _accepted(name)]
    for shape in refused:
        with pytest.raises(ValueError, match=f"model {name!r} takes inputs of shape"):
            build_model(name, {}, shape, N_CLASSES)


# ---------------------------------------------------------------- data sets


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_declares_its_shape_and_files(name):
    info = get_dataset(name)
    assert info.name == name
    assert (info.load.__doc__ or "").strip(), f"{name}: the loader has no docstring"
    shape = info.input_shape
    assert isinstance(shape, tuple) and len(shape) in (2, 3) and all(isinstance(d, int) and d > 0 for d in shape)
    if info.needs_root:
        assert info.layout.strip(), f"{name}: needs_root without a layout to name in messages"


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_loads_with_consistent_shapes_and_labels(name, request):
    info = get_dataset(name)
    root = {}
    if info.needs_task:  # the PGDL fixture: one task of the competition's layout
        root = {"root": str(request.getfixturevalue("pgdl_root")), "task": "task1_v4"}
    elif info.needs_root:
        root = {"root": str(request.getfixturevalue("vision_root"))}
    raw = info.load(DatasetSpec(name=name, **root))
    assert isinstance(raw, RawDataset)
    n = len(raw.x)
    assert n > 0 and raw.x.shape[1:] == info.input_shape and raw.x.dtype == np.float32
    assert np.isfinite(raw.x).all()
    assert raw.y.shape == (n,) and raw.y.dtype == np.int64
    assert raw.y.min() >= 0 and raw.y.max() < raw.n_classes
    assert (raw.test_mask is not None) == info.official_test
    if raw.test_mask is not None:
        assert raw.test_mask.shape == (n,) and raw.test_mask.dtype == bool
        assert 0 < raw.test_mask.sum() < n


# ---------------------------------------------------------------- regularisers


def _activations() -> dict[str, torch.Tensor]:
    """Post-activations of a small network, float32 as the training loop passes them."""
    g = torch.Generator().manual_seed(0)
    widths = {"fc1": 6, "fc2": 5, "output": N_CLASSES}
    return {k: torch.randn(16, w, generator=g).requires_grad_() for k, w in widths.items()}


@pytest.mark.parametrize("name", list(REGULARISERS))
def test_regulariser_is_documented_versioned_and_has_default_params(name):
    reg = get_regulariser(name)
    assert reg.name == name
    assert type(reg.version) is int and reg.version >= 1
    assert reg.paper.strip(), f"{name}: register_regulariser(paper=...) is empty"
    assert (reg.fn.__doc__ or "").strip(), f"{name}: the penalty function has no docstring"
    assert issubclass(reg.params, RegulariserParams)
    reg.params()  # every parameter has a default
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        reg.params(no_such_parameter=1)


@pytest.mark.parametrize("name", list(REGULARISERS))
def test_regulariser_penalty_is_a_finite_scalar_with_a_gradient(name):
    reg = get_regulariser(name)
    acts = _activations()
    value = reg.fn(reg.params(), acts)
    assert isinstance(value, torch.Tensor) and value.shape == () and math.isfinite(value.item())
    if not reg.needs_activations:  # the loop never calls it (e.g. "none")
        return
    assert value.requires_grad, f"{name}: the penalty does not depend on the activations"
    value.backward()
    grads = [a.grad for a in acts.values() if a.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


# ---------------------------------------------------------------- unknown names


@pytest.mark.parametrize("lookup, wrong, message", [
    (get_model, "mlpp", r"unknown model 'mlpp'; did you mean 'mlp'\? \(known: .*resnet"),
    (get_dataset, "digit", r"unknown data set 'digit'; did you mean 'digits'\? \(known: .*mnist1d"),
    (get_regulariser, "decorelation", r"unknown regulariser 'decorelation'; did you mean 'decorrelation'\?"),
    (get_regulariser, "topological_t3", r"did you mean 'topological_t1' or 'topological_t2'\?"),
])
def test_unknown_names_suggest_the_closest(lookup, wrong, message):
    with pytest.raises(UnknownNameError, match=message) as info:
        lookup(wrong)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_unknown_architecture_in_build_model():
    with pytest.raises(UnknownNameError, match=r"unknown model 'resnt'; did you mean 'resnet'\?"):
        build_model("resnt", {}, (3, 16, 16), N_CLASSES)


def test_no_suggestion_when_nothing_is_close():
    with pytest.raises(UnknownNameError, match=r"^unknown model 'zzzz' \(known: "):
        get_model("zzzz")


# ---------------------------------------------------------------- discovery


def test_importing_models_imports_nothing_else():
    """The registries find their plugins themselves; ``import models`` has no side effects."""
    code = "import sys, models; print(sorted(m for m in sys.modules if m.startswith(('models.', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
