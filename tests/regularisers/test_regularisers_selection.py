"""The neuron selection of Ballester et al. (arXiv:2308.04870): which neurons the regularisers see."""

from __future__ import annotations

import pytest
import torch

from models.regularisers.selection import select_neuron_indices, select_neurons


def _hand_activations():
    # fc1: mean |a| over the batch = [0.5, 3, 1, 3, 0, 2, 0.1, 0.2, 4, 0.3]
    m1 = torch.tensor([0.5, 3, 1, 3, 0, 2, 0.1, 0.2, 4, 0.3])
    fc1 = torch.stack([m1, -m1])  # (batch 2, 10): |a| is m1 on both examples
    fc2 = torch.tensor([[1.0, -5.0, 2.0], [1.0, 5.0, 2.0]])  # mean |a| = [1, 5, 2]
    out = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    return {"fc1": fc1, "fc2": fc2, "output": out}


def test_select_neuron_indices_by_hand():
    acts = _hand_activations()
    idx = select_neuron_indices(acts, 0.3)
    # floor(0.3 * 10) = 3: neurons 8 (4), then the tie 1 and 3 (3, lower index first)
    assert idx["fc1"].tolist() == [8, 1, 3]
    # floor(0.3 * 3) = 0, raised to 1: neuron 1
    assert idx["fc2"].tolist() == [1]
    assert idx["output"].tolist() == [0, 1]  # the logits whole
    X = select_neurons(acts, 0.3)
    expected = torch.cat([acts["fc1"][:, [8, 1, 3]], acts["fc2"][:, [1]], acts["output"]], 1)
    assert torch.equal(X, expected)


def test_select_all_and_rounding():
    acts = _hand_activations()
    assert torch.equal(select_neurons(acts, 1.0), torch.cat(list(acts.values()), 1))
    a = {"h": torch.rand(4, 100), "output": torch.rand(4, 3)}
    assert len(select_neuron_indices(a, 0.29)["h"]) == 29  # 0.29 * 100 = 28.999999999999996
    assert len(select_neuron_indices(a, 0.005)["h"]) == 1


def test_selection_gradient_flows_to_selected_only():
    acts = {k: v.clone().requires_grad_() for k, v in _hand_activations().items()}
    select_neurons(acts, 0.3).sum().backward()
    g1 = acts["fc1"].grad
    assert (g1[:, [8, 1, 3]] == 1).all() and g1.sum() == 6
    assert (acts["output"].grad == 1).all()


def test_selection_flattens_conv_outputs():
    acts = {"conv": torch.rand(4, 2, 3, 3), "output": torch.rand(4, 5)}
    assert select_neurons(acts, 1.0).shape == (4, 23)
    assert select_neurons(acts, 0.5).shape == (4, 9 + 5)


def test_selection_errors():
    with pytest.raises(ValueError, match="empty"):
        select_neurons({}, 1.0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        select_neurons(_hand_activations(), 0.0)
