"""One contract for every registered measure (a new measure is tested the day it is added).

Each measure runs on a small trained-like MLP and a real activation sample of
scikit-learn's digits; it must return only the statistics it declares
(:class:`core.catalog.Statistic`), emit every exact-named member of its report
families, be invariant to relabelling hidden units where it says so, and carry
a docstring with shapes, units, Raises and References.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from core.catalog import undeclared
from measures.providers import Providers
from measures.registry import get_measure, list_measures
from models.architectures import build_model
from models.data import DatasetSpec, load_splits

#: Smaller-than-default parameters for measures whose defaults need the papers' sample sizes.
SMALL = {
    "activation_persistence": {"neurons": 24, "samples": 400, "bootstraps": 2, "resamples": 20},
    "functional_graph": {"samples": 600, "max_distance": 0.8},
}
N_EPOCHS = 6


def _network(data, shift: float = 0.05):
    torch.manual_seed(0)
    init = build_model("mlp", {"depth": 2, "width": 12}, data.input_shape, data.n_classes)
    model = build_model("mlp", {"depth": 2, "width": 12}, data.input_shape, data.n_classes)
    model.load_state_dict(init.state_dict())
    with torch.no_grad():  # a "trained" network: every weight moved away from its initialisation
        for p in model.parameters():
            p.add_(shift * torch.randn_like(p))
    return init, model


def _permuted(model, layer: str = "fc1", seed: int = 1):
    """The same function with the hidden units of ``layer`` relabelled (rows of ``layer``, columns of the next)."""
    other = build_model("mlp", {"depth": 2, "width": 12}, (1, 8, 8), 10)
    other.load_state_dict(model.state_dict())
    names = list(other.blocks)
    nxt = other.blocks[names[names.index(layer) + 1]].layer
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(other.blocks[layer].layer.out_features))
    with torch.no_grad():
        lin = other.blocks[layer].layer
        lin.weight.copy_(lin.weight[perm])
        lin.bias.copy_(lin.bias[perm])
        nxt.weight.copy_(nxt.weight[:, perm])
    return other


def _history():
    return {s: {"epoch": np.arange(N_EPOCHS + 1, dtype=float), "loss": np.geomspace(2.3, 0.004, N_EPOCHS + 1),
                "accuracy": np.linspace(0.1, 1.0, N_EPOCHS + 1)} for s in ("train", "val", "test")}


@pytest.fixture(scope="module")
def setting(one_thread):
    data = load_splits(DatasetSpec(name="digits"), seed=0)
    init, model = _network(data)
    return data, init, model


def _compute(name, model, init, data):
    spec = get_measure(name)
    providers = Providers(model, data, 600, 200, seed=0, init_model=init, history=_history())
    params = spec.params(**SMALL.get(name, {}))
    return spec(params, **{k: providers.get(k) for k in spec.providers})


@pytest.fixture(scope="module")
def results(setting):
    data, init, model = setting
    return {}


def _result(results, setting, name):
    if name not in results:
        data, init, model = setting
        results[name] = _compute(name, model, init, data)
    return results[name]


@pytest.mark.parametrize("name", list_measures())
def test_returns_only_declared_statistics(name, setting, results):
    result = _result(results, setting, name)
    spec = get_measure(name)
    layers = set(setting[2].weight_layers()) | set(setting[2].blocks) | {"all"}
    assert result.rows, f"{name} returned no rows"
    assert undeclared(spec.statistics, [(layer, stat) for layer, stat, _ in result.rows]) == []
    assert {layer for layer, _, _ in result.rows} <= layers
    assert all(isinstance(v, float) for _, _, v in result.rows)
    keys = [(layer, stat) for layer, stat, _ in result.rows]
    assert len(keys) == len(set(keys)), "a (layer, statistic) row is written twice"


@pytest.mark.parametrize("name", list_measures())
def test_family_members_are_emitted(name, setting, results):
    members = {s.name for s in get_measure(name).statistics if s.families}
    emitted = {stat for layer, stat, _ in _result(results, setting, name).rows if layer == "all"}
    assert members <= emitted, f"{name} declares family members it does not write: {sorted(members - emitted)}"


@pytest.mark.parametrize("name", [n for n in list_measures() if get_measure(n).permutation_invariant])
def test_invariant_to_relabelled_hidden_units(name, setting, results):
    data, init, model = setting
    before = {(layer, stat): v for layer, stat, v in _result(results, setting, name).rows}
    after = {(layer, stat): v for layer, stat, v in _compute(name, _permuted(model), _permuted(init), data).rows}
    assert before.keys() == after.keys()
    keys = sorted(before)
    np.testing.assert_allclose([after[k] for k in keys], [before[k] for k in keys], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", list_measures())
def test_docstring_names_shapes_units_errors_and_paper(name):
    spec = get_measure(name)
    doc = spec.fn.__doc__ or ""
    for section in ("Parameters", "Returns", "Raises", "References"):
        assert re.search(rf"^\s*{section}\n\s*-+\n", doc, re.M), f"{name}: no numpydoc '{section}' section"
    assert "of shape" in doc, f"{name}: the docstring names no input shape ('X : ndarray of shape (...)')"
    assert re.search(r"\bunits?\b|dimensionless", doc), f"{name}: the docstring says nothing of units"
    assert spec.paper and spec.version >= 1 and spec.summary


@pytest.mark.parametrize("name", list_measures())
def test_declarations_are_well_formed(name):
    spec = get_measure(name)
    assert spec.statistics, f"{name} declares no statistics"
    for s in spec.statistics:
        assert s.higher_is_better in (True, False, None)
    spec.params()  # every parameter has a default: a manifest may name the measure alone
