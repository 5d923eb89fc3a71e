"""Correlation-penalising baselines: all-pairs decorrelation and DeCov.

- ``decorrelation``: the baseline of Ballester et al., *Decorrelating neurons
  using persistence* (arXiv:2308.04870): mean absolute correlation over all
  pairs of the selected neurons.
- ``decov``: Cogswell, Ahmed, Girshick, Zitnick and Batra, *Reducing
  overfitting in deep networks by decorrelating representations* (ICLR 2016):
  the squared off-diagonal entries of a layer's batch covariance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from core.errors import UnknownNameError
from models.regularisers import RegulariserParams, register_regulariser
from models.regularisers.selection import select_neurons

if TYPE_CHECKING:
    import torch


__all__ = ["DecorrelationParams", "DecovParams", "decorrelation", "decov"]


def _params(params: RegulariserParams, cls: type[RegulariserParams]) -> RegulariserParams:
    """``params`` as ``cls``: a bare ``RegulariserParams()`` (nothing set) means the defaults."""
    return params if isinstance(params, cls) else cls.model_validate(params.model_dump())


class DecorrelationParams(RegulariserParams):
    """Parameters of ``decorrelation``.

    Attributes
    ----------
    fraction : float
        Fraction in ``(0, 1]`` of each hidden layer's neurons kept (highest
        mean ``|activation|``), the logits whole: the same selection as
        ``topological_t1``.
    """

    fraction: float = Field(1.0, gt=0.0, le=1.0)


@register_regulariser(
    params=DecorrelationParams, version=1,
    paper="Ballester, Casacuberta, Escalera, Decorrelating neurons using persistence, "
          "arXiv:2308.04870 (2023), baseline")
def decorrelation(params: DecorrelationParams, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean absolute correlation over all pairs of neurons (Ballester et al.'s baseline).

    ``R = 2 / (m (m - 1)) * sum_{i < j} |corr(a_i, a_j)|`` over the ``m``
    selected neurons of non-zero variance on the batch, ``corr`` the Pearson
    correlation over the batch.

    Parameters
    ----------
    params : DecorrelationParams
    activations : dict of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, the logits last.

    Returns
    -------
    value : Tensor of shape ()
        In ``[0, 1]``; 0 when fewer than two selected neurons vary on the batch.

    Notes
    -----
    Dead or constant neurons have no correlation; they are left out of the
    mean (the paper's code masks their NaN correlations out), so the value and
    the gradients equal those computed without them. That code also leaves out
    pairs whose correlation is exactly 0, which changes nothing but the count
    of pairs on such (measure-zero) batches.
    """
    from functional.correlation.tensors import correlation_matrix

    params = _params(params, DecorrelationParams)
    C, live = correlation_matrix(select_neurons(activations, params.fraction))
    m = int(live.sum())
    if m < 2:
        return C.new_zeros(())
    # zero-variance rows and columns are 0 off the diagonal and the diagonal is 1:
    # sum_{i<j live} |C_ij| = (sum |C| - n) / 2
    return (C.abs().sum() - C.shape[0]) / (m * (m - 1))


class DecovParams(RegulariserParams):
    """Parameters of ``decov``.

    Attributes
    ----------
    layers : tuple of str or None
        Names of the activation layers penalised (summed over layers). ``None``
        (default): the last hidden layer, the one before the logits, as
        Cogswell et al. apply DeCov to a fully connected hidden layer.
    """

    layers: tuple[str, ...] | None = None


def _decov_layers(params: DecovParams, activations: dict[str, torch.Tensor]) -> list[str]:
    names = list(activations)
    if params.layers is None:
        if len(names) < 2:
            raise ValueError(f"decov: no hidden layer to penalise (activations has only {names}); "
                             "set params layers=['output'] to penalise the logits")
        return [names[-2]]
    for name in params.layers:
        if name not in activations:
            raise UnknownNameError("decov layer (params layers)", name, names)
    return list(params.layers)


@register_regulariser(
    params=DecovParams, version=1,
    paper="Cogswell, Ahmed, Girshick, Zitnick, Batra, Reducing overfitting in deep networks "
          "by decorrelating representations, ICLR 2016")
def decov(params: DecovParams, activations: dict[str, torch.Tensor]) -> torch.Tensor:
    """DeCov of Cogswell et al. (ICLR 2016, eq. 1): off-diagonal batch covariance energy.

    ``L = 1/2 (||C||_F^2 - ||diag(C)||_2^2)`` with
    ``C[i, j] = 1/N sum_n (h_i^n - mu_i)(h_j^n - mu_j)`` the covariance of a
    layer's activations ``h`` over the ``N`` examples of the batch; summed
    over the penalised layers.

    Parameters
    ----------
    params : DecovParams
    activations : dict of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, the logits last.

    Returns
    -------
    value : Tensor of shape ()
        Non-negative, in squared activation units.

    Raises
    ------
    KeyError
        If a name in ``params.layers`` is not a layer of ``activations``.
    ValueError
        If ``layers`` is unset and there is no hidden layer.

    Notes
    -----
    When the layer is wider than the batch, ``||C||_F^2`` is computed as
    ``||H_c H_c^T||_F^2 / N^2`` (the batch Gram matrix has the same non-zero
    spectrum), in ``O(N^2 n)`` instead of ``O(N n^2)``.
    """
    import torch

    params = _params(params, DecovParams)
    total = None
    for name in _decov_layers(params, activations):
        h = activations[name]
        h = h.reshape(h.shape[0], -1)
        if h.dtype in (torch.float16, torch.bfloat16):
            h = h.float()
        N, n = h.shape
        hc = h - h.mean(dim=0, keepdim=True)
        G = hc @ hc.T if N < n else hc.T @ hc
        fro2 = (G * G).sum() / N ** 2
        diag2 = (((hc * hc).sum(dim=0) / N) ** 2).sum()
        value = 0.5 * (fro2 - diag2)
        total = value if total is None else total + value
    return total
