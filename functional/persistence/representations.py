"""Vector representations of persistence diagrams on a fixed grid (gudhi.representations).

Optional extras of the persistence measures, not used by Ballester et al. 2023:
persistence landscapes (Bubenik 2015), Betti curves and persistence images
(Adams et al. 2017). The filtration here is the correlation distance, bounded
in [0, 1], so every representation is sampled on the fixed range [0, 1]
(births, deaths and persistences alike) rather than on a range fitted to the
data: the same component then means the same filtration value for every
network, and components can be averaged over bootstraps and compared across
runs. Only finite points are represented (the essential H0 class would add a
constant).

Statistic names (per homology dimension ``q``; indices zero-based, zero-padded
to at least 3 digits, more when the resolution needs them):

* ``h{q}_landscape_k{k}_{i}``: landscape ``lambda_k`` (k from 1) at ``t_i``;
* ``h{q}_betti_curve_{i}``: Betti number at ``t_i``;
* ``h{q}_persistence_image_b{i}_p{j}``: pixel at birth ``x_i``, persistence ``y_j``;

where ``t_i``, ``x_i``, ``y_j`` are ``numpy.linspace(0, 1, resolution)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from functional.persistence.summaries import finite_pairs

if TYPE_CHECKING:
    pass

#: Sampled filtration range, in distance units (the correlation distance lies in [0, 1]).
RANGE = (0.0, 1.0)


def _width(resolution: int) -> int:
    return max(3, len(str(resolution - 1)))


def _check_resolution(resolution: int, what: str) -> None:
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"{what} must be an integer >= 2; got {resolution!r}")


def landscape(pairs: np.ndarray, n_landscapes: int, resolution: int) -> np.ndarray:
    """Persistence landscapes ``lambda_1 .. lambda_K`` sampled on ``linspace(0, 1, resolution)``.

    Bubenik's definition: ``lambda_k(t)`` is the k-th largest of
    ``max(0, min(t - b, d - t))`` over the points ``(b, d)``. gudhi's
    ``Landscape`` returns ``sqrt(2)`` times this (tent heights in rotated
    coordinates); the factor is removed here.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)`` in distance units; infinite points are ignored.
    n_landscapes : int
        ``K >= 1``.
    resolution : int
        Number of sample points, ``>= 2``.

    Returns
    -------
    lambdas : ndarray of shape (n_landscapes, resolution)
        In distance units; 0 beyond the number of points.

    Raises
    ------
    ValueError
        If ``n_landscapes < 1`` or ``resolution < 2``.
    """
    from gudhi.representations import Landscape

    if int(n_landscapes) != n_landscapes or n_landscapes < 1:
        raise ValueError(f"n_landscapes must be an integer >= 1; got {n_landscapes!r}")
    _check_resolution(resolution, "landscape resolution")
    rep = Landscape(num_landscapes=n_landscapes, resolution=resolution, sample_range=list(RANGE))
    out = rep.fit_transform([finite_pairs(pairs)])[0] / np.sqrt(2)
    return out.reshape(n_landscapes, resolution)


def betti_curve(pairs: np.ndarray, resolution: int) -> np.ndarray:
    """Betti curve ``beta(t) = #{(b, d) : b <= t < d}`` on ``linspace(0, 1, resolution)``.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)``; infinite points are ignored.
    resolution : int
        Number of sample points, ``>= 2``.

    Returns
    -------
    betti : ndarray of shape (resolution,), float64
        Counts (dimensionless).

    Raises
    ------
    ValueError
        If ``resolution < 2``.
    """
    from gudhi.representations import BettiCurve

    _check_resolution(resolution, "Betti curve resolution")
    rep = BettiCurve(resolution=resolution, sample_range=list(RANGE))
    return rep.fit_transform([finite_pairs(pairs)])[0].astype(np.float64)


def persistence_image(pairs: np.ndarray, resolution: int, bandwidth: float) -> np.ndarray:
    """Persistence image (Adams et al. 2017) on the (birth, persistence) square [0, 1]^2.

    Each finite point ``(b, d)`` becomes ``(b, p = d - b)`` with weight ``p``
    (linear, zero on the diagonal, as Adams et al.'s stability result needs);
    the image is ``sum_j p_j N((x, y); (b_j, p_j), bandwidth^2 I)`` evaluated
    (not integrated) at the grid points, gudhi's ``PersistenceImage``.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
        ``(birth, death)`` in distance units; infinite points are ignored.
    resolution : int
        Pixels per axis, ``>= 2``.
    bandwidth : float
        Standard deviation of the Gaussian kernel, in distance units, ``> 0``.

    Returns
    -------
    image : ndarray of shape (resolution, resolution)
        ``image[i, j]`` at birth ``x_i`` and persistence ``y_j``.

    Raises
    ------
    ValueError
        If ``resolution < 2`` or ``bandwidth <= 0``.
    """
    from gudhi.representations import PersistenceImage

    _check_resolution(resolution, "persistence image resolution")
    if not bandwidth > 0:
        raise ValueError(f"persistence image bandwidth must be > 0; got {bandwidth!r}")
    rep = PersistenceImage(bandwidth=bandwidth, weight=lambda x: x[1], resolution=[resolution, resolution],
                           im_range=[*RANGE, *RANGE])
    flat = rep.fit_transform([finite_pairs(pairs)])[0]
    return flat.reshape(resolution, resolution).T  # gudhi's rows are persistence, columns birth


def representation_statistics(pairs: np.ndarray, *, landscapes: int = 0, landscape_resolution: int = 100,
                              betti_resolution: int = 0, image_resolution: int = 0,
                              image_bandwidth: float = 0.05) -> dict[str, float]:
    """The chosen representations of one diagram, as named statistics (see the module docstring).

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, 2)
    landscapes : int
        Number of landscapes; 0 leaves them out.
    landscape_resolution : int
    betti_resolution, image_resolution : int
        0 leaves the Betti curve / the persistence image out.
    image_bandwidth : float

    Returns
    -------
    stats : dict[str, float]
        Names without the ``h{q}_`` prefix, e.g. ``landscape_k1_007``.
    """
    out: dict[str, float] = {}
    if landscapes:
        w = _width(landscape_resolution)
        lam = landscape(pairs, landscapes, landscape_resolution)
        out.update({f"landscape_k{k + 1}_{i:0{w}d}": float(lam[k, i])
                    for k in range(landscapes) for i in range(landscape_resolution)})
    if betti_resolution:
        w = _width(betti_resolution)
        out.update({f"betti_curve_{i:0{w}d}": float(v) for i, v in enumerate(betti_curve(pairs, betti_resolution))})
    if image_resolution:
        w = _width(image_resolution)
        img = persistence_image(pairs, image_resolution, image_bandwidth)
        out.update({f"persistence_image_b{i:0{w}d}_p{j:0{w}d}": float(img[i, j])
                    for i in range(image_resolution) for j in range(image_resolution)})
    return out
