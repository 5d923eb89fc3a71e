"""K-means on (persistence summary, gap), Ballester et al. 2023.

References: the known labels of well-separated synthetic blobs
(sklearn.metrics.adjusted_rand_score); sklearn.cluster.KMeans called directly
with the paper's settings (k=2, random_state=0, n_init=10, raw values).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from reports.stats.clusters import kmeans_summaries_gap


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], [15, 20, 25])
    summary = np.array([0.2, 0.5, 0.8])[truth] + 0.01 * rng.normal(size=truth.size)
    gap = np.array([0.05, 0.15, 0.30])[truth] + 0.005 * rng.normal(size=truth.size)
    return summary, gap, truth


def test_separated_blobs_are_recovered_and_numbered_by_gap():
    summary, gap, truth = _blobs()
    res = kmeans_summaries_gap(summary, gap, n_clusters=3)
    assert adjusted_rand_score(truth, res.labels) == 1.0
    np.testing.assert_array_equal(res.labels, truth)  # truth is already in gap order
    np.testing.assert_array_equal(res.sizes, [15, 20, 25])
    np.testing.assert_allclose(res.mean_gap, [gap[truth == k].mean() for k in range(3)])
    np.testing.assert_allclose(res.centers[:, 1], res.mean_gap)  # raw space: centre = mean


def test_matches_sklearn_kmeans_with_the_papers_settings():
    rng = np.random.default_rng(1)
    summary, gap = rng.normal(size=50), rng.uniform(0, 0.3, 50)
    res = kmeans_summaries_gap(summary, gap)
    ref = KMeans(n_clusters=2, random_state=0, n_init=10).fit(np.column_stack([summary, gap]))
    assert adjusted_rand_score(ref.labels_, res.labels) == 1.0
    assert res.inertia == pytest.approx(ref.inertia_)
    assert res.mean_gap[0] <= res.mean_gap[1]


def test_units_matter_raw_and_not_when_standardised():
    # Two groups 0.02 apart in the summary, gap spread over 0.4 independently of
    # the group: raw K-means splits along the gap; standardised, along the summary.
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1], 30)
    summary = 0.02 * truth + 0.001 * rng.normal(size=60)
    gap = rng.uniform(0, 0.4, 60)
    raw = kmeans_summaries_gap(summary, gap)
    std = kmeans_summaries_gap(summary, gap, standardise=True)
    assert adjusted_rand_score(truth, raw.labels) < 0.2
    assert adjusted_rand_score(truth, std.labels) == 1.0
    scaled = kmeans_summaries_gap(1000.0 * summary, gap, standardise=True)
    np.testing.assert_array_equal(scaled.labels, std.labels)


def test_several_summaries_and_bad_input():
    summary, gap, truth = _blobs(3)
    two = np.column_stack([summary, -summary])
    assert adjusted_rand_score(truth, kmeans_summaries_gap(two, gap, 3).labels) == 1.0
    with pytest.raises(ValueError, match="n_runs"):
        kmeans_summaries_gap(summary[:5], gap)
    with pytest.raises(ValueError, match="finite"):
        kmeans_summaries_gap(np.r_[np.nan, summary[1:]], gap)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_summaries_gap(summary, gap, n_clusters=0)
