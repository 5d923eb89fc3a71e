"""functional_graph (Corneanu et al. 2019, 2020): graphs with known homology, ripser, Betti curves, providers."""

import numpy as np
import pydantic
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from ripser import ripser

from measures.functional_graph.betti import betti_curve, betti_summaries, keep_persistent
from measures.functional_graph.graph import clique_persistence, layer_nodes, log_softmax
from measures.functional_graph.measure import FunctionalGraphParams, functional_graph
from measures.providers import Providers
from measures.registry import get_measure
from models.architectures import build_model
from models.data import DatasetSpec, load_splits


def with_correlation(C, n_samples=64, seed=0):
    """Activations of shape (n_samples, n) whose Pearson correlation matrix is exactly C (PSD, unit diagonal)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, len(C)))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)  # orthonormal, zero-mean columns
    w, V = np.linalg.eigh(C)
    return Q @ (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def sort_pairs(P):
    P = np.asarray(P, dtype=float).reshape(-1, 2)
    return P[np.lexsort((P[:, 1], P[:, 0]))]


def rows_of(result, layer="all"):
    return {stat: value for name, stat, value in result.rows if name == layer}


def diagrams_of(result):
    return {(d.layer, d.dim): d.pairs for d in result.diagrams}


def cycle_with_blocks(n_cycle=5):
    # vertex i = z_i + z_{i+1} (indices mod n): corr 1/2 to its two neighbours (distance 0.5), 0 to the
    # others (distance 1). Each vertex is a block of 3 neurons a, -a, 2a + 1: |corr| = 1 inside a block.
    C = np.eye(n_cycle)
    for i in range(n_cycle):
        C[i, (i + 1) % n_cycle] = C[(i + 1) % n_cycle, i] = 0.5
    a = with_correlation(C)
    return np.concatenate([a, -a, 2 * a + 1], axis=1)


def test_cycle_of_perfectly_correlated_blocks():
    # Closed form: the 5 blocks merge at 0 (zero-length pairs, not reported) and join along the cycle
    # at 0.5 (4 finite H0 deaths, 1 essential class); the 5-cycle of edges is born at 0.5 and is filled
    # at 1, when every pair is an edge (the complex is a simplex). Without |.|, the negated copies would
    # sit at distance 1 from the originals and the H0 diagram would have 14 finite points.
    X = cycle_with_blocks()
    dgms = clique_persistence(X, (0, 1, 2), max_distance=1.0)
    np.testing.assert_allclose(sort_pairs(dgms[0]), [[0, 0.5]] * 4 + [[0, np.inf]], atol=1e-12)
    np.testing.assert_allclose(dgms[1], [[0.5, 1.0]], atol=1e-12)
    assert dgms[2].shape == (0, 2)
    truncated = clique_persistence(X, (1,), max_distance=0.8)  # the cycle outlives the filtration
    np.testing.assert_allclose(truncated[1], [[0.5, np.inf]], atol=1e-12)


def test_octahedron_has_a_two_cavity():
    # 6 neurons, corr 0.4 between all but the 3 antipodal pairs (corr 0): the graph at d = 0.6 is the
    # octahedron, whose clique complex is a 2-sphere (all 4-cliques need an antipodal pair); edges and
    # triangles enter together, so no H1; the cavity fills at d = 1 when the antipodal edges enter.
    C = np.full((6, 6), 0.4)
    np.fill_diagonal(C, 1.0)
    for i in range(3):
        C[i, i + 3] = C[i + 3, i] = 0.0
    X = with_correlation(C, seed=1)
    np.testing.assert_allclose(np.corrcoef(X.T), C, atol=1e-12)
    dgms = clique_persistence(X, (1, 2), max_distance=1.0)
    assert keep_persistent(dgms[1], 1e-9).shape == (0, 2)  # the 0.6 entries differ in the last bits
    np.testing.assert_allclose(dgms[2], [[0.6, 1.0]], atol=1e-12)
    params = FunctionalGraphParams(samples=64, dims=(2,), max_distance=0.8, betti_range=(0.05, 0.8),
                                   output="exclude")
    rows = rows_of(functional_graph(params, activations={"train": {"fc": X}}, weights={}))
    assert rows["h2_n_essential"] == 1 and "h2_life" not in rows  # (0.6, inf): no finite pair
    assert rows["h2_betti_peak"] == 1 and rows["h2_betti_peak_position"] == pytest.approx(0.6)
    assert rows["h2_betti_area"] == pytest.approx(0.2)
    # the code's reader keeps DIPHA's finite pairs only: the cavity alive at 0.8 is not counted
    dropped = functional_graph(params.model_copy(update={"essential": "drop"}), activations={"train": {"fc": X}},
                               weights={})
    assert rows_of(dropped) == {"n_nodes": 6, "h2_n_pairs": 0, "h2_n_essential": 0, "h2_betti_peak": 0,
                                "h2_betti_area": 0}


def test_homology_matches_ripser_on_the_same_distances():
    # Neurons whose centred activations point along random unit vectors v_i of R^3: d = 1 - |<v_i, v_j>|,
    # a sample of the projective plane (Z/2 homology in dimensions 1 and 2). Reference: ripser.py
    # (Bauer's Ripser, an engine independent of gudhi), Z/2, same threshold; zero-length pairs dropped.
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((200, 8))
    Q, _ = np.linalg.qr(Z - Z.mean(axis=0))
    V = rng.standard_normal((60, 3))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    X = Q[:, :3] @ V.T + 0.05 * Q[:, 3:] @ rng.standard_normal((5, 60))
    D = np.clip(1 - np.abs(np.corrcoef(X.T)), 0, 1)
    np.fill_diagonal(D, 0)
    for threshold in (0.4, 0.6):
        ours = clique_persistence(X, (0, 1, 2), threshold)
        ref = ripser(D, distance_matrix=True, maxdim=2, thresh=threshold)["dgms"]
        for k in (0, 1, 2):
            r = ref[k][ref[k][:, 1] > ref[k][:, 0]]
            assert len(r) > 0
            np.testing.assert_allclose(sort_pairs(ours[k]), sort_pairs(r), atol=1e-6)


def test_betti_curve_and_summaries_by_hand():
    P = np.array([[0.1, 0.3], [0.2, np.inf], [0.25, 0.26]])
    kept = keep_persistent(P, 0.02)  # (0.25, 0.26) lives 0.01 <= 0.02: dropped
    np.testing.assert_array_equal(kept, P[:2])
    # beta(eps) = #{b <= eps < d}: 0 before 0.1, 1 from 0.1, 2 from 0.2, 1 from 0.3 (the death)
    eps = [0.05, 0.1, 0.15, 0.2, 0.29, 0.3, 0.4]
    np.testing.assert_array_equal(betti_curve(kept, eps), [0, 1, 1, 2, 2, 1, 1])
    s = betti_summaries(kept, 0.05, 0.4)
    assert s == pytest.approx({"n_pairs": 2, "n_essential": 1, "life": 0.2, "midlife": 0.2, "betti_peak": 2,
                               "betti_peak_position": 0.2, "betti_area": 0.2 + 0.2})
    # a range starting inside a bar: the peak is read at lo; the area is clipped to the range
    s = betti_summaries(kept, 0.22, 0.28)
    assert s["betti_peak"] == 2 and s["betti_peak_position"] == pytest.approx(0.22)
    assert s["betti_area"] == pytest.approx(2 * 0.06)
    empty = betti_summaries(np.empty((0, 2)), 0.05, 0.4)
    assert empty == {"n_pairs": 0, "n_essential": 0, "betti_peak": 0, "betti_area": 0}
    with pytest.raises(ValueError, match="deaths must be >= births"):
        betti_curve([[0.3, 0.1]], eps)
    with pytest.raises(ValueError, match="lo < hi"):
        betti_summaries(kept, 0.4, 0.05)


def test_nodes_of_conv_layers_and_log_softmax():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 3 * 4))  # 3 channels of 2x2, flattened channel-major
    np.testing.assert_array_equal(layer_nodes(a, 3, "units"), a)
    np.testing.assert_allclose(layer_nodes(a, 3, "channels"), a.reshape(7, 3, 4).mean(axis=2))
    with pytest.raises(ValueError, match="cannot be split into 5 channels"):
        layer_nodes(a, 5, "channels")
    z = rng.standard_normal((7, 10)) * 30
    np.testing.assert_allclose(log_softmax(z), torch.log_softmax(torch.from_numpy(z), dim=1).numpy(), atol=1e-12)
    # the output layer enters as log_softmax (the code's LeNet), as raw logits, or not at all
    z = rng.standard_normal((50, 5))
    def run(output):
        params = FunctionalGraphParams(samples=50, dims=(0,), max_distance=1.0, betti_range=(0.0, 1.0), output=output)
        return functional_graph(params, activations={"train": {"output": z}}, weights={}).diagrams[0].pairs
    ref_log = clique_persistence(torch.log_softmax(torch.from_numpy(z), dim=1).numpy(), (0,), 1.0)[0]
    ref_raw = clique_persistence(z, (0,), 1.0)[0]
    np.testing.assert_allclose(sort_pairs(run("log_softmax")), sort_pairs(ref_log), atol=1e-12)
    np.testing.assert_allclose(sort_pairs(run("logits")), sort_pairs(ref_raw), atol=1e-12)
    assert not np.allclose(sort_pairs(ref_log), sort_pairs(ref_raw))


def random_layers(rng, sizes, S=40):
    base = rng.standard_normal((S, 2))
    layers = {f"l{i}": np.maximum(base @ rng.standard_normal((2, m)) + 0.7 * rng.standard_normal((S, m)), 0)
              for i, m in enumerate(sizes)}
    layers["l0"][:, 0] = 0.0  # a dead neuron
    layers["output"] = base @ rng.standard_normal((2, 4))
    return layers


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 12), min_size=1, max_size=3),
       graph=st.sampled_from(["network", "layer"]))
def test_summaries_are_invariant_to_permuting_neurons(seed, sizes, graph):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    permuted = {name: a[:, rng.permutation(a.shape[1])] for name, a in layers.items()}
    params = FunctionalGraphParams(samples=40, graph=graph, dims=(0, 1, 2), max_distance=0.7,
                                   betti_range=(0.05, 0.7))
    a = functional_graph(params, activations={"train": layers}, weights={})
    b = functional_graph(params, activations={"train": permuted}, weights={})
    assert [r[:2] for r in a.rows] == [r[:2] for r in b.rows]
    for ra, rb in zip(a.rows, b.rows):
        assert ra[2] == pytest.approx(rb[2], rel=1e-9, abs=1e-12), ra[:2]


def test_node_sampling_per_layer_and_seed():
    rng = np.random.default_rng(1)
    layers = random_layers(rng, [30, 20])
    def run(**kw):
        params = FunctionalGraphParams(samples=40, max_distance=0.7, betti_range=(0.05, 0.7), **kw)
        return functional_graph(params, activations={"train": layers}, weights={})

    assert rows_of(run(nodes_per_layer=8))["n_nodes"] == 8 + 8 + 4
    assert rows_of(run(nodes_per_layer=8, output="exclude"))["n_nodes"] == 16
    d0, d1 = diagrams_of(run(nodes_per_layer=8, seed=0)), diagrams_of(run(nodes_per_layer=8, seed=1))
    assert not np.array_equal(d0[("all", 1)], d1[("all", 1)]) or not np.array_equal(d0[("all", 2)], d1[("all", 2)])
    per_layer = run(graph="layer")
    assert {d.layer for d in per_layer.diagrams} == {"l0", "l1", "output"}
    assert rows_of(per_layer, "l1")["n_nodes"] == 20


def test_params_and_errors():
    spec = get_measure("functional_graph")
    assert spec.providers == ("activations", "weights") and spec.higher_is_better is None
    assert FunctionalGraphParams(dims=[2, 1]).dims == (1, 2)
    with pytest.raises(pydantic.ValidationError, match="distinct values"):
        FunctionalGraphParams(dims=[4])
    with pytest.raises(pydantic.ValidationError, match="betti_range"):
        FunctionalGraphParams(max_distance=0.3)  # default range reaches 0.4
    with pytest.raises(pydantic.ValidationError, match="extra"):
        FunctionalGraphParams(threshold=0.4)
    X = np.random.default_rng(0).standard_normal((10, 5))
    p = FunctionalGraphParams(samples=10)
    with pytest.raises(ValueError, match="'test' split"):
        functional_graph(p.model_copy(update={"split": "test"}), activations={"train": {"fc": X}}, weights={})
    with pytest.raises(ValueError, match="n_samples >= 20"):
        functional_graph(p.model_copy(update={"samples": 20}), activations={"train": {"fc": X}}, weights={})
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        functional_graph(p, activations={"train": {"fc": X}}, weights={})
    with pytest.raises(ValueError, match="no layer left"):
        functional_graph(p.model_copy(update={"output": "exclude"}), activations={"train": {"output": X}},
                         weights={})


def test_end_to_end_on_lenet_digits_through_the_providers():
    # The reference recomputes the code's graph independently: |nan_to_num(corrcoef)| of every unit of
    # conv1, conv2, fc1 and log_softmax(output) (dnn-topology graph.py: adjacency), then ripser.py.
    data = load_splits(DatasetSpec(name="digits"), seed=0)
    torch.manual_seed(0)
    model = build_model("lenet", {}, data.input_shape, data.n_classes)
    providers = Providers(model, data, train_samples=300, test_samples=10, seed=0)
    spec = get_measure("functional_graph")
    result = providers.compute(spec, spec.params(samples=300))
    acts = providers.get("activations")["train"]
    assert list(acts) == ["conv1", "conv2", "fc1", "output"]
    X = np.concatenate([acts["conv1"], acts["conv2"], acts["fc1"],
                        torch.log_softmax(torch.from_numpy(acts["output"]), 1).numpy()], axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = 1 - np.abs(np.nan_to_num(np.corrcoef(X.T)))
    np.fill_diagonal(D, 0)
    ref = ripser(np.clip(D, 0, 1), distance_matrix=True, maxdim=2, thresh=0.4)["dgms"]
    rows, dgms = rows_of(result), diagrams_of(result)
    assert rows["n_nodes"] == 10 * 16 + 20 * 4 + 50 + 10  # 8x8 digits, "same" padding: 8 -> 4 -> 2
    for k in (1, 2):
        np.testing.assert_allclose(sort_pairs(dgms[("all", k)]), sort_pairs(ref[k][ref[k][:, 1] > ref[k][:, 0]]),
                                   atol=1e-5)
        kept = ref[k][ref[k][:, 1] - ref[k][:, 0] > 0.02]
        assert rows[f"h{k}_n_pairs"] == len(kept)
        finite = kept[np.isfinite(kept[:, 1])]
        if len(finite):
            assert rows[f"h{k}_life"] == pytest.approx(np.mean(finite[:, 1] - finite[:, 0]), abs=1e-5)
    assert len(dgms[("all", 1)]) > 0
    channels = providers.compute(spec, spec.params(samples=300, conv_nodes="channels"))
    assert rows_of(channels)["n_nodes"] == 10 + 20 + 50 + 10
