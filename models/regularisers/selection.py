"""The neurons that Ballester et al. regularise: a per-layer selection by mean absolute activation.

Ballester, Casacuberta and Escalera, *Decorrelating neurons using persistence*
(arXiv:2308.04870): from every hidden layer, the fraction of neurons with the
highest mean ``|activation|`` over the mini-batch; the logits whole. The
correlation-based regularisers (:mod:`models.regularisers.topological`,
:mod:`models.regularisers.decorrelation`) compute their correlations
(:mod:`functional.correlation.tensors`) on this selection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


__all__ = ["select_neuron_indices", "select_neurons"]


def _n_selected(fraction: float, n: int) -> int:
    # round() first so that e.g. 0.29 * 100 = 28.999999999999996 selects 29, not 28.
    return min(n, max(1, math.floor(round(fraction * n, 9))))


def select_neuron_indices(activations: Mapping[str, torch.Tensor], fraction: float = 1.0
                          ) -> dict[str, torch.Tensor]:
    """Indices of the neurons that Ballester et al. (arXiv:2308.04870) keep per layer.

    For every layer but the last, the ``max(1, floor(fraction * n))`` neurons
    with the highest mean absolute activation over the batch (``n`` neurons in
    the layer); the last layer (the logits, ``"output"``) is kept whole.

    Parameters
    ----------
    activations : mapping of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, in forward order,
        the logits last. Higher-dimensional outputs are flattened per example.
    fraction : float
        Fraction ``p`` in ``(0, 1]`` of each hidden layer's neurons to keep.

    Returns
    -------
    indices : dict of str to LongTensor of shape (n_selected,)
        Per layer, the kept neurons by decreasing mean ``|activation|`` (ties:
        lower index first); ``arange(n)`` for the last layer and whenever
        ``fraction == 1``.

    Raises
    ------
    ValueError
        If ``activations`` is empty or ``fraction`` is not in ``(0, 1]``.

    Notes
    -----
    The paper's code takes ``floor(p * n)`` neurons and so skips a layer when
    ``p * n < 1``; here every hidden layer contributes at least one neuron.
    """
    import torch

    if not activations:
        raise ValueError("activations is empty; expected the outputs of every layer with weights, "
                         "the logits ('output') last")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    names = list(activations)
    out: dict[str, torch.Tensor] = {}
    for k, name in enumerate(names):
        a = activations[name]
        a = a.reshape(a.shape[0], -1)
        n = a.shape[1]
        if k == len(names) - 1 or fraction == 1.0:
            out[name] = torch.arange(n, device=a.device)
            continue
        with torch.no_grad():
            importance = a.abs().mean(dim=0)
            order = torch.argsort(importance, descending=True, stable=True)
        out[name] = order[:_n_selected(fraction, n)]
    return out


def select_neurons(activations: Mapping[str, torch.Tensor], fraction: float = 1.0) -> torch.Tensor:
    """The neurons that Ballester et al. (arXiv:2308.04870) regularise, concatenated.

    Parameters
    ----------
    activations : mapping of str to Tensor of shape (batch, n_neurons)
        Post-activation outputs of every layer with weights, in forward order,
        the logits last.
    fraction : float
        Fraction in ``(0, 1]`` of each hidden layer's neurons to keep (see
        :func:`select_neuron_indices`): 1.0 for small MLPs, 0.005 for the
        PGDL networks in the paper.

    Returns
    -------
    X : Tensor of shape (batch, n_selected)
        The selected columns of every layer, layer after layer, in the order of
        :func:`select_neuron_indices`; gradients flow to the activations.
    """
    import torch

    indices = select_neuron_indices(activations, fraction)
    last = list(indices)[-1]
    parts = []
    for name, idx in indices.items():
        a = activations[name]
        a = a.reshape(a.shape[0], -1)
        whole = name == last or fraction == 1.0  # idx is arange(n): skip the gather
        parts.append(a if whole else a[:, idx])
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
