"""The persistence measures' distance between neurons, ``1 - |corr|``.

Defined in :mod:`functional.correlation.arrays` (with the zero-variance rule
shared with the differentiable form); imported here so that
``functional.persistence.distance`` keeps naming it.
"""

from functional.correlation.arrays import ZERO_TOL, correlation_distance
from functional.correlation.zero_variance import zero_variance_mask

__all__ = ["ZERO_TOL", "correlation_distance", "zero_variance_mask"]
