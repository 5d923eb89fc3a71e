"""PGDL Interpex: label-wise mixup against closed forms and brute force, the measure against scikit-learn."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.metrics import davies_bouldin_score
from torch import nn

from functional.network import forward_to, resolve_layer
from measures.pgdl.interpex import InterpexParams, interpex, round_indices
from measures.pgdl.labelwise_mixup import class_groups, labelwise_mixup_accuracy, pair_mixes
from measures.registry import get_measure
from models.architectures import Block, Network, build_model


def sign_network():
    """conv1: channels relu(x), relu(-x) of a 1-channel image; output: logits (sum of channel 0, sum of channel 1).

    It predicts class 0 when the image sum is positive, class 1 when negative (ties: class 0).
    """
    conv = nn.Conv2d(1, 2, 1, bias=False)
    fc = nn.Linear(2 * 4 * 4, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        fc.weight.zero_()
        fc.weight[0, :16] = 1.0
        fc.weight[1, 16:] = 1.0
    return Network({"conv1": Block(conv, nn.ReLU()), "output": Block(fc, flatten_input=True)}).eval()


def constant_images(values):
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()


def test_pair_mixes_by_hand():
    x = torch.tensor([[0.0], [2.0], [10.0]])
    # pairs (0,1), (0,2), (1,2) with weight 0.25 on the first
    np.testing.assert_allclose(pair_mixes(x, 0.25).numpy().ravel(), [1.5, 7.5, 8.0])


def test_class_groups_sizes():
    y = np.array([0] * 25 + [1] * 7 + [2])
    groups = class_groups(y, group_size=10, groups=5, rng=np.random.default_rng(0))
    assert [len(g) for g in groups[0]] == [10, 10]  # 25 // 10 full groups
    assert [len(g) for g in groups[1]] == [7]  # fewer than group_size: one group of all
    assert 2 not in groups  # a single sample cannot be mixed
    assert set(np.concatenate(groups[0])) <= set(range(25)) and len(set(np.concatenate(groups[0]))) == 20


def test_mixup_accuracy_closed_form():
    # class 0: three images of value +3 and two of -1: the mixes of two -1 images (1 of 10 pairs) are
    # misclassified -> accuracy 9/10; class 1: four images of -2, every mix correct -> accuracy 1.
    x = constant_images([3, 3, 3, -1, -1, -2, -2, -2, -2])
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    acc = labelwise_mixup_accuracy(sign_network(), x, y, group_size=5, groups=1)
    assert acc == pytest.approx((0.9 + 1.0) / 2)


def brute_force_accuracy(model, x, y, groups, lam):
    per_class = []
    for c, members in groups.items():
        accs = []
        for g in members:
            hits = [int(model(lam * x[i:i + 1] + (1 - lam) * x[j:j + 1]).argmax()) == c
                    for i, j in itertools.combinations(g.tolist(), 2)]
            accs.append(np.mean(hits))
        per_class.append(np.mean(accs))
    return np.mean(per_class)


def test_mixup_accuracy_matches_brute_force():
    torch.manual_seed(0)
    model = build_model("mlp", {"depth": 1, "width": 8}, (5,), 3).eval()
    x = torch.randn(40, 5)
    y = np.random.default_rng(1).integers(0, 3, 40)
    groups = class_groups(y, 4, 2, np.random.default_rng(7))
    with torch.no_grad():
        want = brute_force_accuracy(model, x, y, groups, 0.3)
    got = labelwise_mixup_accuracy(model, x, y, group_size=4, groups=2, lam=0.3, rng=np.random.default_rng(7))
    assert got == pytest.approx(want, abs=1e-12)


def test_round_indices_disjoint_then_wrapping():
    idx = round_indices(50, 4, 10, np.random.default_rng(0))
    assert idx.shape == (4, 10) and len(set(idx.ravel())) == 40
    idx = round_indices(12, 3, 10, np.random.default_rng(0))  # 30 draws from 12: whole passes, then a partial one
    assert sorted(idx.ravel()[:12]) == list(range(12)) and sorted(idx.ravel()[12:24]) == list(range(12))


def test_measure_on_constructed_network():
    # conv1 features of constant images: (relu(v) x 16, relu(-v) x 16), max-pooled 2x2 -> 4 + 4 values
    values = [3, 3, 3, -1, -1, -2, -2, -2, -2]
    x, y = constant_images(values), np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    feats = np.array([[max(v, 0)] * 4 + [max(-v, 0)] * 4 for v in values], dtype=float)
    db = davies_bouldin_score(feats, y)  # reference: scikit-learn on the hand-computed features
    params = InterpexParams(pool=2, rounds=1, samples_per_round=9, mixup_group_size=5, mixup_groups=1)
    rows = {(l, s): v for l, s, v in interpex(params, model=sign_network(), inputs={"train": x},
                                               labels={"train": y}).rows}
    assert rows[("conv1", "davies_bouldin")] == pytest.approx(db)
    assert rows[("all", "labelwise_mixup_error")] == pytest.approx(0.05)
    assert rows[("all", "db_times_mixup_error")] == pytest.approx(0.05 * db)


def test_measure_pools_the_recorded_activation():
    # Reference: the network's own recorded activation of conv1, pooled with numpy, scored by scikit-learn.
    torch.manual_seed(3)
    model = build_model("conv", {"depth": 2, "width": 3}, (2, 8, 8), 3).eval()
    x = torch.randn(30, 2, 8, 8)
    y = np.arange(30) % 3
    record = {}
    with torch.no_grad():
        model(x, record=record)
    maps = record["post"]["conv1"].view(30, 3, 2, 4, 2, 4).numpy()  # (n, c, rows, 4, cols, 4)
    want = davies_bouldin_score(maps.max(axis=(3, 5)).reshape(30, -1), y)
    params = InterpexParams(rounds=2, samples_per_round=30, mixup_group_size=3, mixup_groups=1)
    got = get_measure("interpex")(params, model=model, inputs={"train": x}, labels={"train": y})
    assert got.rows[0] == ("conv1", "davies_bouldin", pytest.approx(want))
    assert got.rows == interpex(params, model=model, inputs={"train": x}, labels={"train": y}).rows  # seeded


def test_forward_to_equals_recorded_activations():
    torch.manual_seed(0)
    model = build_model("vgg", {"conv_blocks": 1, "last_filters": 4, "dense_width": 5}, (3, 8, 8), 4).eval()
    x = torch.randn(7, 3, 8, 8)
    record = {}
    with torch.no_grad():
        model(x, record=record)
    for name in ("conv1", "conv2", "fc1"):
        got = forward_to(model, x, name, batch=3).flatten(1)  # batches of 3: float sums may differ slightly
        np.testing.assert_allclose(got, record["post"][name], rtol=1e-5, atol=1e-6)
    assert resolve_layer(model, None, "first") == "conv1" and resolve_layer(model, None, "penultimate") == "fc1"
    with pytest.raises(ValueError, match="not a block"):
        resolve_layer(model, "conv9", "first")


def test_bad_inputs():
    x, y = constant_images([1, -1, 2, -2]), np.array([0, 1, 0, 1])
    model, params = sign_network(), InterpexParams(pool=2, rounds=1, samples_per_round=4, mixup_group_size=2)
    with pytest.raises(ValueError, match="needs the split 'train'"):
        interpex(params, model=model, inputs={"test": x}, labels={"train": y})
    with pytest.raises(ValueError, match="3 entries for 4 inputs"):
        interpex(params, model=model, inputs={"train": x}, labels={"train": y[:3]})
    with pytest.raises(ValueError, match="draw 0 .* between 2 and"):
        interpex(params, model=model, inputs={"train": x}, labels={"train": np.zeros(4, dtype=int)})
    with pytest.raises(ValueError):
        InterpexParams(unknown=1)
