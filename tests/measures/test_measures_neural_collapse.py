"""neural_collapse: hand-computed CDNV/NCC, sklearn's NearestCentroid, relabelling."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestCentroid

import measures.neural_collapse as nc
from measures.neural_collapse import NeuralCollapseParams, neural_collapse
from measures.registry import get_measure

P = NeuralCollapseParams()


def rows_of(result, layer):
    return {stat: value for lay, stat, value in result.rows if lay == layer}


def test_two_classes_by_hand():
    # class 0: (0,0), (2,0) -> mu0 = (1,0), Var0 = 1; class 1: (0,4), (0,6) -> mu1 = (0,5), Var1 = 1
    H_train = np.array([[0, 0], [2, 0], [0, 4], [0, 6]], dtype=np.float32)
    y_train = np.array([0, 0, 1, 1])
    # (0,3): ||.-mu0||^2 = 10, ||.-mu1||^2 = 4 -> predicts 1 (label 0, wrong); (1,1): 1 vs 17 -> 0 (right)
    H_test = np.array([[0, 3], [1, 1]], dtype=np.float32)
    y_test = np.array([0, 0])
    result = neural_collapse(P, preactivations={"train": {"fc": H_train}, "test": {"fc": H_test}},
                             labels={"train": y_train, "test": y_test})
    got = rows_of(result, "fc")
    assert got["cdnv"] == pytest.approx((1 + 1) / (2 * 26))
    assert got["ncc_accuracy_train"] == 1.0
    assert got["ncc_accuracy_test"] == 0.5
    # "fc" is the last layer and there is no "output": it is the last hidden layer
    assert rows_of(result, "all") == {f"{k}_last_hidden": v for k, v in got.items()}


def brute_force_cdnv(H, y):
    classes = sorted(set(y.tolist()))
    mu = {c: H[y == c].mean(axis=0) for c in classes}
    var = {c: np.mean([np.sum((h - mu[c]) ** 2) for h in H[y == c]]) for c in classes}
    vals = [(var[i] + var[j]) / (2 * np.sum((mu[i] - mu[j]) ** 2)) for i, j in itertools.combinations(classes, 2)]
    return float(np.mean(vals))


def test_cdnv_many_classes_and_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    y = rng.choice([2, 5, 9, 11], size=60)
    H = rng.standard_normal((60, 37)) + 3 * y[:, None] * rng.standard_normal(37)
    want = brute_force_cdnv(H.astype(np.float64), y)
    got = rows_of(neural_collapse(P, preactivations={"train": {"l": H}}, labels={"train": y}), "l")
    assert got["cdnv"] == pytest.approx(want, rel=1e-10)
    monkeypatch.setattr(nc, "BLOCK_BYTES", 60 * 8 * 5)  # column blocks of 5
    blocked = rows_of(neural_collapse(P, preactivations={"train": {"l": H}}, labels={"train": y}), "l")
    assert blocked["cdnv"] == pytest.approx(want, rel=1e-10)
    assert blocked["ncc_accuracy_train"] == got["ncc_accuracy_train"]


def test_ncc_matches_sklearn_nearest_centroid():
    rng = np.random.default_rng(1)
    k, d = 5, 12
    centres = rng.standard_normal((k, d))
    y_train, y_test = rng.integers(0, k, 200) * 3 + 1, rng.integers(0, k, 150) * 3 + 1  # labels 1, 4, ...
    H_train = centres[(y_train - 1) // 3] + 1.2 * rng.standard_normal((200, d))
    H_test = centres[(y_test - 1) // 3] + 1.2 * rng.standard_normal((150, d))
    ref = NearestCentroid().fit(H_train, y_train)
    got = rows_of(neural_collapse(P, preactivations={"train": {"l": H_train}, "test": {"l": H_test}},
                                  labels={"train": y_train, "test": y_test}), "l")
    assert got["ncc_accuracy_train"] == pytest.approx(ref.score(H_train, y_train))
    assert got["ncc_accuracy_test"] == pytest.approx(ref.score(H_test, y_test))
    assert 0.3 < got["ncc_accuracy_test"] < 1.0  # a non-trivial case


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 5), perm_seed=st.integers(0, 1000))
def test_invariant_to_class_relabelling(seed, k, perm_seed):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, 25)])
    H = rng.standard_normal((y.size, 4)) + y[:, None]
    new_ids = np.random.default_rng(perm_seed).permutation(50)[:k] - 10  # any distinct integers
    y2 = new_ids[y]
    a = neural_collapse(P, preactivations={"train": {"l": H}, "test": {"l": H[::-1]}},
                        labels={"train": y, "test": y[::-1]})
    b = neural_collapse(P, preactivations={"train": {"l": H}, "test": {"l": H[::-1]}},
                        labels={"train": y2, "test": y2[::-1]})
    ra, rb = rows_of(a, "l"), rows_of(b, "l")
    assert ra.keys() == rb.keys()
    for key in ra:
        assert ra[key] == pytest.approx(rb[key], rel=1e-12)


def test_classes_absent_from_train_count_as_test_errors():
    H_train = np.array([[0.0], [0.2], [5.0], [5.2]])
    y_train = np.array([0, 0, 1, 1])
    H_test = np.array([[0.1], [5.1], [9.0], [0.0]])
    y_test = np.array([0, 1, 2, 2])  # class 2 never seen in train
    got = rows_of(neural_collapse(P, preactivations={"train": {"l": H_train}, "test": {"l": H_test}},
                                  labels={"train": y_train, "test": y_test}), "l")
    assert got["ncc_accuracy_test"] == 0.5
    assert got["cdnv"] == pytest.approx((0.01 + 0.01) / (2 * 25.0))


def test_last_hidden_layer_and_undefined_cdnv():
    rng = np.random.default_rng(2)
    y = np.array([0, 1] * 10)
    layers = {"l1": rng.standard_normal((20, 3)), "l2": rng.standard_normal((20, 3)) + y[:, None],
              "output": np.zeros((20, 2))}  # class means coincide: CDNV undefined
    result = neural_collapse(P, preactivations={"train": layers}, labels={"train": y})
    assert "cdnv" not in rows_of(result, "output")
    assert rows_of(result, "output")["ncc_accuracy_train"] == 0.5  # ties go to the first class
    l2 = rows_of(result, "l2")
    assert rows_of(result, "all") == {"cdnv_last_hidden": l2["cdnv"],
                                      "ncc_accuracy_train_last_hidden": l2["ncc_accuracy_train"]}


def test_errors():
    H = {"train": {"l": np.zeros((4, 2))}}
    with pytest.raises(ValueError, match="at least 2 classes"):
        neural_collapse(P, preactivations=H, labels={"train": np.zeros(4, dtype=int)})
    with pytest.raises(ValueError, match="expected shape"):
        neural_collapse(P, preactivations=H, labels={"train": np.array([0, 1, 0])})
    with pytest.raises(ValueError, match="non-finite"):
        neural_collapse(P, preactivations={"train": {"l": np.full((2, 2), np.nan)}},
                        labels={"train": np.array([0, 1])})
    with pytest.raises(ValueError, match="'train' split"):
        neural_collapse(P, preactivations={"test": {}}, labels={"test": np.array([0, 1])})
    spec = get_measure("neural_collapse")
    assert spec.providers == ("preactivations", "labels") and spec.version == 1
