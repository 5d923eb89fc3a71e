"""Pearson correlations between neurons and the distance ``d(i, j) = 1 - |corr(a_i, a_j)|``.

The dissimilarity of Ballester et al. 2023 (persistence of activations, and
*Decorrelating neurons using persistence*), of Corneanu et al. 2019 (functional
graphs) and of the decorrelation regularisers, computed over the activations
of neurons on a sample of inputs, in two forms:

- :mod:`functional.correlation.arrays`: numpy, float64, for measures
  (:func:`~functional.correlation.arrays.correlation_distance`, whose
  distances feed stored persistence diagrams);
- :mod:`functional.correlation.tensors`: torch, differentiable, for
  training (:func:`~functional.correlation.tensors.correlation_distance`,
  :func:`~functional.correlation.tensors.correlation_matrix` and helpers).

Both share one rule for neurons without a correlation,
:func:`zero_variance_mask`: a neuron whose activation is the same on every
sample (a dead ReLU, or any constant) has correlation 0 with every other
neuron, so it sits at distance 1 from all of them, as Ballester's code gets
from ``nan_to_num`` on the NaN correlations.
"""

from functional.correlation.zero_variance import zero_variance_mask

__all__ = ["zero_variance_mask"]
