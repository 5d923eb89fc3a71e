"""Spectral measures of weight matrices (Jaegerman et al. ICMLA 2021)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from measures.registry import MeasureParams, MeasureResult, register_measure

#: Per-layer statistics, in the order they are emitted.
LAYER_STATISTICS = ("frobenius_norm", "spectral_norm", "stable_rank", "spectral_entropy",
                    "effective_rank", "condition_number", "inverse_condition_number",
                    "stable_quality")


class WeightSpectrumParams(MeasureParams):
    """Parameters of :func:`weight_spectrum`.

    ``conv_unfolding``: how a conv kernel ``(out, in, kh, kw)`` becomes a matrix:
    ``"output"`` gives ``(out, in*kh*kw)`` (Jaegerman's mode-4 unfolding),
    ``"input"`` gives ``(in, out*kh*kw)`` (mode-3).
    """

    conv_unfolding: Literal["output", "input"] = "output"


def unfold(W: np.ndarray, conv_unfolding: str = "output") -> np.ndarray:
    """A weight tensor as a float64 matrix.

    Parameters
    ----------
    W : ndarray of shape (out, in) or (out, in, *kernel)
        Linear or Conv (1-, 2- or 3-D) weight.
    conv_unfolding : {"output", "input"}
        For ``W.ndim > 2``: rows are output channels, ``(out, in*prod(kernel))``,
        or input channels, ``(in, out*prod(kernel))``.

    Raises
    ------
    ValueError
        If ``W`` has fewer than 2 dimensions or is empty.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim < 2 or W.size == 0:
        raise ValueError("a weight must be a non-empty (out, in) or (out, in, *kernel) array; "
                         f"got shape {W.shape}")
    if W.ndim > 2 and conv_unfolding == "input":
        W = np.swapaxes(W, 0, 1)
    return W.reshape(W.shape[0], -1)


def spectrum_statistics(W2: np.ndarray) -> dict[str, float]:
    """Statistics of the singular values of one matrix (see :func:`weight_spectrum`)."""
    s = np.linalg.svd(W2, compute_uv=False)  # descending, length min(m, n)
    fro, smax = float(np.sqrt(np.sum(s**2))), float(s[0])
    out = {"frobenius_norm": fro, "spectral_norm": smax}
    if smax == 0.0:
        return out  # zero matrix: every ratio is undefined
    p = s[s > 0] / s.sum()
    entropy = float(-(p * np.log(p)).sum())
    tol = smax * max(W2.shape) * np.finfo(np.float64).eps
    smin = float(s[-1]) if s[-1] > tol else 0.0
    S = float(np.sum(s / smax) / s.size)
    out.update(stable_rank=fro**2 / smax**2, spectral_entropy=entropy, effective_rank=float(np.exp(entropy)),
               inverse_condition_number=smin / smax, stable_quality=float(np.arctan2(S, 1.0 - smin / smax)))
    if smin > 0.0:
        out["condition_number"] = smax / smin
    return out


@register_measure(providers=("weights",), params=WeightSpectrumParams, version=1,
                  paper="Jaegerman et al. ICMLA 2021, In search of probeable generalization measures")
def weight_spectrum(params: WeightSpectrumParams, *, weights: dict) -> MeasureResult:
    """Singular-value statistics of every layer's weight (Jaegerman et al. 2021).

    Each weight is unfolded to a matrix ``W`` (conv kernels per
    ``params.conv_unfolding``) and its singular values
    ``sigma_1 >= ... >= sigma_N``, ``N = min(m, n)``, computed in float64.
    Per layer (all layers, the logits layer included):

    - ``frobenius_norm`` ``||W||_F`` (the root, as Jaegerman's code);
    - ``spectral_norm`` ``sigma_1``;
    - ``stable_rank`` ``||W||_F^2 / ||W||_2^2`` (the standard one, not
      Jaegerman's ``S = sum_i (sigma_i / sigma_1) / N``);
    - ``spectral_entropy`` ``H = -sum p_i ln p_i``, ``p_i = sigma_i / sum_j sigma_j``
      (nats): what Jaegerman's code calls the effective rank;
    - ``effective_rank`` ``exp(H)`` (Roy and Vetterli 2007, Eq. 1), in [1, N];
    - ``inverse_condition_number`` ``sigma_N / sigma_1`` in [0, 1], with
      ``sigma_N`` taken as 0 when it is below ``sigma_1 max(m, n) eps``
      (numerically rank-deficient, the tolerance of ``numpy.linalg.matrix_rank``);
    - ``condition_number`` ``sigma_1 / sigma_N``, only for full-rank matrices:
      the row is left out for a rank-deficient one rather than storing inf;
    - ``stable_quality`` ``SQ = arctan2(S, 1 - 1/C)``, Jaegerman's stable
      quality (``source/qualities.py`` of their code), ``1/C`` being ``inverse_condition_number``, so it is
      finite for rank-deficient matrices too), in radians.

    For an all-zero weight only the two norms (0) are emitted. On layer
    ``"all"``: ``mean_<statistic>`` over layers, emitted only when every layer
    has that statistic; ``log_prod_spectral_norm = sum_l ln sigma_1(W_l)`` and
    ``log_prod_frobenius_norm = sum_l ln ||W_l||_F`` (as in Jiang et al.
    2020, Eqs. 29-39, up to constants and squares), emitted when every norm is positive.
    No single sign (``higher_is_better`` is None).

    Parameters
    ----------
    params : WeightSpectrumParams
    weights : dict[str, ndarray]
        Layer name to weight, Linear ``(out, in)`` or Conv ``(out, in, kh, kw)``.

    Raises
    ------
    ValueError
        If ``weights`` is empty, or a weight is not at least 2-D, empty or not finite.
    """
    if not weights:
        raise ValueError("weight_spectrum needs at least one layer with weights; got none")
    result = MeasureResult()
    per_layer: dict[str, dict[str, float]] = {}
    for name, W in weights.items():
        W2 = unfold(W, params.conv_unfolding)
        if not np.isfinite(W2).all():
            raise ValueError(f"layer {name!r}: weight has non-finite entries")
        per_layer[name] = spectrum_statistics(W2)
        for stat in LAYER_STATISTICS:
            if stat in per_layer[name]:
                result.add(name, stat, per_layer[name][stat])
    for stat in LAYER_STATISTICS:
        values = [st[stat] for st in per_layer.values() if stat in st]
        if len(values) == len(per_layer):
            result.add("all", f"mean_{stat}", float(np.mean(values)))
    for stat in ("spectral_norm", "frobenius_norm"):
        values = np.array([st[stat] for st in per_layer.values()])
        if (values > 0).all():
            result.add("all", f"log_prod_{stat}", float(np.log(values).sum()))
    return result
