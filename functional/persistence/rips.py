"""1-dimensional persistence of a Vietoris-Rips filtration, with gudhi.

gudhi's ``RipsPersistence`` (its Ripser fork, MIT licence) on a full distance
matrix, coefficients in Z/2 (as Ripser and giotto-ph, the engine of Ballester
et al. 2023), no edge collapse (measured slower here). It truncates the
filtration at the enclosing ("cone") radius ``min_i max_j D[i, j]``, which is
exact: above it the Rips complex is a cone, so every class has died.

Cost depends strongly on the data, not only on N. Measured on a shared
2-core CPU, S=2000 samples: ReLU'd rank-20 activations (``bench/persistence.py``)
N=300 0.7 s, N=1000 8 s, N=3000 about 500 s wall and 9 GB peak; a
rank-20-plus-noise Gaussian matrix N=300 1.2 s, N=1000 51 s, where
``RipsComplex`` + ``SimplexTree`` (max_dimension=2) gave the same pairs in
2.5 s and 246 s with 9.8 GB peak at N=1000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from functional.persistence.h0 import check_distance_matrix

if TYPE_CHECKING:
    pass


def _prepare(D: np.ndarray) -> np.ndarray:
    D = check_distance_matrix(D)
    if (D < 0).any():
        raise ValueError("distance matrix has negative entries; distances must be >= 0")
    D = np.minimum(D, D.T)  # exact symmetry: the engine reads one triangle
    np.fill_diagonal(D, 0.0)
    return D


def rips_h1_diagrams(matrices: Sequence[np.ndarray], n_jobs: int = 1) -> list[np.ndarray]:
    """H1 persistence diagrams of the Vietoris-Rips filtrations of several matrices.

    Parameters
    ----------
    matrices : sequence of ndarray of shape (n_points, n_points)
        Finite symmetric non-negative distances (the lower of ``D[i, j]`` and
        ``D[j, i]`` is used; the diagonal is taken as 0).
    n_jobs : int
        Threads; gudhi releases the GIL, so 2 threads on 2 cores halve the
        wall time. Memory grows with the number of threads (5 to 9 GB each
        at 3000 points).

    Returns
    -------
    diagrams : list of ndarray of shape (n_pairs, 2), float64
        ``(birth, death)`` pairs in filtration units, sorted by birth then
        death. All deaths are finite (a Rips complex is eventually a cone);
        zero-length pairs are not reported (a diagram has no diagonal points).

    Raises
    ------
    ValueError
        If a matrix is not square, finite and non-negative.
    """
    from gudhi.sklearn.rips_persistence import RipsPersistence

    mats = [_prepare(D) for D in matrices]
    big = [i for i, D in enumerate(mats) if D.shape[0] >= 4]  # a flag complex on < 4 points has no H1
    out = [np.zeros((0, 2)) for _ in mats]
    if not big:
        return out
    rp = RipsPersistence(homology_dimensions=1, input_type="full distance matrix",
                         homology_coeff_field=2, num_collapses=0, n_jobs=n_jobs)
    for i, dgm in zip(big, rp.fit_transform([mats[i] for i in big])):
        dgm = np.asarray(dgm, dtype=np.float64).reshape(-1, 2)
        dgm = dgm[dgm[:, 1] > dgm[:, 0]]
        out[i] = dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]
    return out


def rips_h1_diagram(D: np.ndarray) -> np.ndarray:
    """H1 persistence diagram of the Vietoris-Rips filtration of one matrix.

    See :func:`rips_h1_diagrams`.
    """
    return rips_h1_diagrams([D])[0]
