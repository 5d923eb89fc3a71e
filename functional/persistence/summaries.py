"""Scalar summaries of one persistence diagram (pure functions on an (n, 2) array).

The summaries Ballester et al. 2023 feed their linear models
(``model/diagram_vectorizations.py`` and
``get_studied_vectorizations_persistence_diagrams`` in
``extract_statistics_from_persistence_diagrams.py`` of their code), one set per
homology dimension, under the names used here:

=========================================  ====================================================
name                                       the paper's summary (code name)
=========================================  ====================================================
``mean_life``                              average life ``mean(d - b)`` (``average_lives``)
``mean_midlife``                           average midlife ``mean((b + d) / 2)``
                                           (``average_midlives``)
``mean_birth``                             average birth (``average_births``)
``mean_death``                             average death (``average_deaths``)
``std_birth``                              standard deviation of births
                                           (``standard_deviations_births``)
``std_death``                              standard deviation of deaths
                                           (``standard_deviations_deaths``)
``persistent_entropy``                     persistent entropy (``persistent_entropies``)
``pooling_vector_01`` .. ``_10``           persistence pooling vector: the 10 largest
                                           lifetimes, decreasing, zero-padded (``pers_pooling``)
``complex_polynomial_re_01`` .. ``_10``    real parts of the first 10 coefficients of the
                                           complex polynomial of type T (``complex_polynomials``:
                                           giotto-tda ``ComplexPolynomial(n_coefficients=10,
                                           polynomial_type='T')``)
``complex_polynomial_im_01`` .. ``_10``    their imaginary parts
=========================================  ====================================================

Conventions, as that code: only finite points are summarised; standard
deviations are population ones (``ddof=0``); the persistent entropy (Rucco et
al. 2016) uses the natural logarithm. Unlike that code, an empty diagram gives
0 for every statistic (instead of NaN) and zero-length points contribute
``0 log 0 = 0`` to the entropy, so no summary is ever NaN or infinite.

:data:`EXTRA_STATISTICS` are further descriptive summaries the paper does not use.
"""

from __future__ import annotations

import numpy as np

#: Length of the persistence pooling vector and number of complex-polynomial coefficients (the paper's n = 10).
N_TOP = 10

#: Names returned by :func:`summary_statistics`, in order: the paper's summaries.
STATISTICS: tuple[str, ...] = (
    ("mean_life", "mean_midlife", "mean_birth", "mean_death", "std_birth", "std_death", "persistent_entropy")
    + tuple(f"pooling_vector_{k:02d}" for k in range(1, N_TOP + 1))
    + tuple(f"complex_polynomial_{part}_{k:02d}" for part in ("re", "im") for k in range(1, N_TOP + 1))
)

#: Names returned by :func:`extra_statistics`, in order.
EXTRA_STATISTICS: tuple[str, ...] = (
    "n_points", "std_life", "std_midlife", "median_death", "median_life", "total_persistence", "max_life",
)


def finite_pairs(pairs: np.ndarray) -> np.ndarray:
    """The points of ``pairs`` (shape (n, 2)) whose birth and death are finite, shape (n_finite, 2)."""
    pairs = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    return pairs[np.isfinite(pairs).all(axis=1)]


def lifetimes(pairs: np.ndarray) -> np.ndarray:
    """Lifetimes ``death - birth`` of the finite points, shape (n_finite,)."""
    p = finite_pairs(pairs)
    return p[:, 1] - p[:, 0]


def persistent_entropy(pairs: np.ndarray) -> float:
    """Persistent entropy ``-sum p_i ln p_i``, ``p_i = l_i / sum_j l_j`` (Rucco et al. 2016).

    Finite points only; ``0 ln 0 = 0``; 0 for a diagram with no positive lifetime.
    Units: nats.
    """
    life = lifetimes(pairs)
    total = life.sum()
    if total <= 0:
        return 0.0
    p = life[life > 0] / total
    return float(-(p * np.log(p)).sum())


def pooling_vector(pairs: np.ndarray, k: int = N_TOP) -> np.ndarray:
    """Persistence pooling vector (Bonis et al. 2016): the ``k`` largest finite lifetimes.

    Returns
    -------
    top : ndarray of shape (k,)
        Decreasing, zero-padded when the diagram has fewer than ``k`` finite points.
    """
    life = np.sort(lifetimes(pairs))[::-1][:k]
    return np.concatenate([life, np.zeros(k - life.size)])


def complex_polynomial_t(pairs: np.ndarray, n_coefficients: int = N_TOP) -> np.ndarray:
    """First coefficients of the complex polynomial of type T (Di Fabio and Ferri 2015).

    Each finite off-diagonal point ``(b, d)`` gives the root
    ``z = (d - b) / 2 * (cos a - sin a + i (cos a + sin a))`` with
    ``a = sqrt(b^2 + d^2)``; the polynomial is ``prod_j (x - z_j) = x^n + c_1
    x^(n-1) + ... + c_n``, so ``c_k = (-1)^k e_k(z)`` (elementary symmetric
    polynomials). As giotto-tda's ``ComplexPolynomial(polynomial_type='T')``
    and gudhi's ``ComplexPolynomial(polynomial_type='T')``. Computed by the
    product recurrence truncated at degree ``n_coefficients`` (O(n k)).

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)``; infinite and zero-length points are ignored (a root 0
        leaves ``c_1 .. c_k`` unchanged).
    n_coefficients : int
        Number ``k`` of coefficients returned.

    Returns
    -------
    coefficients : ndarray of shape (n_coefficients,), complex128
        ``c_1 .. c_k``, zero-padded when the diagram has fewer than ``k`` points.
    """
    p = finite_pairs(pairs)
    p = p[p[:, 1] != p[:, 0]]
    a = np.hypot(p[:, 0], p[:, 1])
    roots = (p[:, 1] - p[:, 0]) / 2 * (np.cos(a) - np.sin(a) + 1j * (np.cos(a) + np.sin(a)))
    c = np.zeros(n_coefficients + 1, dtype=np.complex128)
    c[0] = 1.0
    for z in roots:
        c[1:] = c[1:] - z * c[:-1]
    return c[1:]


def summary_statistics(pairs: np.ndarray) -> dict[str, float]:
    """The paper's summaries (:data:`STATISTICS`) of one diagram.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)`` in filtration units; points with an infinite
        coordinate are ignored.

    Returns
    -------
    stats : dict[str, float]
        Keyed by :data:`STATISTICS` (definitions in the module docstring); all
        in filtration units except the entropy (nats) and the polynomial
        coefficients (``c_k`` has units of filtration^k). Every value is 0 for
        an empty diagram.
    """
    p = finite_pairs(pairs)
    b, d = p[:, 0], p[:, 1]

    def stat(fn, x):
        return float(fn(x)) if x.size else 0.0

    out = {
        "mean_life": stat(np.mean, d - b), "mean_midlife": stat(np.mean, (b + d) / 2),
        "mean_birth": stat(np.mean, b), "mean_death": stat(np.mean, d),
        "std_birth": stat(np.std, b), "std_death": stat(np.std, d),
        "persistent_entropy": persistent_entropy(p),
    }
    out.update({f"pooling_vector_{k:02d}": float(v) for k, v in enumerate(pooling_vector(p), start=1)})
    coef = complex_polynomial_t(p)
    out.update({f"complex_polynomial_re_{k:02d}": float(v.real) for k, v in enumerate(coef, start=1)})
    out.update({f"complex_polynomial_im_{k:02d}": float(v.imag) for k, v in enumerate(coef, start=1)})
    return out


def extra_statistics(pairs: np.ndarray) -> dict[str, float]:
    """Descriptive summaries the paper does not use (:data:`EXTRA_STATISTICS`).

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)``; points with an infinite coordinate are ignored.

    Returns
    -------
    stats : dict[str, float]
        ``n_points`` (finite points), population std of lifetimes and of
        midlives, median death and lifetime, ``total_persistence`` (sum of
        lifetimes) and ``max_life``; filtration units except the count. Every
        value is 0 for an empty diagram.
    """
    p = finite_pairs(pairs)
    b, d = p[:, 0], p[:, 1]
    life = d - b

    def stat(fn, x):
        return float(fn(x)) if x.size else 0.0

    return {
        "n_points": float(p.shape[0]), "std_life": stat(np.std, life), "std_midlife": stat(np.std, (b + d) / 2),
        "median_death": stat(np.median, d), "median_life": stat(np.median, life),
        "total_persistence": float(life.sum()), "max_life": stat(np.max, life),
    }
