"""activation_persistence end to end: a known circle, permutation invariance, sampling, errors."""

import numpy as np
import pydantic
import pytest
from gudhi.representations import BettiCurve, Landscape
from hypothesis import given, settings
from hypothesis import strategies as st

import measures.activation_persistence as ap
from measures.activation_persistence import ActivationPersistenceParams, activation_persistence
from functional.persistence.summaries import STATISTICS, summary_statistics
from measures.registry import get_measure


def rows_of(result):
    return {stat: value for layer, stat, value in result.rows if layer == "all"}


def diagrams_of(result):
    return {(d.bootstrap, d.dim): d.pairs for d in result.diagrams}


def test_projective_circle_of_neurons():
    # neuron i: cos(t - pi i / n) over a full period of t, so corr(i, j) = cos(pi (i - j) / n)
    # and d = 1 - |cos|: n points evenly spaced on a circle of length pi. H0 deaths are the
    # 1-step distance; one H1 class dies at the 14-step distance for n = 40 (see the Rips test).
    n, S = 40, 400
    t = 2 * np.pi * np.arange(S) / S
    acts = np.cos(t[:, None] - np.pi * np.arange(n)[None, :] / n)
    params = ActivationPersistenceParams(neurons=1000, samples=S, bootstraps=3, layers="hidden")
    result = activation_persistence(params, activations={"train": {"fc": acts, "output": acts[:, :3]}})
    dgms = diagrams_of(result)
    assert sorted(dgms) == [(b, d) for b in range(3) for d in (0, 1)]
    step1, step14 = 1 - np.cos(np.pi / n), 1 - np.cos(14 * np.pi / n)
    h0, h1 = dgms[(0, 0)], dgms[(0, 1)]
    assert h0.shape == (n, 2) and np.isinf(h0[:, 1]).sum() == 1
    np.testing.assert_allclose(h0[np.isfinite(h0[:, 1]), 1], step1, rtol=1e-9)
    assert h1.shape == (1, 2)
    np.testing.assert_allclose(h1[0], [step1, step14], rtol=1e-9)
    rows = rows_of(result)
    assert set(rows) == {f"h{d}_{s}" for d in (0, 1) for s in STATISTICS}
    # closed forms: n - 1 equal H0 deaths at step1 (births 0), one H1 point (step1, step14)
    assert rows["h0_mean_death"] == pytest.approx(step1, rel=1e-9)
    assert rows["h0_std_death"] == pytest.approx(0, abs=1e-12) and rows["h0_mean_birth"] == 0
    assert rows["h0_mean_midlife"] == pytest.approx(step1 / 2, rel=1e-9)
    assert rows["h0_persistent_entropy"] == pytest.approx(np.log(n - 1), rel=1e-9)
    assert rows["h1_pooling_vector_01"] == pytest.approx(step14 - step1, rel=1e-9)
    assert rows["h1_pooling_vector_02"] == 0 and rows["h1_persistent_entropy"] == 0
    assert (rows["h1_mean_birth"], rows["h1_mean_death"]) == pytest.approx((step1, step14), rel=1e-9)
    assert rows["h1_complex_polynomial_re_01"] == pytest.approx(  # c_1 = -z for the one root z
        -(step14 - step1) / 2 * (np.cos(np.hypot(step1, step14)) - np.sin(np.hypot(step1, step14))), rel=1e-9)


def random_layers(rng, sizes, S=30):
    base = rng.standard_normal((S, 3))
    layers = {}
    for l, m in enumerate(sizes):
        layers[f"l{l}"] = np.maximum(base @ rng.standard_normal((3, m)) + rng.standard_normal((S, m)), 0)
    layers["l0"][:, 0] = 0.0  # a dead neuron
    return layers


def assert_same_result(a, b):
    ra, rb = rows_of(a), rows_of(b)
    assert list(ra) == list(rb)
    for key in ra:
        assert ra[key] == pytest.approx(rb[key], rel=1e-9, abs=1e-12), key
    da, db = diagrams_of(a), diagrams_of(b)
    assert list(da) == list(db)
    for key, pa in da.items():
        assert pa.shape == db[key].shape
        np.testing.assert_allclose(np.sort(pa, axis=0), np.sort(db[key], axis=0), rtol=1e-9, atol=1e-12)


EVERY_SUMMARY = {"extra_statistics": True, "landscapes": 2, "landscape_resolution": 11, "betti_resolution": 9,
                 "image_resolution": 4, "image_bandwidth": 0.2}


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3))
def test_invariant_to_permuting_neurons_when_all_are_used(seed, sizes):
    # d(i, j) depends on the pair of neurons only, so relabelling neurons (within and across
    # layers) permutes the points of a finite metric space: every diagram and summary is unchanged.
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    permuted = {name: a[:, rng.permutation(a.shape[1])] for name, a in reversed(layers.items())}
    params = ActivationPersistenceParams(neurons=50, samples=30, bootstraps=2, **EVERY_SUMMARY)
    assert_same_result(activation_persistence(params, activations={"train": layers}),
                       activation_persistence(params, activations={"train": permuted}))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(2, 12), min_size=1, max_size=3),
       sampling=st.sampled_from(["importance", "uniform"]))
def test_invariant_to_permuting_samples_even_when_neurons_are_drawn(seed, sizes, sampling):
    # Pearson correlations and the argmax counts of the importance probabilities are sums over
    # inputs, so reordering the inputs changes neither the probabilities nor (same seed) the draws.
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    order = rng.permutation(30)
    shuffled = {name: a[order] for name, a in layers.items()}
    params = ActivationPersistenceParams(neurons=max(2, sum(sizes) // 2), samples=30, bootstraps=3,
                                         sampling=sampling, **EVERY_SUMMARY)
    assert_same_result(activation_persistence(params, activations={"train": layers}),
                       activation_persistence(params, activations={"train": shuffled}))


def test_bootstrap_aggregation_is_the_papers_mean_of_resampled_means():
    # Reference: the literal procedure of Ballester's perform_bootstraping_sample (R resamples of
    # the B per-diagram vectors with replacement, mean of each resample, mean of the means), run
    # on the returned diagrams; with resamples=0, the plain mean (np.mean).
    rng = np.random.default_rng(8)
    layers = random_layers(rng, [10, 14], S=40)
    base = {"neurons": 12, "samples": 40, "bootstraps": 5, "seed": 3}
    res = activation_persistence(ActivationPersistenceParams(**base, resamples=50), activations={"train": layers})
    plain = activation_persistence(ActivationPersistenceParams(**base, resamples=0), activations={"train": layers})
    dgms = diagrams_of(res)
    draws = np.random.default_rng([3, 1]).integers(0, 5, size=(50, 5))
    for dim in (0, 1):
        per = np.array([[summary_statistics(dgms[(b, dim)])[n] for n in STATISTICS] for b in range(5)])
        literal = np.mean([per[idx].mean(axis=0) for idx in draws], axis=0)
        got = np.array([rows_of(res)[f"h{dim}_{n}"] for n in STATISTICS])
        np.testing.assert_allclose(got, literal, rtol=1e-10, atol=1e-14)
        got = np.array([rows_of(plain)[f"h{dim}_{n}"] for n in STATISTICS])
        np.testing.assert_allclose(got, per.mean(axis=0), rtol=1e-10, atol=1e-14)
    assert rows_of(res)["h0_mean_death"] != rows_of(plain)["h0_mean_death"]


def test_representation_rows_match_gudhi_on_the_stored_diagrams():
    # Reference: gudhi.representations.Landscape / BettiCurve called directly on the returned
    # diagrams (finite points), averaged over bootstraps (resamples=0: plain mean).
    rng = np.random.default_rng(9)
    layers = random_layers(rng, [9, 9], S=40)
    params = ActivationPersistenceParams(neurons=10, samples=40, bootstraps=3, resamples=0, landscapes=2,
                                         landscape_resolution=21, betti_resolution=11)
    res = activation_persistence(params, activations={"train": layers})
    rows, dgms = rows_of(res), diagrams_of(res)
    for dim in (0, 1):
        finite = [dgms[(b, dim)][np.isfinite(dgms[(b, dim)][:, 1])] for b in range(3)]
        lam = Landscape(num_landscapes=2, resolution=21, sample_range=[0, 1]).fit_transform(finite).mean(axis=0)
        got = [rows[f"h{dim}_landscape_k{k}_{i:03d}"] for k in (1, 2) for i in range(21)]
        np.testing.assert_allclose(got, lam / np.sqrt(2), rtol=1e-10, atol=1e-14)
        betti = BettiCurve(resolution=11, sample_range=[0, 1]).fit_transform(finite).mean(axis=0)
        np.testing.assert_allclose([rows[f"h{dim}_betti_curve_{i:03d}"] for i in range(11)], betti, rtol=1e-12)
    assert not any("persistence_image" in k for k in rows)


def test_bootstraps_sampling_and_seeds():
    rng = np.random.default_rng(3)
    layers = random_layers(rng, [12, 15], S=60)
    layers["output"] = rng.standard_normal((60, 4))
    base = {"neurons": 10, "samples": 50, "bootstraps": 4, "dims": (0,)}
    one = activation_persistence(ActivationPersistenceParams(**base), activations={"train": layers})
    again = activation_persistence(ActivationPersistenceParams(**base), activations={"train": layers})
    other = activation_persistence(ActivationPersistenceParams(**base, seed=1), activations={"train": layers})
    uniform = activation_persistence(ActivationPersistenceParams(**base, sampling="uniform"),
                                     activations={"train": layers})
    assert rows_of(one) == rows_of(again)
    assert rows_of(one) != rows_of(other) and rows_of(one) != rows_of(uniform)
    assert [(d.bootstrap, d.dim) for d in one.diagrams] == [(b, 0) for b in range(4)]
    for d in one.diagrams:  # 10 neurons, no duplicates: 9 finite points + the infinite one
        assert d.layer == "all" and d.pairs.shape == (10, 2)
    # the bootstrap diagrams differ from each other
    assert len({d.pairs.tobytes() for d in one.diagrams}) > 1
    assert set(rows_of(one)) == {f"h0_{s}" for s in STATISTICS}


def test_layers_choice_uses_the_output_layer_or_not():
    rng = np.random.default_rng(4)
    layers = {"l0": rng.standard_normal((20, 6)), "output": rng.standard_normal((20, 3))}
    for choice, n in (("all", 9), ("hidden", 6)):
        res = activation_persistence(ActivationPersistenceParams(neurons=100, samples=20, bootstraps=1,
                                                                 dims=(0,), layers=choice),
                                     activations={"train": layers})
        assert res.diagrams[0].pairs.shape == (n, 2)


def test_identical_draws_are_computed_once(monkeypatch):
    calls = []
    real = ap.correlation_distance
    monkeypatch.setattr(ap, "correlation_distance", lambda X: calls.append(1) or real(X))
    rng = np.random.default_rng(5)
    activation_persistence(ActivationPersistenceParams(neurons=100, samples=20, bootstraps=5),
                           activations={"train": {"l": rng.standard_normal((20, 8))}})
    assert len(calls) == 1


def test_errors_and_registration():
    rng = np.random.default_rng(6)
    acts = {"train": {"l": rng.standard_normal((20, 5))}}
    with pytest.raises(ValueError, match="n_samples >= 50"):
        activation_persistence(ActivationPersistenceParams(samples=50), activations=acts)
    with pytest.raises(ValueError, match="'train' split"):
        activation_persistence(ActivationPersistenceParams(samples=20), activations={"test": acts["train"]})
    bad = {"train": {"l": np.full((20, 5), np.nan)}}
    with pytest.raises(ValueError, match="non-finite"):
        activation_persistence(ActivationPersistenceParams(samples=20), activations=bad)
    with pytest.raises(ValueError, match="no layer"):
        activation_persistence(ActivationPersistenceParams(samples=20, layers="hidden"),
                               activations={"train": {"output": rng.standard_normal((20, 3))}})
    for wrong in ({"dims": (2,)}, {"dims": ()}, {"dims": (0, 0)}, {"sampling": "random"}, {"neurons": 0},
                  {"resamples": -1}, {"betti_resolution": 1}, {"image_resolution": 1}, {"image_bandwidth": 0},
                  {"landscape_resolution": 1}, {"landscapes": -1}):
        with pytest.raises(pydantic.ValidationError):
            ActivationPersistenceParams(**wrong)
    assert ActivationPersistenceParams(dims=[1, 0]).dims == (0, 1)
    spec = get_measure("activation_persistence")
    assert spec.providers == ("activations",) and spec.version == 2 and "Ballester" in spec.paper
    defaults = spec.params()
    # the paper's settings (readme: ``compute_persistence_diagrams ... 3000 2000 20 1``; model/conf.py)
    assert (defaults.neurons, defaults.samples, defaults.bootstraps, defaults.dims) == (3000, 2000, 20, (0, 1))
    assert (defaults.sampling, defaults.layers, defaults.resamples) == ("importance", "all", 1000)
    assert (defaults.landscapes, defaults.betti_resolution, defaults.image_resolution) == (0, 0, 0)


def test_duplicated_and_dead_neurons():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 8))
    X[:, 1] = X[:, 0]  # duplicate: a zero-length H0 bar, left out of the diagram
    X[:, 2] = -3 * X[:, 0] + 1  # |corr| = 1 as well
    X[:, 3] = 0.0  # dead: distance 1 to every neuron
    res = activation_persistence(ActivationPersistenceParams(neurons=100, samples=40, bootstraps=1,
                                                             extra_statistics=True),
                                 activations={"train": {"l": X.astype(np.float32)}})
    h0 = diagrams_of(res)[(0, 0)]
    finite = h0[np.isfinite(h0[:, 1]), 1]
    assert h0.shape == (8 - 2, 2) and (finite > 0).all()
    assert finite.max() == 1.0  # the dead neuron joins last, at distance 1
    rows = rows_of(res)
    assert rows["h0_n_points"] == 5 and all(np.isfinite(v) for v in rows.values())
