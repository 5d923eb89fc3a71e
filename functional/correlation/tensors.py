"""Differentiable Pearson correlations between neurons over a mini-batch, in torch.

The training form of :mod:`functional.correlation` (the measures' numpy form is
:mod:`functional.correlation.arrays`), used by the correlation-based
regularisers: :func:`correlation_matrix` and :func:`correlation_distance`, the
correlation dissimilarity ``d(i, j) = 1 - |corr(a_i, a_j)|`` of Ballester et
al., *Decorrelating neurons using persistence* (arXiv:2308.04870), computed so
that dead or constant neurons never give NaN values or NaN gradients, and
:func:`correlation_distance_pairs` (or :func:`pair_distances` on
:func:`normalised_columns`) for a few entries at ``O(batch * n)`` cost.

Zero-variance neurons
---------------------
A neuron whose activation is the same for every example of the batch (a dead
ReLU, all zeros, or any constant) has no defined correlation. Here it gets
correlation 0 with every other neuron, i.e. distance 1 from everyone, as the
paper's code does (it replaces the NaN correlations by 0). The masking is done
*before* normalising: ``torch.corrcoef`` followed by ``nan_to_num`` would give
NaN gradients to every live neuron as soon as one neuron is dead. A neuron is
zero-variance when its maximum over the batch equals its minimum (exactly:
:func:`functional.correlation.zero_variance_mask`, the rule the numpy form
shares); its gradient is then 0, and the live neurons' correlations and gradients are
those computed with the zero-variance neurons removed (up to rounding).
"""

from __future__ import annotations

import torch

from functional.correlation.zero_variance import zero_variance_mask

__all__ = [
    "zero_variance_mask",
    "normalised_columns",
    "correlation_matrix",
    "correlation_distance",
    "correlation_distance_pairs",
    "pair_distances",
]


def _as_float(X: torch.Tensor, where: str) -> torch.Tensor:
    if X.ndim != 2:
        raise ValueError(f"{where} must be a matrix of shape (batch, n_neurons); got shape {tuple(X.shape)}")
    if not X.is_floating_point():
        raise TypeError(f"{where} must be a floating-point tensor; got dtype {X.dtype}")
    if X.dtype in (torch.float16, torch.bfloat16):
        # Half precision loses the correlations of near-duplicate neurons; compute in float32.
        X = X.float()
    return X


def normalised_columns(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centred, unit-norm columns: their dot products are the Pearson correlations.

    ``Z[:, i] = (x_i - m_i) / ||x_i - m_i||`` with ``m_i`` the batch mean, so
    ``C = Z^T Z``. Zero-variance neurons get a zero column (correlation 0 with
    everyone) and no gradient; no NaN can arise in the forward or backward pass.

    Parameters
    ----------
    X : Tensor of shape (batch, n_neurons)
        Activations (float32 or float64; see :func:`correlation_matrix`).

    Returns
    -------
    Z : Tensor of shape (batch, n_neurons)
        Differentiable with respect to ``X``.
    live : BoolTensor of shape (n_neurons,)
        ``False`` for zero-variance neurons.

    Notes
    -----
    Each column is first divided by its range over the batch, a constant
    without gradient. Correlation is invariant to that scale, so the value and
    the gradient are unchanged, but the sums of squares can no longer
    underflow to 0 for tiny but varying activations.
    """
    X = _as_float(X, "activations")
    Z, _, _, live = _normalise(X)
    return Z, live


def _normalise(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Z, r, scale, live)`` with ``Z = ((X / scale) - mean) * live * r``, ``r = 1 / ||.||``."""
    n = X.shape[1]
    live = ~zero_variance_mask(X)
    with torch.no_grad():
        scale = (X.amax(dim=0) - X.amin(dim=0)) if X.shape[0] else X.new_ones(n)
        scale = torch.where(live, scale, torch.ones_like(scale))
    Xs = X / scale
    Xc = (Xs - Xs.mean(dim=0, keepdim=True)) * live.to(X.dtype)  # dead columns exactly 0
    ss = (Xc * Xc).sum(dim=0)
    r = torch.where(live, ss, torch.ones_like(ss)).rsqrt()  # rsqrt never sees a 0
    return Xc * r, r, scale, live


class _Pearson(torch.autograd.Function):
    """Correlation matrix (``distance=False``) or ``1 - |corr|`` (``distance=True``) with a fused backward.

    Written as one autograd node so that a training step makes a handful of
    passes over the ``(n, n)`` matrix instead of one per elementary operation
    (three to four times faster than plain autograd at ``n = 2048`` on one CPU
    thread).
    """

    @staticmethod
    def forward(ctx, X: torch.Tensor, distance: bool):
        Z, r, scale, live = _normalise(X)  # inside a Function's forward: no graph is built
        C = Z.T @ Z
        C.add_(C.T.contiguous()).mul_(0.5)  # exactly symmetric (the matmul is not, bitwise)
        C.clamp_(-1.0, 1.0)
        ctx.save_for_backward(Z, r, scale, live, C)
        ctx.distance = distance
        if distance:
            D = C.abs().neg_().add_(1.0)
            D.fill_diagonal_(0.0)
            return D
        out = C.clone()
        out.fill_diagonal_(1.0)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        Z, r, scale, live, C = ctx.saved_tensors
        # dL/dC (d|c|/dc = sign(c)); the diagonal is constant
        S = C.sign().mul_(grad).neg_() if ctx.distance else grad.clone()
        S.fill_diagonal_(0.0)
        S.add_(S.T.contiguous())  # C = Z^T Z: dL/dZ = Z (S + S^T)
        dZ = Z @ S
        # Z = Xc / ||Xc|| per column: project out the radial part. This also zeroes
        # (up to rounding) the gradient of entries with |C| = 1, an extremum of the
        # correlation (duplicated neurons), where Z_j = +-Z_i.
        dXc = (dZ - Z * (Z * dZ).sum(dim=0, keepdim=True)) * r
        # Xc = (X / scale - mean) * live
        dXc -= dXc.mean(dim=0, keepdim=True)
        dXc *= live.to(dXc.dtype)
        return dXc / scale, None


def correlation_matrix(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pearson correlation between neurons over the batch, safe for constant neurons.

    ``C[i, j] = sum_b (x_bi - m_i)(x_bj - m_j) / (||x_i - m_i|| ||x_j - m_j||)``
    with ``m_i`` the batch mean of neuron ``i``. Zero-variance neurons (see
    :func:`zero_variance_mask`) get correlation 0 with every other neuron and
    receive zero gradient; live neurons are unaffected by them.

    Parameters
    ----------
    X : Tensor of shape (batch, n_neurons)
        Activations, with gradients if they are to flow. Half-precision
        inputs are computed in float32.

    Returns
    -------
    C : Tensor of shape (n_neurons, n_neurons)
        Symmetric, clipped to ``[-1, 1]``, diagonal exactly 1 (also for
        zero-variance neurons).
    live : BoolTensor of shape (n_neurons,)
        ``False`` for zero-variance neurons (no gradient).

    Notes
    -----
    ``C = Z^T Z`` with ``Z`` from :func:`normalised_columns`. Entries with
    ``|C| = 1`` (duplicated neurons, up to sign) get zero gradient, up to
    rounding: the correlation is at an extremum there. The backward pass is
    written by hand (one autograd node, ``O(batch * n^2)``, no double
    backward) and checked against finite differences in the tests.
    """
    X = _as_float(X, "activations")
    live = ~zero_variance_mask(X)
    return _Pearson.apply(X, False), live


def correlation_distance(X: torch.Tensor) -> torch.Tensor:
    """Correlation dissimilarity ``1 - |corr|`` between neurons over the batch.

    The distance of Ballester et al., *Decorrelating neurons using persistence*
    (arXiv:2308.04870): ``d(i, j) = 1 - |C[i, j]|`` with ``C`` the Pearson
    correlation of neurons ``i`` and ``j`` over the mini-batch (see
    :func:`correlation_matrix`).

    Parameters
    ----------
    X : Tensor of shape (batch, n_neurons)
        Activations of the neurons (the point cloud is its columns).

    Returns
    -------
    D : Tensor of shape (n_neurons, n_neurons)
        Symmetric, in ``[0, 1]`` (clipped), zero diagonal. A zero-variance
        (dead or constant) neuron is at distance exactly 1 from every other
        neuron and gets zero gradient; the entries between live neurons, and
        their gradients, equal those computed with the zero-variance neurons
        removed. Duplicated live neurons are at distance 0 up to rounding
        (about ``10 * eps`` of the dtype).
    """
    X = _as_float(X, "activations")
    return _Pearson.apply(X, True)


def correlation_distance_pairs(X: torch.Tensor, pairs) -> torch.Tensor:
    """Selected entries ``D[i, j]`` of :func:`correlation_distance`, in ``O(batch * n)``.

    For a few pairs (e.g. the ``n - 1`` edges of a minimum spanning tree) this
    avoids the ``(n, n)`` matrix and its ``O(batch * n^2)`` backward pass; the
    values and gradients are those of the full matrix (up to rounding).

    Parameters
    ----------
    X : Tensor of shape (batch, n_neurons)
        Activations.
    pairs : LongTensor or int ndarray of shape (n_pairs, 2)
        Neuron indices ``(i, j)``.

    Returns
    -------
    d : Tensor of shape (n_pairs,)
        ``1 - |corr(x_i, x_j)|`` clipped to ``[0, 1]``; 0 where ``i == j``, 1
        where either neuron has zero variance (with no gradient to it).
    """
    return pair_distances(normalised_columns(X)[0], pairs)


def pair_distances(Z: torch.Tensor, pairs) -> torch.Tensor:
    """``1 - |Z_i . Z_j|`` for each pair ``(i, j)``, clipped to ``[0, 1]``, 0 where ``i == j``.

    Parameters
    ----------
    Z : Tensor of shape (batch, n_neurons)
        Normalised columns from :func:`normalised_columns` (reused when the
        caller also needs them, e.g. to find a spanning tree first).
    pairs : LongTensor or int ndarray of shape (n_pairs, 2)

    Returns
    -------
    d : Tensor of shape (n_pairs,)
        See :func:`correlation_distance_pairs`.
    """
    pairs = torch.as_tensor(pairs, dtype=torch.long, device=Z.device)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape (n_pairs, 2); got {tuple(pairs.shape)}")
    Zt = Z.T.contiguous()  # (n, batch): gathering rows is fast
    i, j = pairs[:, 0], pairs[:, 1]
    c = (Zt[i] * Zt[j]).sum(dim=1).clamp(-1.0, 1.0)
    return (1.0 - c.abs()).masked_fill(i == j, 0.0)
