"""Topological regularisers: deaths of the 0-dimensional persistence diagram of neurons.

Ballester, Casacuberta and Escalera, *Decorrelating neurons using persistence*
(arXiv:2308.04870; NeurIPS 2023 workshop on Symmetry and Geometry in Neural
Representations). The selected neurons of a mini-batch (see
:func:`models.regularisers.selection.select_neurons`) form a finite metric
space with the correlation dissimilarity ``d(i, j) = 1 - |corr(a_i, a_j)|``.
Every point of its Vietoris-Rips filtration is born at 0, and the ``n - 1``
finite deaths of the 0-dimensional persistence diagram are the edge weights of
a minimum spanning tree (MST). Raising those deaths lowers the correlations of
the most correlated pairs of neurons, those that hold the neuron cloud together.

Differentiability: the MST is found without autograd (numpy Prim on a detached
copy, :func:`functional.persistence.h0.mst_edges`), then the deaths are read back
from torch, ``D[i, j]`` for each tree edge, so the gradient flows to the
activations. Where the MST is unique (no ties), the deaths are locally a
selection of entries of ``D`` and this is their exact gradient.
:func:`h0_deaths` does this for any distance matrix; the regularisers use
:func:`correlation_h0_deaths`, which recomputes only the ``n - 1`` tree
entries from the activations, so the backward pass costs ``O(batch * n)``
instead of ``O(batch * n^2)``.

Differences from the paper's public code (rballeba/DecorrelatingNeuronsUsingPersistence):
zero-length bars (duplicated neurons) are kept as deaths of 0, where that code
returns a zero penalty whenever the diagram has fewer than ``n - 1`` points;
dead or constant neurons get correlation 0 with finite gradients, where that
code relies on the training loop zeroing non-finite gradients; every hidden
layer contributes at least one neuron to the selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from functional.persistence.h0 import mst_edges
from models.regularisers import RegulariserParams, register_regulariser
from models.regularisers.selection import select_neurons

if TYPE_CHECKING:
    import torch


__all__ = [
    "h0_deaths",
    "correlation_h0_deaths",
    "TopologicalT1Params",
    "TopologicalT2Params",
    "topological_t1",
    "topological_t2",
]

PAPER = "Ballester, Casacuberta, Escalera, Decorrelating neurons using persistence, arXiv:2308.04870 (2023)"


def _params(params: RegulariserParams, cls: type[RegulariserParams]) -> RegulariserParams:
    """``params`` as ``cls``: a bare ``RegulariserParams()`` (nothing set) means the defaults."""
    return params if isinstance(params, cls) else cls.model_validate(params.model_dump())


def h0_deaths(D: torch.Tensor) -> torch.Tensor:
    """Differentiable deaths of the 0-dimensional Vietoris-Rips persistence diagram.

    Parameters
    ----------
    D : Tensor of shape (n_points, n_points)
        Symmetric, finite, non-negative distances (the diagonal is ignored),
        e.g. :func:`functional.correlation.tensors.correlation_distance`.

    Returns
    -------
    deaths : Tensor of shape (n_points - 1,)
        The MST edge weights ``D[i, j]``, sorted increasingly, with gradients
        flowing to ``D``. Zero-length bars (duplicated points, ``D[i, j] = 0``)
        are kept, so there are always ``n_points - 1`` deaths (libraries such
        as gudhi and ripser drop them). Empty for ``n_points < 2``.

    Raises
    ------
    ValueError
        If ``D`` is not square or has non-finite entries (the rows at fault
        are named).

    Notes
    -----
    Where the MST is not unique (tied distances), the deaths are still right
    and the gradient is that of one of the minimum spanning trees (a valid
    one-sided derivative).
    """
    import torch

    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distance matrix must have shape (n_points, n_points); got {tuple(D.shape)}")
    n = D.shape[0]
    if n < 2:
        return D.new_zeros(0)
    with torch.no_grad():
        Dn = D.detach()
        if Dn.dtype not in (torch.float32, torch.float64):
            Dn = Dn.float()
        edges, _ = mst_edges(Dn.cpu().numpy())
    idx = torch.from_numpy(edges).to(D.device)
    deaths = D[idx[:, 0], idx[:, 1]]
    return torch.sort(deaths).values


def correlation_h0_deaths(X: torch.Tensor) -> torch.Tensor:
    """H0 deaths of neurons under ``1 - |corr|``, with a backward pass in ``O(batch * n)``.

    Equal (up to rounding) in value and gradient to
    ``h0_deaths(correlation_distance(X))``, but the ``(n, n)`` distance matrix
    is computed without autograd, only to find the minimum spanning tree; the
    ``n - 1`` deaths are then recomputed differentiably from the tree's
    endpoints (:func:`functional.correlation.tensors.correlation_distance_pairs`).

    Parameters
    ----------
    X : Tensor of shape (batch, n_neurons)
        Activations of the neurons.

    Returns
    -------
    deaths : Tensor of shape (n_neurons - 1,)
        Sorted increasingly; zero-length bars kept; dead or constant neurons
        give deaths of 1.
    """
    import torch

    from functional.correlation.tensors import normalised_columns, pair_distances

    n = X.shape[1]
    if n < 2:
        return X.new_zeros(0, dtype=torch.float64 if X.dtype == torch.float64 else torch.float32)
    Z, _ = normalised_columns(X)
    with torch.no_grad():
        # only to find the tree: no symmetrisation or clipping, in place (rounding-level
        # asymmetry does not change which edges are in the MST except between ties)
        Zd = Z.detach()
        D = (Zd.T @ Zd).abs_().neg_().add_(1.0)
        D.fill_diagonal_(0.0)
    edges, _ = mst_edges(D.cpu().numpy())
    return torch.sort(pair_distances(Z, edges)).values


def _deaths(fraction: float, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    return correlation_h0_deaths(select_neurons(activations, fraction))


class TopologicalT1Params(RegulariserParams):
    """Parameters of ``topological_t1``.

    Attributes
    ----------
    fraction : float
        Fraction ``p`` in ``(0, 1]`` of each hidden layer's neurons kept (those
        of highest mean ``|activation|`` on the batch); the logits are always
        kept whole. The paper uses 1.0 for MNIST MLPs and 0.005 for the PGDL
        networks.
    normalise : bool
        If true, divide by the number of deaths (``-mean`` instead of ``-sum``),
        so that one weight suits networks of different widths. The paper
        uses the sum (``False``).
    """

    fraction: float = Field(1.0, gt=0.0, le=1.0)
    normalise: bool = False


@register_regulariser(params=TopologicalT1Params, version=1, paper=PAPER)
def topological_t1(params: TopologicalT1Params, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """T1 of Ballester et al. (arXiv:2308.04870): minus the sum of the H0 deaths.

    ``T1 = - sum_{k=1}^{n-1} d_k`` where ``d_k`` are the deaths of the
    0-dimensional persistence diagram of the selected neurons under
    ``d(i, j) = 1 - |corr(a_i, a_j)|``, i.e. the MST edge weights. Minimising
    T1 maximises the deaths, i.e. lowers ``|corr|`` along the MST edges.

    Parameters
    ----------
    params : TopologicalT1Params
    activations : dict of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, the logits last.

    Returns
    -------
    value : Tensor of shape ()
        In ``[-(n - 1), 0]`` (``[-1, 0]`` with ``normalise``), ``n`` the
        number of selected neurons. Each dead or constant neuron adds a
        constant death of 1 (distance 1 from everyone) and no gradient.
        0 when fewer than two neurons are selected.
    """
    params = _params(params, TopologicalT1Params)
    deaths = _deaths(params.fraction, activations)
    if deaths.numel() == 0:
        return deaths.new_zeros(())
    return -deaths.mean() if params.normalise else -deaths.sum()


class TopologicalT2Params(RegulariserParams):
    """Parameters of ``topological_t2``.

    Attributes
    ----------
    fraction : float
        As for ``topological_t1``.
    alpha : float
        Weight ``a`` in ``[0, 1]`` of the standard deviation against the mean
        of the deaths (0.5 in the paper's code).
    """

    fraction: float = Field(1.0, gt=0.0, le=1.0)
    alpha: float = Field(0.5, ge=0.0, le=1.0)


@register_regulariser(params=TopologicalT2Params, version=1, paper=PAPER)
def topological_t2(params: TopologicalT2Params, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """T2 of Ballester et al. (arXiv:2308.04870): spread minus mean of the H0 deaths.

    ``T2 = a * std(d) - (1 - a) * mean(d)`` over the ``n - 1`` deaths ``d`` of
    the 0-dimensional persistence diagram of the selected neurons (as in
    ``topological_t1``), with the population standard deviation
    ``std(d) = sqrt(mean((d - mean(d))^2))`` (TensorFlow's ``reduce_std``, as
    in the paper's code). Minimising T2 raises the deaths and makes them more
    uniform.

    Parameters
    ----------
    params : TopologicalT2Params
    activations : dict of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, the logits last.

    Returns
    -------
    value : Tensor of shape ()
        0 when fewer than two neurons are selected. Dead or constant neurons
        count as deaths of 1 (they are at distance 1 from everyone).

    Notes
    -----
    The sign follows the paper's public code, which adds ``+a * std`` to the
    minimised loss, so the standard deviation of the deaths is *minimised*,
    although that function's docstring says the standard deviation is
    maximised. When all deaths are equal the standard deviation has no
    derivative; its gradient is taken as 0 there (not NaN).
    """
    import torch

    params = _params(params, TopologicalT2Params)
    deaths = _deaths(params.fraction, activations)
    if deaths.numel() == 0:
        return deaths.new_zeros(())
    mean = deaths.mean()
    var = ((deaths - mean) ** 2).mean()
    positive = var > 0
    std = torch.where(positive, torch.where(positive, var, torch.ones_like(var)).sqrt(), torch.zeros_like(var))
    return params.alpha * std - (1.0 - params.alpha) * mean
