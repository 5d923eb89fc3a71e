"""Neural-collapse statistics of one layer's embeddings: CDNV, NCC, NC1, effective depth.

The numerics behind :func:`measures.neural_collapse.neural_collapse`. Embeddings
are read in float64 column blocks of at most :data:`BLOCK_BYTES`, so a wide
layer (``n_neurons >> n_samples``) never costs more than one block of memory
on top of its class means, and no ``(n_neurons, n_neurons)`` matrix is formed.

References
----------
Galanti, Gyorgy, Hutter 2022, "On the role of neural collapse in transfer
learning", ICLR (definition of the CDNV). Galanti, Galanti, Ben-Shaul 2023,
"Comparative generalization bounds for deep neural networks", TMLR
(arXiv 2202.09028: NCC accuracy per layer and the epsilon-effective depth).
Papyan, Han, Donoho 2020, "Prevalence of neural collapse during the terminal
phase of deep learning training", PNAS 117(40) (NC1, their Fig. 6).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

#: Size of the float64 column blocks that embeddings are processed in.
BLOCK_BYTES = 64 * 2**20


def _blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    width = max(1, BLOCK_BYTES // (8 * max(n_rows, 1)))
    for start in range(0, n_cols, width):
        yield slice(start, min(start + width, n_cols))


def class_means_and_variances(H: np.ndarray, y_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means ``mu_c`` and variances ``Var_c = mean_{i in c} ||h_i - mu_c||^2``.

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_neurons)
    y_idx : ndarray of shape (n_samples,), int
        Class index in ``[0, k)`` of each sample; every class has a sample.
    k : int
        Number of classes.

    Returns
    -------
    means : ndarray of shape (k, n_neurons), float64
    variances : ndarray of shape (k,), float64
        Population variances (divided by the class size, as Galanti et al. 2022
        define ``Var_f(Q) = E_{x~Q} ||f(x) - mu_f(Q)||^2``), computed from the
        residuals, not as ``E||h||^2 - ||mu||^2``.
    """
    counts = np.bincount(y_idx, minlength=k).astype(np.float64)
    onehot = np.zeros((H.shape[0], k))
    onehot[np.arange(H.shape[0]), y_idx] = 1.0
    means = np.empty((k, H.shape[1]))
    ss = np.zeros(k)
    for sl in _blocks(*H.shape):
        Hb = np.asarray(H[:, sl], dtype=np.float64)
        means[:, sl] = (onehot.T @ Hb) / counts[:, None]
        ss += np.bincount(y_idx, weights=((Hb - means[y_idx, sl]) ** 2).sum(axis=1), minlength=k)
    return means, ss / counts


def cdnv(means: np.ndarray, variances: np.ndarray) -> float | None:
    """Class-distance normalised variance, averaged over class pairs.

    ``Avg_{i != j} (Var_i + Var_j) / (2 ||mu_i - mu_j||^2)``, Galanti et al.
    2022's ``V_f(Q_i, Q_j)`` averaged over class pairs as Galanti et al. 2023
    report it per layer (the pair value is symmetric, so this is the mean over
    pairs ``i < j``). Dimensionless; 0 at full collapse.

    Parameters
    ----------
    means : ndarray of shape (k, n_neurons)
    variances : ndarray of shape (k,)

    Returns
    -------
    float or None
        None (undefined) when two class means coincide.
    """
    k = means.shape[0]
    values = []
    for i in range(k - 1):
        dist2 = ((means[i + 1:] - means[i]) ** 2).sum(axis=1)
        if (dist2 == 0).any():
            return None
        values.append((variances[i] + variances[i + 1:]) / (2.0 * dist2))
    return float(np.concatenate(values).mean())


def ncc_predict(H: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Nearest class centre (Euclidean) of each row of ``H``.

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_neurons)
    means : ndarray of shape (k, n_neurons)

    Returns
    -------
    ndarray of shape (n_samples,), int
        Index of the nearest row of ``means``; ties go to the lower index.
    """
    d2 = np.zeros((H.shape[0], means.shape[0]))
    for sl in _blocks(*H.shape):
        Hb, Mb = np.asarray(H[:, sl], dtype=np.float64), means[:, sl]
        d2 += (Hb**2).sum(axis=1)[:, None] - 2.0 * Hb @ Mb.T + (Mb**2).sum(axis=1)[None, :]
    return np.argmin(d2, axis=1)


def nc1(H: np.ndarray, y_idx: np.ndarray, means: np.ndarray,
        global_mean: Literal["samples", "class_means"] = "samples") -> float | None:
    """Within-class variability collapse ``Tr(Sigma_W Sigma_B^+) / C`` (Papyan et al. 2020, Fig. 6).

    ``Sigma_W = Ave_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T`` over all samples,
    ``Sigma_B = Ave_c (mu_c - mu_G)(mu_c - mu_G)^T`` over the ``C`` classes,
    ``+`` the Moore-Penrose pseudo-inverse. With ``A = (M - mu_G) / sqrt(C)``
    (rows ``mu_c - mu_G``) and its thin SVD ``A = U S V^T`` of rank ``r <= C - 1``,
    ``Sigma_B^+ = V S^-2 V^T``, so the trace is
    ``sum_k ||R v_k||^2 / (n s_k^2)`` with ``R`` the residuals ``h_i - mu_{y_i}``:
    ``O(n_samples * n_neurons * C)`` work and no ``(n_neurons, n_neurons)`` matrix.
    Singular values below ``s_max * max(C, n_neurons) * eps`` count as zero
    (NumPy's ``matrix_rank`` tolerance), as ``pinv`` would drop them, with
    ``eps`` the machine precision of ``H``'s dtype: class means of float32
    embeddings are exact only to float32 rounding, so a layer whose rank is
    below ``C - 1`` has rounding-level singular values that float64's ``eps``
    would count as rank (and whose inverse squares would dominate the trace).

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_neurons)
    y_idx : ndarray of shape (n_samples,), int
        Class index in ``[0, C)``; every class has a sample.
    means : ndarray of shape (C, n_neurons)
        Class means of ``H`` (:func:`class_means_and_variances`).
    global_mean : {"samples", "class_means"}
        ``mu_G`` as the paper defines it, the mean of all samples; or the
        unweighted mean of the class means, as Papyan et al.'s public code
        computes it (the same for balanced classes).

    Returns
    -------
    float or None
        Dimensionless, >= 0, 0 at full collapse; None (undefined) when all class
        means coincide (``Sigma_B = 0``).
    """
    k, d = means.shape
    n = H.shape[0]
    if global_mean == "samples":
        mu_g = np.bincount(y_idx, minlength=k) @ means / n
    else:
        mu_g = means.mean(axis=0)
    _, s, vt = np.linalg.svd((means - mu_g) / np.sqrt(k), full_matrices=False)
    if s[0] == 0.0:
        return None
    eps = np.finfo(H.dtype if np.issubdtype(H.dtype, np.floating) else np.float64).eps
    rank = min(int(np.sum(s > s[0] * max(k, d) * eps)), k - 1)
    s, vt = s[:rank], vt[:rank]
    projected = np.zeros((n, rank))  # R V, shape (n_samples, rank)
    for sl in _blocks(n, d):
        residual = np.asarray(H[:, sl], dtype=np.float64) - means[y_idx, sl]
        projected += residual @ vt[:, sl].T
    return float(np.sum((projected**2).sum(axis=0) / (n * s**2)) / k)


def effective_depth(ncc_errors: Sequence[float], n_samples: int, epsilon: float) -> int | None:
    """The epsilon-effective depth: the first layer whose NCC train error is at most ``epsilon``.

    Galanti, Galanti, Ben-Shaul 2023, their ``d^epsilon_S(f)``: the minimal
    ``i`` in ``[L]`` such that the nearest-class-centre classifier on the
    embeddings of layer ``i`` (class centres from ``S``) errs on at most a
    fraction ``epsilon`` of ``S``.

    Parameters
    ----------
    ncc_errors : sequence of int or float
        NCC errors on the train sample of layers ``1..L``, in forward order: counts,
        or error rates with ``n_samples = 1``.
    n_samples : int
        Size of that sample (1 when ``ncc_errors`` are rates).
    epsilon : float
        Tolerated error rate, in [0, 1].

    Returns
    -------
    int or None
        The 1-based layer index; None when no layer reaches ``epsilon``.
    """
    for depth, errors in enumerate(ncc_errors, start=1):
        if errors <= epsilon * n_samples + 1e-9:  # counts, so 0.99 accuracy meets epsilon = 0.01
            return depth
    return None
