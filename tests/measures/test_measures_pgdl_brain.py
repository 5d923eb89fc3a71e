"""PGDL BrAIn: latent geometry graphs against scikit-learn's NearestNeighbors and hand-computed graphs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from measures.pgdl.brain import BrainParams, brain, mixup
from measures.pgdl.latent_graph import knn_adjacency, label_variation, similarity_matrix
from measures.registry import get_measure
from models.architectures import build_model


def unit_rows(H):
    return H / np.linalg.norm(H, axis=1, keepdims=True)


def sklearn_knn(H, k):
    """Reference: k nearest others of each L2-normalised row by Euclidean distance (scikit-learn)."""
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(unit_rows(H)).kneighbors(unit_rows(H))
    A = np.zeros((len(H), len(H)))
    for i, row in enumerate(idx):
        A[i, [j for j in row if j != i][:k]] = 1.0
    return A


@pytest.mark.parametrize("kind", ["rbf", "cosine"])
@pytest.mark.parametrize("k", [1, 3])
def test_knn_graph_matches_scikit_learn(kind, k):
    # On unit vectors, both similarities decrease with Euclidean distance: same neighbours.
    H = np.random.default_rng(k).standard_normal((40, 6)) + 0.5
    np.testing.assert_array_equal(knn_adjacency(similarity_matrix(H, kind), k), sklearn_knn(H, k))


def test_rbf_similarity_by_hand():
    # unit rows e1, e2, e1: squared distances [[0,2,0],[2,0,2],[0,2,0]]; mean 8/9, E[D^2] = 16/9,
    # population std sqrt(80)/9 -> gamma = 1 / (3 std) = 3 / sqrt(80)
    W = similarity_matrix(np.array([[2.0, 0.0], [0.0, 5.0], [1.0, 0.0]]), "rbf")
    off = np.exp(-2 * 3 / np.sqrt(80))
    np.testing.assert_allclose(W, [[1, off, 1], [off, 1, off], [1, off, 1]])


def line_graph():
    # unit vectors at 0, 10, 30 and 100 degrees, labels 0, 0, 1, 1: nearest neighbours 0->1, 1->0, 2->1, 3->2
    angles = np.deg2rad([0, 10, 30, 100])
    H = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return H, np.eye(2)[[0, 0, 1, 1]]


def test_label_variation_small_graph_by_hand():
    H, Y = line_graph()
    W = similarity_matrix(H, "rbf")
    A = knn_adjacency(W, 1)
    np.testing.assert_array_equal(A, [[0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    # directed, degree 1: L = I - A, tr(Y^T L Y) = number of vertices whose neighbour has another label = 1 (vertex 2)
    assert label_variation(A, Y) == pytest.approx(1.0)
    # symmetrised: edges 0-1, 1-2, 2-3, degrees 1, 2, 2, 1; same-label edges 0-1 and 2-3 each give 2 / sqrt(1 * 2)
    S = knn_adjacency(W, 1, symmetrize=True)
    assert label_variation(S, Y) == pytest.approx(4 - 4 / np.sqrt(2))
    # combinatorial, symmetric: (1/2) sum_ij A_ij ||y_i - y_j||^2 = the edge 1-2 counted twice, halved: 2
    assert label_variation(S, Y, "combinatorial") == pytest.approx(2.0)
    # weighted edges: the weights are the similarities
    np.testing.assert_allclose(knn_adjacency(W, 1, weighted=True), A * W)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_one_nn_variation_counts_disagreeing_neighbours(seed):
    # Closed form: directed 1-NN graph, normalised Laplacian, one-hot labels -> #{i : y_nn(i) != y_i}.
    rng = np.random.default_rng(seed)
    H, y = rng.standard_normal((25, 4)), rng.integers(0, 3, 25)
    A = knn_adjacency(similarity_matrix(H), 1)
    nn_idx = sklearn_knn(H, 1).argmax(axis=1)
    assert label_variation(A, np.eye(3)[y]) == pytest.approx(np.sum(y[nn_idx] != y))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), symmetrize=st.booleans(),
       laplacian=st.sampled_from(["normalized", "combinatorial"]))
def test_invariant_to_class_relabelling_and_neuron_permutation(seed, symmetrize, laplacian):
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((20, 5))
    lam = rng.uniform(0, 1, (20, 1))
    Y = lam * np.eye(4)[rng.integers(0, 4, 20)] + (1 - lam) * np.eye(4)[rng.integers(0, 4, 20)]

    def variation(H_, Y_):
        return label_variation(knn_adjacency(similarity_matrix(H_), 2, symmetrize=symmetrize), Y_, laplacian)

    base = variation(H, Y)
    assert variation(H, Y[:, rng.permutation(4)]) == pytest.approx(base, rel=1e-10, abs=1e-12)
    assert variation(H[:, rng.permutation(5)], Y) == pytest.approx(base, rel=1e-10, abs=1e-12)


def test_mixup_mixes_inputs_and_labels_alike():
    Y = np.eye(3)[[0, 1, 2, 0, 1]]
    x = torch.tensor(Y, dtype=torch.float32)  # inputs equal to the labels: the mixes must stay equal
    x_mix, Y_mix = mixup(x, Y, 2.0, np.random.default_rng(0))
    np.testing.assert_allclose(x_mix.numpy(), Y_mix, rtol=1e-6)
    np.testing.assert_allclose(Y_mix.sum(axis=1), 1.0)
    assert not np.allclose(Y_mix, Y)
    x_same, Y_same = mixup(x, Y, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(Y_same, Y)
    torch.testing.assert_close(x_same, x)


def test_measure_without_mixup_on_a_known_network():
    # Reference: the hidden layer relu(W x + b) computed by hand, its nearest neighbours from scikit-learn.
    torch.manual_seed(0)
    model = build_model("mlp", {"depth": 1, "width": 6}, (4,), 3).eval()
    with torch.no_grad():
        model.blocks["fc1"].layer.bias += 2.0  # no all-zero hidden vector (no ties at distance 0)
    x = torch.randn(60, 4)
    y = np.repeat(np.arange(3), 20)
    W, b = model.blocks["fc1"].layer.weight.detach().numpy(), model.blocks["fc1"].layer.bias.detach().numpy()
    H = np.maximum(x.numpy() @ W.T + b, 0)
    disagreements = np.sum(y[sklearn_knn(H, 1).argmax(axis=1)] != y)
    result = brain(BrainParams(mixup_alpha=0.0), model=model, inputs={"train": x}, labels={"train": y})
    assert result.rows == [("all", "label_variation", pytest.approx(disagreements / (4 * 60)))]


def test_measure_with_mixup_is_seeded_and_takes_the_median():
    torch.manual_seed(1)
    model = build_model("mlp", {"depth": 2, "width": 5}, (4,), 2).eval()
    x, y = torch.randn(40, 4), np.arange(40) % 2
    spec = get_measure("brain")
    one = [spec(BrainParams(seed=s), model=model, inputs={"train": x}, labels={"train": y}).rows[0][2]
           for s in range(3)]
    assert len(set(one)) > 1  # different mixes, different graphs
    three = spec(BrainParams(graphs=3, seed=0), model=model, inputs={"train": x}, labels={"train": y}).rows
    assert three == spec(BrainParams(graphs=3, seed=0), model=model, inputs={"train": x}, labels={"train": y}).rows
    fc2 = spec(BrainParams(graphs=3, seed=0, layer="fc2"), model=model, inputs={"train": x}, labels={"train": y}).rows
    assert three[0][0] == "all" and three == fc2  # the default layer is the penultimate block


def test_absent_classes_are_skipped():
    # one class present: every label row is the same one-hot vector; with L = D - A no edge varies: 0 (no mixup)
    torch.manual_seed(0)
    model = build_model("mlp", {"depth": 1, "width": 4}, (3,), 3).eval()
    rows = brain(BrainParams(mixup_alpha=0.0, laplacian="combinatorial"), model=model,
                 inputs={"train": torch.randn(8, 3)}, labels={"train": np.zeros(8, dtype=np.int64)}).rows
    assert rows == [("all", "label_variation", 0.0)]


def test_directed_normalized_variation_can_be_negative_and_the_measure_clips(monkeypatch):
    # vertex 0 (out-degree 3) -> 1, 2, 3; vertices 1, 2, 3 -> 4; 4 -> 1 (out-degree 1): for a constant signal,
    # tr(L) = 5 - (3 / sqrt(3) + 1 + 1 + 1 + 1) = 1 - sqrt(3) < 0, which the submission clips to 0
    A = np.zeros((5, 5))
    A[0, [1, 2, 3]] = A[[1, 2, 3], 4] = A[4, 1] = 1.0
    assert label_variation(A, np.ones((5, 1))) == pytest.approx(1 - np.sqrt(3))
    monkeypatch.setattr("measures.pgdl.brain.label_variation", lambda *args: -1.0)
    model = build_model("mlp", {"depth": 1, "width": 4}, (3,), 2).eval()
    result = brain(BrainParams(), model=model, inputs={"train": torch.randn(8, 3)}, labels={"train": np.arange(8) % 2})
    assert result.rows[0][2] == 0.0


def test_bad_inputs():
    model = build_model("mlp", {"depth": 1, "width": 4}, (3,), 2).eval()
    x = torch.randn(6, 3)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        brain(BrainParams(), model=model, inputs={"train": x}, labels={"train": np.array([0, 1, 2, 0, 1, 2])})
    with pytest.raises(ValueError, match="k must be in"):
        brain(BrainParams(k=6), model=model, inputs={"train": x}, labels={"train": np.array([0, 1] * 3)})
    with pytest.raises(ValueError, match="normalized Laplacian needs"):
        label_variation(np.zeros((2, 2)), np.eye(2))
