"""Batch normalisation folded into the layer before it, and the weight vectors the baselines read.

In eval mode a batch norm after a Linear or Conv layer is an affine map per
output channel, ``y = gamma (z - mu) / sqrt(var + eps) + beta``; folding it
gives the same function with ``W' = s W`` (row ``k`` scaled by
``s_k = gamma_k / sqrt(var_k + eps)``), ``b' = s (b - mu) + beta`` and the
batch norm made the identity. Jiang et al. 2020 (through Neyshabur's
``reparam`` in their reference code) measure norms of folded weights.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from functional.grad import no_grad

if TYPE_CHECKING:
    from torch import nn


def _weighted() -> tuple[type[nn.Module], ...]:
    """The layers with weights that a batch norm can be folded into."""
    from torch import nn

    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _norms() -> tuple[type[nn.Module], ...]:
    from torch import nn

    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _check_network(model) -> None:
    if not callable(getattr(model, "weight_layers", None)):
        raise TypeError(f"expected a models.architectures.Network (with weight_layers()); got {type(model).__name__}")


@no_grad
def fold_batch_norm(model) -> tuple[nn.Module, dict[str, float]]:
    """A copy of ``model`` in eval mode with every batch norm folded into the layer before it.

    Each batch norm is folded into the Linear/Conv layer registered last
    before it (module order), which is the layer it follows in every network
    of :mod:`models.zoo`; the batch norm is then the identity (``gamma = 1``,
    ``beta = 0``, ``mu = 0``, ``var = 1 - eps``). A layer without a bias gets one.

    Parameters
    ----------
    model : Network

    Returns
    -------
    folded : Network
        Computes the same function as ``model`` in eval mode.
    eps : dict[str, float]
        For each name of :meth:`Network.weight_layers` followed by a batch
        norm, that batch norm's ``eps`` (folding the network at initialisation,
        ``gamma = 1``, ``var = 1``, scales its weight by ``1 / sqrt(1 + eps)``).

    Raises
    ------
    TypeError
        If ``model`` is not a Network.
    ValueError
        If a batch norm has no layer before it, or
        its number of features differs from that layer's output channels.
    """
    import torch
    from torch import nn

    _check_network(model)
    folded = copy.deepcopy(model).eval()
    names = {id(m): n for n, m in folded.weight_layers().items()}
    eps: dict[str, float] = {}
    previous = None
    for module_name, module in folded.named_modules():
        if isinstance(module, _weighted()):
            previous = module
        elif isinstance(module, _norms()):
            if previous is None or previous.weight.shape[0] != module.num_features:
                raise ValueError(f"batch norm {module_name!r} ({module.num_features} features) does not follow a "
                                 "layer with as many output channels; cannot fold it")
            scale = module.weight / torch.sqrt(module.running_var + module.eps)
            bias = previous.bias if previous.bias is not None else torch.zeros_like(module.running_mean)
            previous.weight.mul_(scale.view(-1, *([1] * (previous.weight.ndim - 1))))
            previous.bias = nn.Parameter(scale * (bias - module.running_mean) + module.bias)
            module.weight.fill_(1.0), module.bias.fill_(0.0)
            module.running_mean.fill_(0.0), module.running_var.fill_(1.0 - module.eps)
            if id(previous) in names:
                eps[names[id(previous)]] = float(module.eps)
            previous = None
    return folded, eps


def layer_weights(model) -> dict[str, np.ndarray]:
    """Weight of every layer of :meth:`Network.weight_layers`, float64, in forward order."""
    _check_network(model)
    return {n: m.weight.detach().double().cpu().numpy().copy() for n, m in model.weight_layers().items()}


def network_weights(model, init_weights: dict, fold: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The weights of ``model`` and of its initialisation, both folded or both not.

    Parameters
    ----------
    model : Network
    init_weights : dict[str, ndarray]
        The ``init_weights`` provider: the same layers at initialisation, unfolded.
    fold : bool
        Fold batch norm (:func:`fold_batch_norm`); the initial weights are
        folded with the initial batch norm (``gamma = 1``, ``var = 1``).

    Returns
    -------
    weights, init : dict[str, ndarray]
        Same keys and shapes, float64.

    Raises
    ------
    ValueError
        If the layers or shapes of ``init_weights`` differ from the model's.
    """
    if fold:
        folded, eps = fold_batch_norm(model)
        weights = layer_weights(folded)
    else:
        eps, weights = {}, layer_weights(model)
    if list(init_weights) != list(weights):
        raise ValueError(f"init_weights has layers {list(init_weights)}; the model has {list(weights)}")
    init = {}
    for name, w in weights.items():
        w0 = np.asarray(init_weights[name], dtype=np.float64)
        if w0.shape != w.shape:
            raise ValueError(f"layer {name!r}: initial weight has shape {w0.shape}, the model's {w.shape}")
        init[name] = w0 / np.sqrt(1.0 + eps[name]) if name in eps else w0
    return weights, init
