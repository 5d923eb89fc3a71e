"""Label-wise mixup accuracy: how well a network classifies blends of two inputs of the same class.

Natekar and Sharma 2020 (team Interpex, PGDL winner), their "label-wise
mixup" measure: within a class, every pair of inputs is blended with weight
``lambda`` (0.5 in the paper) and the network should still predict the class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from functional.network import predict

if TYPE_CHECKING:
    import torch


def class_groups(y: np.ndarray, group_size: int, groups: int, rng: np.random.Generator) -> dict[int, list[np.ndarray]]:
    """Disjoint random groups of sample indices within each class.

    Each class's indices are shuffled and cut into ``min(groups, n_c //
    group_size)`` groups of ``group_size``; a class with fewer than
    ``group_size`` but at least two samples forms one group of all of them;
    a class with one sample has none.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), int
    group_size : int (>= 2)
    groups : int (>= 1)
        Most groups per class.
    rng : numpy Generator
        Draws the shuffles, class by class in increasing label order.

    Returns
    -------
    dict[int, list of ndarray of int]
        Class label to its groups (classes without a group are absent).
    """
    out: dict[int, list[np.ndarray]] = {}
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_groups = min(groups, members.size // group_size)
        if n_groups:
            out[int(c)] = [members[g * group_size:(g + 1) * group_size] for g in range(n_groups)]
        elif members.size >= 2:
            out[int(c)] = [members]
    return out


def pair_mixes(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * x_i + (1 - lam) * x_j`` for every pair ``i < j`` of the rows of ``x``, in row-major pair order.

    Parameters
    ----------
    x : Tensor of shape (m, *input_shape)
    lam : float

    Returns
    -------
    Tensor of shape (m * (m - 1) / 2, *input_shape)
    """
    import torch

    i, j = torch.triu_indices(len(x), len(x), offset=1)
    return lam * x[i] + (1.0 - lam) * x[j]


def labelwise_mixup_accuracy(model, x: torch.Tensor, y: np.ndarray, group_size: int = 10, groups: int = 10,
                             lam: float = 0.5, rng: np.random.Generator | None = None) -> float:
    """Accuracy of the network on within-class mixes of inputs, averaged over groups, then classes.

    Natekar and Sharma 2020, label-wise mixup (their winning PGDL score's
    second factor; code ``complexityMixup``): for each class ``c`` and each
    group ``G`` of its samples (:func:`class_groups`), the accuracy is the
    fraction of the mixes ``lam * x_i + (1 - lam) * x_j``, ``i < j`` in
    ``G``, that the network classifies as ``c``. A class's value is the mean
    over its groups; the result is the mean over classes that have a group,
    a fraction in [0, 1]. (The code mixes within the class members of
    unstratified batches of ``10 * n_classes`` inputs, so its groups vary in
    size around 10; here they are fixed.)

    Parameters
    ----------
    model : Network
        Returns logits of shape (batch, n_classes).
    x : Tensor of shape (n_samples, *input_shape)
    y : ndarray of shape (n_samples,), int
        Labels in ``[0, n_classes)``.
    group_size, groups : int
        See :func:`class_groups`.
    lam : float in (0, 1)
    rng : numpy Generator, optional
        For the groups (``default_rng(0)`` when None).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If no class has two samples.
    """
    import torch

    rng = np.random.default_rng(0) if rng is None else rng
    per_class = class_groups(y, group_size, groups, rng)
    if not per_class:
        raise ValueError("label-wise mixup needs a class with at least 2 samples; none has")
    accuracies = []
    for c, members in per_class.items():
        mixes = torch.cat([pair_mixes(x[torch.from_numpy(g)], lam) for g in members])
        hits = (predict(model, mixes).argmax(dim=1) == c).double().numpy()
        sizes = [len(g) * (len(g) - 1) // 2 for g in members]
        accuracies.append(np.mean([chunk.mean() for chunk in np.split(hits, np.cumsum(sizes)[:-1])]))
    return float(np.mean(accuracies))
