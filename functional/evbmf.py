"""Empirical variational Bayesian matrix factorisation (EVBMF), the global analytic solution.

Nakajima, Sugiyama, Babacan and Tomioka, "Global analytic solution of fully-observed
variational Bayesian matrix factorization", JMLR 14 (2013) 1-37, with the noise variance
estimated as in Nakajima, Tomioka, Sugiyama and Babacan, "Perfect dimensionality recovery by
variational Bayesian PCA" (NIPS 2012; JMLR 16 (2015) 3757-3811, "Condition for perfect
dimensionality recovery ...").

Notation of the papers: ``V`` is ``L x M`` with ``L <= M`` (a wider matrix is transposed),
``alpha = L / M``, ``gamma_1 >= ... >= gamma_L`` its singular values, ``sigma^2`` the noise
variance. The EVB estimate keeps the singular vectors and replaces each singular value by

- ``0`` when ``gamma_h <= gamma_EVB = sigma sqrt(M x_bar)``, ``x_bar = (1 + tau_bar)(1 + alpha / tau_bar)``;
- ``gamma_h / 2 (1 - (L + M) sigma^2 / gamma_h^2 + sqrt((1 - (L + M) sigma^2 / gamma_h^2)^2
  - 4 L M sigma^4 / gamma_h^4))`` otherwise,

``tau_bar`` being the unique positive zero of ``log(tau + 1) + alpha log(tau / alpha + 1) - tau``
(``Phi(tau) + Phi(tau / alpha) = 0`` with ``Phi(z) = log(z + 1) / z - 1/2``). With ``sigma^2``
unknown, it minimises the free energy (up to constants, in units of ``L M / 2``)
``Omega(sigma^2) = sum_h psi(x_h)``, ``x_h = gamma_h^2 / (M sigma^2)``,
``psi(x) = x - log x + [x > x_bar] psi_1(x)``, ``psi_1(x) = log(tau(x) + 1) + alpha log(tau(x) / alpha + 1)
- tau(x)``, ``tau(x) = (x - (1 + alpha) + sqrt((x - (1 + alpha))^2 - 4 alpha)) / 2``, over
``[sigma_low^2, sigma_high^2]`` with ``sigma_high^2 = sum_h gamma_h^2 / (L M)``, ``H_bar = ceil(L / (1 + alpha)) - 1``
and ``sigma_low^2 = max(gamma_{H_bar+1}^2 / (M x_bar), sum_{h > H_bar} gamma_h^2 / (M (L - H_bar)))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass

#: The approximation ``tau_bar ~ 2.5129 sqrt(alpha)`` of the public EVBMF ports (AdaS/RMSGD and
#: GenProb ``EVBMF``): exact at ``alpha = 1``, below the exact value for ``alpha < 1``.
TAU_BAR_AT_ONE = 2.5129

_GRID = 200  # log-spaced points of the global search for the noise variance


@lru_cache(maxsize=256)
def tau_bar(alpha: float, approximate: bool = False) -> float:
    """``tau_bar(alpha)``, the zero of ``log(tau + 1) + alpha log(tau / alpha + 1) - tau`` on ``tau > 0``.

    Parameters
    ----------
    alpha : float
        Aspect ratio ``L / M`` in ``(0, 1]``.
    approximate : bool
        Return ``2.5129 sqrt(alpha)`` (the approximation of the reference code) instead.

    Raises
    ------
    ValueError
        If ``alpha`` is not in ``(0, 1]``.
    """
    from scipy.optimize import brentq

    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha = L / M must be in (0, 1]; got {alpha}")
    if approximate:
        return TAU_BAR_AT_ONE * math.sqrt(alpha)
    # concave in tau, 0 at tau = 0 with slope 1, -> -inf: one positive zero, below 4 sqrt(alpha) + 4
    return float(brentq(lambda t: math.log1p(t) + alpha * math.log1p(t / alpha) - t,
                        1e-12 * math.sqrt(alpha), 4.0 * math.sqrt(alpha) + 4.0, xtol=1e-14, rtol=1e-14))


def x_bar(alpha: float, approximate: bool = False) -> float:
    """``x_bar = (1 + tau_bar)(1 + alpha / tau_bar)``: ``gamma_EVB^2 / (M sigma^2)``."""
    t = tau_bar(alpha, approximate)
    return (1.0 + t) * (1.0 + alpha / t)


def evbmf_threshold(noise_variance: float, shape: tuple[int, int], approximate: bool = False) -> float:
    """Truncation threshold ``gamma_EVB = sqrt(M sigma^2 x_bar)`` for an ``(L, M)`` matrix (either order)."""
    L, M = sorted(shape)
    return math.sqrt(M * noise_variance * x_bar(L / M, approximate))


def evbmf_shrinkage(gamma: np.ndarray, noise_variance: float, shape: tuple[int, int]) -> np.ndarray:
    """EVB estimate ``gamma_breve_h`` of singular values above the threshold (formula in the module docstring).

    Parameters
    ----------
    gamma : ndarray of shape (k,)
        Observed singular values, each above :func:`evbmf_threshold`.
    noise_variance : float
        ``sigma^2``.
    shape : tuple of int
        ``(L, M)`` of the matrix, in either order.
    """
    L, M = sorted(shape)
    g2 = np.asarray(gamma, dtype=np.float64) ** 2
    a = 1.0 - (L + M) * noise_variance / g2
    disc = np.maximum(a**2 - 4.0 * L * M * noise_variance**2 / g2**2, 0.0)
    return np.sqrt(g2) / 2.0 * (a + np.sqrt(disc))


def evbmf_free_energy(noise_variance, gamma: np.ndarray, shape: tuple[int, int], approximate: bool = False):
    """``Omega(sigma^2)`` of the module docstring, minus the constant ``-sum_h log(gamma_h^2 / M)``.

    Written as ``sum_h x_h + L log(sigma^2) + sum_{x_h > x_bar} psi_1(x_h)`` so that zero singular
    values are allowed.

    Parameters
    ----------
    noise_variance : float or ndarray of shape (k,)
        ``sigma^2 > 0``, one value or several (evaluated at once).
    gamma : ndarray of shape (L,)
        All ``L = min(shape)`` singular values.
    shape : tuple of int
        ``(m, n)`` of the matrix, in either order.
    approximate : bool
        Use ``tau_bar ~ 2.5129 sqrt(alpha)``.

    Returns
    -------
    float or ndarray of shape (k,)
    """
    L, M = sorted(shape)
    alpha = L / M
    s2 = np.asarray(noise_variance, dtype=np.float64)
    x = np.asarray(gamma, dtype=np.float64) ** 2 / (M * s2[..., None])  # (k, L)
    xb = x_bar(alpha, approximate)
    kept = x > xb
    u = np.where(kept, x, xb) - (1.0 + alpha)  # x_bar where psi_1 is not used keeps the logs finite
    tau = 0.5 * (u + np.sqrt(np.maximum(u**2 - 4.0 * alpha, 0.0)))
    psi1 = np.where(kept, np.log1p(tau) + alpha * np.log1p(tau / alpha) - tau, 0.0)
    out = x.sum(axis=-1) + L * np.log(s2) + psi1.sum(axis=-1)
    return float(out) if out.ndim == 0 else out


def noise_variance_bounds(gamma: np.ndarray, shape: tuple[int, int], approximate: bool = False) -> tuple[float, float]:
    """``(sigma_low^2, sigma_high^2)``, the interval that holds the EVB noise variance (module docstring)."""
    L, M = sorted(shape)
    g2 = np.asarray(gamma, dtype=np.float64) ** 2
    h_bar = min(math.ceil(L / (1.0 + L / M)) - 1, L - 1)
    high = float(g2.sum() / (L * M))
    low = max(g2[h_bar] / (M * x_bar(L / M, approximate)), g2[h_bar:].sum() / (M * (L - h_bar)))
    return min(float(low), high), high


def estimate_noise_variance(gamma: np.ndarray, shape: tuple[int, int], approximate: bool = False) -> float:
    """EVB noise variance: global minimiser of :func:`evbmf_free_energy` over :func:`noise_variance_bounds`.

    A log-spaced grid finds the best basin, a bounded Brent search refines it.
    """
    from scipy.optimize import minimize_scalar

    low, high = noise_variance_bounds(gamma, shape, approximate)
    if high <= 0.0:
        return 0.0
    if low >= high:
        return high
    low = max(low, high * 1e-12)
    grid = np.geomspace(low, high, _GRID)
    values = evbmf_free_energy(grid, gamma, shape, approximate)
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, _GRID - 1)]
    res = minimize_scalar(lambda s2: evbmf_free_energy(s2, gamma, shape, approximate), bounds=(lo, hi),
                          method="bounded", options={"xatol": lo * 1e-10})
    return float(res.x) if res.fun <= values[i] else float(grid[i])


@dataclass(frozen=True)
class EVBMFResult:
    """EVB estimate ``U diag(singular_values) Vt`` of a matrix.

    Attributes
    ----------
    U : ndarray of shape (m, rank)
    singular_values : ndarray of shape (rank,)
        Shrunk singular values, descending.
    Vt : ndarray of shape (rank, n)
    noise_variance : float
        ``sigma^2``, estimated unless given.
    threshold : float
        ``gamma_EVB``: observed singular values at or below it are set to 0.
    """

    U: np.ndarray
    singular_values: np.ndarray
    Vt: np.ndarray
    noise_variance: float
    threshold: float

    @property
    def rank(self) -> int:
        """Number of kept components."""
        return int(self.singular_values.size)

    def matrix(self) -> np.ndarray:
        """The low-rank estimate, of the input's shape ``(m, n)``."""
        return (self.U * self.singular_values) @ self.Vt


def evbmf_singular_values(gamma: np.ndarray, shape: tuple[int, int], noise_variance: float | None = None,
                          approximate: bool = False) -> tuple[np.ndarray, float, float]:
    """EVB singular values from the observed ones.

    Parameters
    ----------
    gamma : ndarray of shape (min(shape),)
        All singular values of the matrix, descending.
    shape : tuple of int
        ``(m, n)`` of the matrix (the order does not matter).
    noise_variance : float or None
        ``sigma^2``; estimated (:func:`estimate_noise_variance`) when None.
    approximate : bool
        Use ``tau_bar ~ 2.5129 sqrt(alpha)`` as the reference code does.

    Returns
    -------
    singular_values : ndarray of shape (rank,)
        Kept, shrunk singular values, descending.
    noise_variance : float
    threshold : float

    Raises
    ------
    ValueError
        If ``gamma`` does not hold ``min(shape)`` finite non-negative values or ``noise_variance`` is negative.
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    if gamma.shape != (min(shape),) or not np.isfinite(gamma).all() or (gamma < 0).any():
        raise ValueError(f"gamma must hold the min(shape) = {min(shape)} finite non-negative singular values of a "
                         f"{tuple(shape)} matrix; got an array of shape {gamma.shape}")
    if noise_variance is None:
        noise_variance = estimate_noise_variance(gamma, shape, approximate)
    elif noise_variance < 0:
        raise ValueError(f"noise_variance must be >= 0; got {noise_variance}")
    threshold = evbmf_threshold(noise_variance, shape, approximate)
    kept = gamma[gamma > threshold]
    return (evbmf_shrinkage(kept, noise_variance, shape) if kept.size else kept), float(noise_variance), threshold


def evbmf(Y: np.ndarray, noise_variance: float | None = None, approximate: bool = False) -> EVBMFResult:
    """EVB low-rank estimate of a matrix (Nakajima et al. 2013, Theorem for the EVB solution).

    Parameters
    ----------
    Y : ndarray of shape (m, n)
        Observed matrix; any ``m``, ``n`` (the solution is the same for ``Y.T``, transposed).
    noise_variance : float or None
        ``sigma^2``; estimated by minimising the free energy when None.
    approximate : bool
        Use ``tau_bar ~ 2.5129 sqrt(alpha)`` (reference code) instead of the exact zero.

    Returns
    -------
    EVBMFResult

    Raises
    ------
    ValueError
        If ``Y`` is not a non-empty finite 2-D array.
    """
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.size == 0 or not np.isfinite(Y).all():
        raise ValueError(f"Y must be a non-empty finite 2-D array; got shape {Y.shape}")
    U, gamma, Vt = np.linalg.svd(Y, full_matrices=False)
    d, s2, thr = evbmf_singular_values(gamma, Y.shape, noise_variance, approximate)
    return EVBMFResult(U[:, :d.size], d, Vt[:d.size], s2, thr)
