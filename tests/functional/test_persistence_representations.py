"""Landscapes, Betti curves and persistence images against gudhi's classes and hand values."""

import numpy as np
import pytest
from gudhi.representations import BettiCurve, Landscape, PersistenceImage

from functional.persistence.representations import (
    betti_curve,
    landscape,
    persistence_image,
    representation_statistics,
)


def random_diagram(seed, n=30):
    rng = np.random.default_rng(seed)
    b = rng.uniform(0, 0.6, n)
    return np.column_stack([b, b + rng.uniform(0.0, 0.4, n)])


def test_betti_curve_by_hand():
    # grid linspace(0, 1, 5) = 0, .25, .5, .75, 1; a point counts on [b, d)
    pairs = np.array([[0.0, 0.5], [0.1, 0.9], [0.25, 0.3], [0.0, np.inf]])  # the infinite point is ignored
    np.testing.assert_array_equal(betti_curve(pairs, 5), [1, 3, 1, 1, 0])
    np.testing.assert_array_equal(betti_curve(np.zeros((0, 2)), 3), [0, 0, 0])


def test_landscape_by_hand():
    # Bubenik: lambda_k(t) = k-th largest max(0, min(t - b, d - t))
    pairs = np.array([[0.0, 0.8], [0.2, 0.6], [0.9, np.inf]])
    t = np.linspace(0, 1, 11)
    tents = np.maximum(0, np.minimum(t[None] - pairs[:2, :1], pairs[:2, 1:] - t[None]))
    want = np.vstack([np.sort(tents, axis=0)[::-1], np.zeros((1, 11))])  # third landscape: zero
    np.testing.assert_allclose(landscape(pairs, 3, 11), want, atol=1e-15)
    assert landscape(pairs, 1, 11)[0, 4] == pytest.approx(0.4)  # t = 0.4: min(0.4, 0.4) for (0, 0.8)


def test_against_gudhi_classes_on_the_same_diagrams():
    # Reference: gudhi.representations called directly with the same fixed range [0, 1].
    for seed in range(3):
        pairs = random_diagram(seed)
        ref = Landscape(num_landscapes=4, resolution=50, sample_range=[0, 1]).fit_transform([pairs])[0]
        np.testing.assert_allclose(landscape(pairs, 4, 50).ravel(), ref / np.sqrt(2), rtol=1e-12, atol=1e-15)
        ref = BettiCurve(resolution=40, sample_range=[0, 1]).fit_transform([pairs])[0]
        np.testing.assert_array_equal(betti_curve(pairs, 40), ref)
        ref = PersistenceImage(bandwidth=0.07, weight=lambda x: x[1], resolution=[12, 12],
                               im_range=[0, 1, 0, 1]).fit_transform([pairs])[0]
        np.testing.assert_allclose(persistence_image(pairs, 12, 0.07).T.ravel(), ref, rtol=1e-12)


def test_persistence_image_closed_form():
    # one point (b, d) = (0.25, 0.75): weight p = 0.5, Gaussian N((b, p), s^2) at the grid points
    s, res = 0.1, 5
    img = persistence_image(np.array([[0.25, 0.75]]), res, s)
    x = np.linspace(0, 1, res)
    want = 0.5 * np.exp(-((x[:, None] - 0.25) ** 2 + (x[None, :] - 0.5) ** 2) / (2 * s**2)) / (2 * np.pi * s**2)
    np.testing.assert_allclose(img, want, rtol=1e-12)
    assert np.unravel_index(img.argmax(), img.shape) == (1, 2)  # birth 0.25, persistence 0.5


def test_statistic_names_and_errors():
    pairs = random_diagram(5, n=4)
    stats = representation_statistics(pairs, landscapes=2, landscape_resolution=1001, betti_resolution=7,
                                      image_resolution=3, image_bandwidth=0.1)
    assert "landscape_k2_1000" in stats and "landscape_k1_0007" in stats and len(stats) == 2 * 1001 + 7 + 9
    assert [k for k in stats if k.startswith("betti")] == [f"betti_curve_{i:03d}" for i in range(7)]
    assert stats["landscape_k1_0500"] == pytest.approx(landscape(pairs, 2, 1001)[0, 500])
    assert stats["persistence_image_b001_p002"] == pytest.approx(persistence_image(pairs, 3, 0.1)[1, 2])
    assert representation_statistics(pairs) == {}
    with pytest.raises(ValueError, match="resolution must be an integer >= 2"):
        betti_curve(pairs, 1)
    with pytest.raises(ValueError, match="n_landscapes"):
        landscape(pairs, 0, 10)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        persistence_image(pairs, 5, 0.0)
