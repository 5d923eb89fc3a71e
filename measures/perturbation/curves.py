"""Perturbation response curves: accuracy under a growing perturbation of one layer's representation.

Schiff, Quanz, Das and Chen 2021 (NeurIPS, arXiv 2106.04765), Sec. 3: the
training inputs are run up to a layer, the representation ``h`` is perturbed
with magnitude ``alpha`` and run through the rest of the network, and the
accuracy against the inputs' own labels is recorded for a range of
magnitudes. The perturbations:

- ``interclass_mixup`` (with the next, the paper's PGDL perturbations): ``(1 - alpha) h_i +
  alpha h_j`` with ``j`` a random sample of another class;
- ``intraclass_mixup``: the same with ``j`` of the same class (``j != i``; a
  sample alone in its class is mixed with itself, i.e. left as it is);
- ``gaussian_noise`` (an additive perturbation in the same framework, not
  one of the paper's): ``h_i + alpha * rms(h) * eps_i``, ``eps`` standard
  normal of the shape of ``h`` and ``rms(h)`` the root mean square of the
  representation over samples and units (noise in units of the
  representation's own scale).

Partners and noise are drawn once and shared by every magnitude, so the
curve varies only through ``alpha``. The layer ``"input"`` perturbs the
inputs themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from functional.network import BATCH, block_names, forward_to, run_blocks

if TYPE_CHECKING:
    import torch

#: The perturbations of a representation.
PERTURBATIONS = ("interclass_mixup", "intraclass_mixup", "gaussian_noise")
#: Name of the input as a perturbable layer.
INPUT = "input"


def mixup_partners(labels: np.ndarray, same_class: bool, rng: np.random.Generator) -> np.ndarray:
    """One random mixup partner per sample: of another class, or of the same class.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Integer labels.
    same_class : bool
        True: a partner of the sample's class other than itself (itself when
        the class has one sample); False: a partner of any other class.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_samples,), int64
        ``partners[i]`` is the index of sample ``i``'s partner.

    Raises
    ------
    ValueError
        If ``same_class`` is False and the labels hold a single class.
    """
    y = np.asarray(labels).ravel()
    if not same_class and np.unique(y).size < 2:
        raise ValueError(f"inter-class mixup needs at least two classes; the labels hold {np.unique(y).tolist()}")
    partners = np.arange(y.size, dtype=np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if not same_class:
            pool = np.flatnonzero(y != c)
            partners[members] = pool[rng.integers(pool.size, size=members.size)]
        elif members.size > 1:
            # a uniform draw among the other members: skip the sample's own position
            k = rng.integers(members.size - 1, size=members.size)
            partners[members] = members[k + (k >= np.arange(members.size))]
    return partners


def representation(model, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The activation of block ``layer`` (unflattened), or ``x`` itself for ``"input"``."""
    return x if layer == INPUT else forward_to(model, x, layer)


def forward_from(model, h: torch.Tensor, layer: str, batch: int = BATCH) -> torch.Tensor:
    """Logits of shape (n_samples, n_classes) from the representation ``h`` of block ``layer`` onward.

    Parameters
    ----------
    model : Network
    h : Tensor of shape (n_samples, *block_output_shape)
        What block ``layer`` outputs (for ``"input"``: the inputs).
    layer : str
        A block before ``"output"``, or ``"input"``.
    """
    names = block_names(model)
    return run_blocks(model, h, names if layer == INPUT else names[names.index(layer) + 1:], batch)


def perturb(h: torch.Tensor, alpha: float, perturbation: str, partners: np.ndarray | None = None,
            noise: torch.Tensor | None = None) -> torch.Tensor:
    """The representation ``h`` perturbed with magnitude ``alpha``.

    Parameters
    ----------
    h : Tensor of shape (n_samples, ...)
    alpha : float
        Mixup weight of the partner, or noise in units of ``rms(h)``.
    perturbation : str
        One of :data:`PERTURBATIONS`.
    partners : ndarray of shape (n_samples,), for mixup
    noise : Tensor of the shape of ``h``, for ``gaussian_noise``
        Standard normal draws.
    """
    import torch

    if perturbation == "gaussian_noise":
        return h + alpha * h.pow(2).mean().sqrt() * noise
    return (1.0 - alpha) * h + alpha * h[torch.from_numpy(partners)]


def perturbation_response_curve(model, x: torch.Tensor, labels: np.ndarray, layer: str, perturbation: str,
                                magnitudes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Accuracy of the network at each perturbation magnitude of block ``layer``'s representation.

    Schiff et al. 2021, Sec. 3 (the PR curve of their Fig. 1, left).

    Parameters
    ----------
    model : Network
        Eval mode, on the CPU.
    x : Tensor of shape (n_samples, *input_shape), float32
    labels : ndarray of shape (n_samples,)
        Integer labels; the accuracy of a perturbed sample is against its own label.
    layer : str
        A block before ``"output"``, or ``"input"``.
    perturbation : str
        One of :data:`PERTURBATIONS`.
    magnitudes : ndarray of shape (n_magnitudes,)
        The ``alpha`` values.
    rng : numpy.random.Generator
        Draws the mixup partners or the noise (once, for every magnitude).

    Returns
    -------
    ndarray of shape (n_magnitudes,)
        Accuracy (fraction in [0, 1]) at each magnitude.

    Raises
    ------
    ValueError
        If the perturbation or the layer is unknown, or the labels do not
        allow the mixup (:func:`mixup_partners`).
    """
    import torch

    if perturbation not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {perturbation!r}; known: {PERTURBATIONS}")
    names = block_names(model)
    if layer != INPUT and layer not in names[:-1]:
        raise ValueError(f"layer {layer!r} cannot be perturbed: expected {INPUT!r} or a block before 'output' "
                         f"({names[:-1]})")
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    h = representation(model, x, layer)
    partners = noise = None
    if perturbation == "gaussian_noise":
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        noise = torch.randn(h.shape, generator=generator, dtype=h.dtype)
    else:
        partners = mixup_partners(labels, perturbation == "intraclass_mixup", rng)
    accuracy = [(forward_from(model, perturb(h, float(a), perturbation, partners, noise), layer).argmax(1) == y)
                .double().mean().item() for a in magnitudes]
    return np.asarray(accuracy)
