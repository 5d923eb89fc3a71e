"""Jiang et al. 2020 baselines through the registry and the shared providers, on the zoo's NiN with batch norm."""

import math

import numpy as np
import pytest
import torch

from functional.batchnorm_folding import fold_batch_norm
from measures.providers import Providers
from measures.registry import get_measure
from models.architectures import build_model, get_model, list_models
from models.data import DatasetSpec, load_splits

BASELINES = {"output_margin": {}, "norm_measures": {}, "path_norm_measures": {},
             "pac_bayes": {"draws": 2, "search_depth": 4}, "pac_bayes_magnitude": {"draws": 2, "search_depth": 4},
             "steps_to_loss": {}}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def providers(one_thread):
    data = load_splits(DatasetSpec(name="digits"), seed=0)
    torch.manual_seed(0)
    init = build_model("nin", {"conv_layers": 6, "width": 8}, data.input_shape, data.n_classes)
    model = build_model("nin", {"conv_layers": 6, "width": 8}, data.input_shape, data.n_classes)
    model.load_state_dict(init.state_dict())
    with torch.no_grad():  # "training": move the weights, give batch norms non-trivial statistics
        for name, p in model.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
    history = {"train": {"epoch": np.arange(4.0), "loss": np.array([2.3, 0.3, 0.08, 0.009]),
                         "accuracy": np.zeros(4)}}
    return Providers(model, data, 120, 40, seed=0, init_model=init, history=history)


def test_folding_keeps_the_nin_function(providers):
    x = providers.get("inputs")["train"]
    folded, eps = fold_batch_norm(providers.model)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), providers.model(x), rtol=1e-4, atol=1e-4)
    assert set(eps) == set(providers.model.weight_layers()) - {"output"}  # every conv but the classifier has BN


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_runs_on_the_providers(providers, name):
    spec = get_measure(name)
    result = providers.compute(spec, spec.params(**BASELINES[name]))
    assert result.rows and all(layer == "all" for layer, _, _ in result.rows)
    values = {stat: value for _, stat, value in result.rows}
    assert all(math.isfinite(v) for v in values.values())
    assert spec.paper.startswith("Jiang et al. ICLR 2020") and "Jiang et al. 2020" in spec.summary


def test_norms_agree_with_the_folded_weights(providers):
    spec = get_measure("norm_measures")
    values = {s: v for _, s, v in providers.compute(spec, spec.params()).rows}
    folded, _ = fold_batch_norm(providers.model)
    # independent reference: numpy norms of the folded kernels reshaped to (out, in * kh * kw)
    mats = [m.weight.detach().double().numpy().reshape(m.weight.shape[0], -1) for m in folded.weight_layers().values()]
    assert values["param_norm"] == pytest.approx(sum(float((w**2).sum()) for w in mats), rel=1e-9)
    assert values["log_prod_of_spec"] == pytest.approx(sum(2 * math.log(np.linalg.norm(w, 2)) for w in mats), rel=1e-9)
    assert values["num_params"] == sum(p.numel() for p in providers.model.parameters())


@pytest.mark.parametrize("arch", list_models())
def test_folding_keeps_every_architectures_function(arch):
    """Every registered architecture, its batch norms given non-trivial statistics: the folded copy agrees."""
    if get_model(arch).imported is not None:
        pytest.skip(f"{arch} is imported: it is built from its files (tests/models/test_pgdl.py)")
    ndims = get_model(arch).input_ndims
    shape = (1, 8, 8) if ndims is None or 3 in ndims else (1, 16)
    torch.manual_seed(0)
    model = build_model(arch, {}, shape, 10)
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
    model.eval()
    x = torch.randn(5, *shape)
    folded, _ = fold_batch_norm(model)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-5)
