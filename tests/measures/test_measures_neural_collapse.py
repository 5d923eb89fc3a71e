"""neural_collapse: hand-computed CDNV/NCC/NC1, sklearn's NearestCentroid, effective depth, errors."""

import itertools

import numpy as np
import pydantic
import pytest
from sklearn.neighbors import NearestCentroid

import functional.collapse as cm
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
    # NC1 by hand: mu_G = (0.5, 2.5), Sigma_B = v v^T with v = (0.5, -2.5), ||v||^2 = 6.5;
    # residuals (+-1, 0), (0, +-1): Sigma_W = I / 2; Tr(Sigma_W v v^T / ||v||^4) / C = (0.5 / 6.5) / 2 = 1/26
    assert got["nc1"] == pytest.approx(1 / 26, rel=1e-12)
    # "fc" is the last layer and there is no "output": it is the last hidden layer, NCC-separable at depth 1
    assert rows_of(result, "all") == {**{f"{k}_last_hidden": v for k, v in got.items()}, "effective_depth": 1}


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
    monkeypatch.setattr(cm, "BLOCK_BYTES", 60 * 8 * 5)  # column blocks of 5
    blocked = rows_of(neural_collapse(P, preactivations={"train": {"l": H}}, labels={"train": y}), "l")
    assert blocked["cdnv"] == pytest.approx(want, rel=1e-10)
    assert blocked["nc1"] == pytest.approx(got["nc1"], rel=1e-10)
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
    layers = {"l1": rng.standard_normal((20, 3)), "l2": rng.standard_normal((20, 3)) + 10 * y[:, None],
              "output": np.zeros((20, 2))}  # class means coincide: CDNV and NC1 undefined
    result = neural_collapse(P, preactivations={"train": layers}, labels={"train": y})
    assert rows_of(result, "output") == {"ncc_accuracy_train": 0.5}  # ties go to the first class
    l2 = rows_of(result, "l2")
    assert l2["ncc_accuracy_train"] == 1.0
    assert rows_of(result, "all") == {"cdnv_last_hidden": l2["cdnv"], "nc1_last_hidden": l2["nc1"],
                                      "ncc_accuracy_train_last_hidden": 1.0, "effective_depth": 2}


def layered(errors_per_layer, n=100, seed=3):
    """Two-class embeddings whose NCC train errors per layer are exactly ``errors_per_layer``.

    Class 0 sits near -1, class 1 near +1 on one axis; the first ``e`` samples of
    class 0 are moved to +3. Class 0's centre, -1 + 4e / (n/2), stays below class 1's
    (+1) for e < n / 4, so exactly the moved samples are nearer class 1's centre.
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    layers = {}
    for i, e in enumerate(errors_per_layer):
        h = np.where(y == 0, -1.0, 1.0) + 0.01 * rng.standard_normal(n)
        h[:e] = 3.0
        layers[f"fc{i + 1}"] = np.column_stack([h, rng.standard_normal(n)])
    layers["output"] = rng.standard_normal((n, 2))  # never a candidate: the classifier is not one of the L layers
    return layers, y


@pytest.mark.parametrize("epsilon, want", [(0.0, 4), (0.01, 3), (0.02, 2), (0.2, 1)])
def test_effective_depth_is_the_first_layer_within_epsilon(epsilon, want):
    # NCC train errors 20, 2, 1, 0 of 100: error rates 0.2, 0.02, 0.01, 0 (reached on the boundary, as
    # d^eps_S(f) = min{i : err_S(NCC of layer i) <= eps} of Galanti et al. 2023 needs)
    layers, y = layered([20, 2, 1, 0])
    result = neural_collapse(NeuralCollapseParams(effective_depth_epsilon=epsilon),
                             preactivations={"train": layers}, labels={"train": y})
    assert [rows_of(result, f"fc{i}")["ncc_accuracy_train"] for i in range(1, 5)] == [0.8, 0.98, 0.99, 1.0]
    assert rows_of(result, "all")["effective_depth"] == want


def test_effective_depth_is_left_out_when_no_layer_separates():
    layers, y = layered([20, 5])
    result = neural_collapse(P, preactivations={"train": layers}, labels={"train": y})
    assert "effective_depth" not in rows_of(result, "all")
    assert rows_of(result, "all")["ncc_accuracy_train_last_hidden"] == 0.95


def test_nc1_global_mean_variants_differ_only_for_imbalanced_classes():
    rng = np.random.default_rng(4)
    H = rng.standard_normal((30, 5))
    balanced, imbalanced = np.repeat([0, 1, 2], 10), np.repeat([0, 1, 2], [4, 10, 16])
    for y, same in ((balanced, True), (imbalanced, False)):
        H_y = H + 2 * y[:, None] * rng.standard_normal(5)
        a, b = (rows_of(neural_collapse(NeuralCollapseParams(nc1_global_mean=g), preactivations={"train": {"l": H_y}},
                                        labels={"train": y}), "l")["nc1"] for g in ("samples", "class_means"))
        assert (a == pytest.approx(b, rel=1e-10)) is same


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
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 1"):
        NeuralCollapseParams(effective_depth_epsilon=1.5)
    with pytest.raises(pydantic.ValidationError, match="nc1_global_mean"):
        NeuralCollapseParams(nc1_global_mean="median")
    spec = get_measure("neural_collapse")
    assert spec.providers == ("preactivations", "labels") and spec.version == 3
