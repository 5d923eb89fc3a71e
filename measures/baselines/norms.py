"""Norm-based baselines: parameter count, spectral and Frobenius norms, distance to initialisation.

Jiang et al. 2020, Appendix C, Eq. 20 and Eqs. 29-42, with the names of the
paper's reference code (``log_`` where the paper takes logs of products).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from functional.batchnorm_folding import network_weights
from measures.baselines.margin import PAPER, percentile_margin, split_pair
from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure


class NormParams(MeasureParams):
    """Parameters of :func:`norm_measures`.

    ``fold_batch_norm``: read weights with batch norm folded into the layer
    before it (the reference code's choice). ``percentile``: of the margin
    distribution, the paper's 10.
    """

    fold_batch_norm: bool = True
    percentile: float = Field(10.0, ge=0.0, le=100.0)


def squared_norms(weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Squared Frobenius and squared spectral norm of every layer's weight.

    A conv kernel ``(out, in, *kernel)`` is reshaped to ``(out, in * prod(kernel))``
    (the reference code's choice, not the exact spectral norm of the
    convolution operator of Sedghi et al. 2019).

    Parameters
    ----------
    weights : dict[str, ndarray of shape (out, in) or (out, in, *kernel)]

    Returns
    -------
    fro2, spec2 : ndarray of shape (n_layers,)
        ``||W_i||_F^2`` and ``||W_i||_2^2`` (squared weight units), in the order of ``weights``.

    Raises
    ------
    ValueError
        If a weight is empty, not at least 2-D or not finite.
    """
    fro2, spec2 = [], []
    for name, W in weights.items():
        W = np.asarray(W, dtype=np.float64)
        if W.ndim < 2 or W.size == 0 or not np.isfinite(W).all():
            raise ValueError(f"layer {name!r}: expected a finite, non-empty weight of shape (out, in, ...); "
                             f"got shape {W.shape}")
        W2 = W.reshape(W.shape[0], -1)
        fro2.append(float(np.sum(W2**2)))
        spec2.append(float(np.linalg.norm(W2, 2) ** 2))
    return np.array(fro2), np.array(spec2)


def norm_rows(weights: dict, init: dict, gamma: float, n_params: int) -> dict[str, float]:
    """The values of :func:`norm_measures` from weights, initial weights and margin (see there)."""
    fro2, spec2 = squared_norms(weights)
    dist_fro2, dist_spec2 = squared_norms({k: weights[k] - init[k] for k in weights})
    d = len(weights)
    out = {"num_params": float(n_params), "frobenius_distance": float(dist_fro2.sum()),
           "dist_spec_init": float(dist_spec2.sum()), "param_norm": float(fro2.sum())}
    log_gamma2 = math.log(gamma**2) if gamma != 0.0 else None
    for kind, norms in (("spec", spec2), ("fro", fro2)):
        if not (norms > 0).all():
            continue  # a zero layer: the log of the product is -inf
        log_prod = float(np.log(norms).sum())
        out[f"log_prod_of_{kind}"] = log_prod  # Eqs. 32, 37
        out[f"log_sum_of_{kind}"] = math.log(d) + log_prod / d  # Eqs. 35, 39
        if log_gamma2 is not None:
            out[f"log_prod_of_{kind}_over_margin"] = log_prod - log_gamma2  # Eqs. 31, 36
            out[f"log_sum_of_{kind}_over_margin"] = math.log(d) + (log_prod - log_gamma2) / d  # Eqs. 34, 38
    if (spec2 > 0).all():
        out["fro_over_spec"] = float((fro2 / spec2).sum())  # Eq. 33
        if log_gamma2 is not None:
            out["log_spec_orig_main"] = out["log_prod_of_spec_over_margin"] + math.log(out["fro_over_spec"])  # 30
            ratio = float((dist_fro2 / spec2).sum())
            if ratio > 0:
                out["log_spec_init_main"] = out["log_prod_of_spec_over_margin"] + math.log(ratio)  # Eq. 29
    return out


DECLARED_STATISTICS = (
    *(Statistic(name, False, families=("jiang_norms",))
      for name in ("log_prod_of_spec", "log_prod_of_fro", "log_sum_of_spec", "log_sum_of_fro", "fro_over_spec",
                   "frobenius_distance", "dist_spec_init", "param_norm")),
    Statistic("*", False),  # the other complexity measures of Appendix C: larger, larger gap
)


@register_measure(providers=("model", "init_weights", "logits", "labels"), params=NormParams, version=1,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper=PAPER)
def norm_measures(params: NormParams, *, model, init_weights: dict, logits: dict, labels: dict) -> MeasureResult:
    """Norm-based complexity measures of Jiang et al. 2020 (Appendix C, Eqs. 20, 29-42).

    With ``W_i`` the weight of layer ``i`` of ``d`` layers with weights (conv
    kernels reshaped to ``(out, in * kh * kw)``, batch norm folded when
    ``params.fold_batch_norm``), ``W_i^0`` the same at initialisation,
    ``||.||_F`` Frobenius and ``||.||_2`` spectral norms, and ``gamma`` the
    10th-percentile output margin on the training sample
    (:func:`~measures.baselines.margin.percentile_margin`), rows on layer ``"all"``:

    - ``num_params`` (Eq. 20): the number of trainable parameters of the network as built;
    - ``log_spec_init_main`` (Eq. 29): ``log(prod_i ||W_i||_2^2 / gamma^2 * sum_i ||W_i - W_i^0||_F^2 / ||W_i||_2^2)``;
    - ``log_spec_orig_main`` (Eq. 30): ``log(prod_i ||W_i||_2^2 / gamma^2 * sum_i ||W_i||_F^2 / ||W_i||_2^2)``;
    - ``log_prod_of_spec_over_margin`` (Eq. 31) ``log(prod_i ||W_i||_2^2 / gamma^2)``;
      ``log_prod_of_spec`` (Eq. 32) ``log prod_i ||W_i||_2^2``;
    - ``fro_over_spec`` (Eq. 33): ``sum_i ||W_i||_F^2 / ||W_i||_2^2``;
    - ``log_sum_of_spec_over_margin`` (Eq. 34): ``log(d (prod_i ||W_i||_2^2 / gamma^2)^(1/d))``;
      ``log_sum_of_spec`` (Eq. 35): ``log(d (prod_i ||W_i||_2^2)^(1/d))``;
    - ``log_prod_of_fro_over_margin``, ``log_prod_of_fro``, ``log_sum_of_fro_over_margin``,
      ``log_sum_of_fro`` (Eqs. 36-39): the same with ``||W_i||_F``;
    - ``frobenius_distance`` (Eq. 40): ``sum_i ||W_i - W_i^0||_F^2``;
    - ``dist_spec_init`` (Eq. 41): ``sum_i ||W_i - W_i^0||_2^2``;
    - ``param_norm`` (Eq. 42): ``sum_i ||W_i||_F^2``.

    Logs are natural. A row whose log argument is 0 (a zero layer, a zero
    margin, a network at its initialisation for Eq. 29) is left out rather
    than stored as -inf. Higher values predict a larger generalization gap.

    Parameters
    ----------
    params : NormParams
    model : Network
    init_weights : dict[str, ndarray of shape (out, in) or (out, in, kh, kw)]
        The layers' weights at initialisation, unfolded, same layers and shapes as the model's.
    logits : dict[str, ndarray of shape (n_samples, n_classes)]
        Only ``"train"`` is read (for ``gamma``).
    labels : dict[str, ndarray of shape (n_samples,)]

    Returns
    -------
    MeasureResult
        The ``rows`` above, all on layer ``"all"``; no diagrams. Units:
        ``num_params`` a count; ``frobenius_distance``, ``dist_spec_init`` and
        ``param_norm`` squared weight units; ``fro_over_spec`` dimensionless;
        the ``log_`` rows natural logs of products of squared weight units
        (divided by logit units squared for ``_over_margin``, Eq. 29 and Eq. 30).

    Raises
    ------
    ValueError
        If ``init_weights`` does not match the model's layers or shapes, a
        weight is empty or not finite, a batch norm cannot be folded, or the
        training logits or labels are missing or malformed
        (:func:`~measures.baselines.margin.output_margins`).
    TypeError
        If ``model`` is not a Network (no ``weight_layers``).

    References
    ----------
    Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic generalization measures and where to
    find them", ICLR 2020, Appendix C, Eq. 20 and Eqs. 29-42. Dziugaite et al., "In search of
    robust measures of generalization", NeurIPS 2020 (reference code robust-generalization-measures,
    ``measures.py``: batch norm folded, conv kernels reshaped to ``(out, in * kh * kw)``).
    """
    weights, init = network_weights(model, init_weights, params.fold_batch_norm)
    gamma = percentile_margin(*split_pair(logits, labels, "train", "norm_measures"), params.percentile)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result = MeasureResult()
    for stat, value in norm_rows(weights, init, gamma, n_params).items():
        result.add("all", stat, value)
    return result
