"""The shared providers: each computed once, laid out as measures.registry.PROVIDERS documents."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from measures.providers import Providers
from models.architectures import build_model
from models.data import DatasetSpec, load_splits


@pytest.fixture(scope="module")
def setting():
    data = load_splits(DatasetSpec(name="digits"), seed=0)
    torch.manual_seed(0)
    init = build_model("mlp", {"depth": 2, "width": 16}, data.input_shape, data.n_classes)
    model = build_model("mlp", {"depth": 2, "width": 16}, data.input_shape, data.n_classes)
    model.load_state_dict(init.state_dict())
    with torch.no_grad():  # "training": move every weight by a known amount
        for p in model.parameters():
            p.add_(0.5)
    return data, init, model


def test_init_weights_are_the_network_at_initialisation(setting):
    data, init, model = setting
    p = Providers(model, data, 50, 20, seed=3, init_model=init)
    w, w0 = p.get("weights"), p.get("init_weights")
    assert list(w) == list(w0) == list(model.weight_layers())
    for name in w:
        np.testing.assert_allclose(w[name] - w0[name], 0.5, atol=1e-6)
        np.testing.assert_array_equal(w0[name], init.weight_layers()[name].weight.detach().double().numpy())


def test_inputs_and_labels_are_the_fixed_sample(setting):
    data, _, model = setting
    p = Providers(model, data, 50, 20, seed=3)
    inputs, labels, logits = p.get("inputs"), p.get("labels"), p.get("logits")
    for split, n in (("train", 50), ("test", 20)):
        assert inputs[split].shape == (n, *data.input_shape)
        idx = p.index[split]
        torch.testing.assert_close(inputs[split], data.x[split][torch.from_numpy(idx)])
        np.testing.assert_array_equal(labels[split], data.y[split][idx].numpy())
        with torch.no_grad():  # the recorded logits are the model's on these very inputs
            np.testing.assert_allclose(logits[split], model(inputs[split]).numpy(), rtol=1e-5, atol=1e-5)


def test_history_and_init_weights_say_what_is_missing(setting):
    data, _, model = setting
    p = Providers(model, data, 10, 10, seed=0)
    with pytest.raises(ValueError, match="per-epoch metrics"):
        p.get("history")
    with pytest.raises(ValueError, match="at initialisation"):
        p.get("init_weights")
    hist = {"train": {"epoch": np.arange(3.0), "loss": np.ones(3), "accuracy": np.zeros(3)}}
    assert Providers(model, data, 10, 10, seed=0, history=hist).get("history") is hist


def test_each_provider_is_computed_once(setting):
    data, _, model = setting
    p = Providers(model, data, 30, 10, seed=1)
    first = p.get("activations")
    assert p.get("activations") is first and set(p.seconds) == {"forward_pass"}
    p.get("logits"), p.get("preactivations")  # filled by the same pass: booked once
    assert set(p.seconds) == {"forward_pass"}
    p.get("labels")
    assert set(p.seconds) == {"forward_pass", "labels"}
