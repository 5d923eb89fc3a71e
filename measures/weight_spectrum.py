"""Spectral measures of weight matrices (Jaegerman et al. ICMLA 2021)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import field_validator

from functional.evbmf import evbmf_singular_values
from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure
from functional.spectra import AGGREGATION_PREFIX, STATISTICS, aggregate, spectrum_statistics

ConvUnfolding = Literal["output", "input", "both"]
Aggregation = Literal["mean", "rms", "geometric_mean", "weighted_mean", "weighted_geometric_mean"]


class WeightSpectrumParams(MeasureParams):
    """Parameters of :func:`weight_spectrum`.

    ``conv_unfolding``: how a conv kernel ``(out, in, kh, kw)`` becomes a matrix: ``"output"`` gives
    ``(out, in*kh*kw)`` (the mode-4 unfolding of Jaegerman et al. and AdaS), ``"input"`` gives
    ``(in, out*kh*kw)`` (mode-3); ``"both"`` (the paper's choice) keeps both, as statistics
    ``output_<stat>`` and ``input_<stat>``, and pools them in the network aggregates.
    ``preprocessing``: ``"none"`` uses the raw singular values (GenProb's "BE"), ``"evbmf"`` those of
    the EVBMF low-rank estimate with the noise variance estimated (GenProb's "AE", :mod:`functional.evbmf`).
    ``aggregations``: over layers (GenProb ``qualities.agg``), see :func:`functional.spectra.aggregate`.
    ``mask_zeros``: aggregate a statistic over the matrices where it is defined and nonzero, as GenProb's
    masked arrays do (so EVBMF rank-0 matrices drop out), instead of leaving the aggregate out when any
    matrix lacks it.
    """

    conv_unfolding: ConvUnfolding = "both"
    preprocessing: Literal["none", "evbmf"] = "none"
    aggregations: tuple[Aggregation, ...] = ("mean",)
    mask_zeros: bool = False

    @field_validator("aggregations")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"aggregations must be distinct; got {list(value)}")
        return value


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


def matrix_statistics(W2: np.ndarray, preprocessing: str = "none") -> dict[str, float]:
    """Statistics of one unfolded weight (:func:`functional.spectra.spectrum_statistics`).

    Parameters
    ----------
    W2 : ndarray of shape (m, n)
        Unfolded weight, float64, finite.
    preprocessing : {"none", "evbmf"}
        Raw singular values (numerical rank with ``numpy.linalg.matrix_rank``'s tolerance
        ``sigma_1 max(m, n) eps``), or the EVBMF estimate's; then ``noise_variance`` (EVBMF's
        ``sigma^2``) is added.
    """
    s = np.linalg.svd(W2, compute_uv=False)  # descending, length min(m, n)
    if preprocessing == "evbmf":
        d, noise_variance, _ = evbmf_singular_values(s, W2.shape)
        return {**spectrum_statistics(d, s.size), "noise_variance": noise_variance}
    return spectrum_statistics(s, s.size, tol=float(s[0]) * max(W2.shape) * np.finfo(np.float64).eps)


DECLARED_STATISTICS = (
    *(Statistic(f"mean_{s}", False, families=("weight_spectrum",)) for s in ("frobenius_norm", "spectral_norm")),
    *(Statistic(f"mean_{s}", None, families=("weight_spectrum",))
      for s in ("stable_rank", "effective_rank", "condition_number", "stable_quality")),
    *(Statistic(f"log_prod_{s}", False, families=("weight_spectrum",)) for s in ("spectral_norm", "frobenius_norm")),
    Statistic("*frobenius_norm", False, "both"),  # Jiang et al. 2020: larger norms, larger gap
    Statistic("*spectral_norm", False, "both"),
    Statistic("*", None, "both"),  # ranks, entropies, condition numbers, qualities: no single sign
)


@register_measure(providers=("weights",), params=WeightSpectrumParams, version=2,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper="Jaegerman et al. ICMLA 2021, In search of probeable generalization measures")
def weight_spectrum(params: WeightSpectrumParams, *, weights: dict) -> MeasureResult:
    """Singular-value statistics of every layer's weight (Jaegerman et al. 2021).

    Each weight is unfolded to a matrix ``W`` (conv kernels per ``params.conv_unfolding``: with
    ``"both"``, a Linear weight counts for both, as in GenProb) and its singular values computed in
    float64, optionally replaced by those of the EVBMF estimate (``params.preprocessing``). Per
    layer (all layers, the logits layer included), the statistics of
    :func:`functional.spectra.spectrum_statistics` (norms, stable rank, knowledge gain,
    normalised rank, spectral entropy, effective rank, condition number, its inverse, stable
    quality) and, with EVBMF, ``noise_variance``; prefixed ``output_``/``input_`` with ``"both"``.
    A statistic that is undefined (zero spectrum; condition number of a rank-deficient matrix) is
    left out rather than stored as inf or 0.

    On layer ``"all"``: ``<prefix>_<statistic>`` for each of ``params.aggregations`` (``mean_``,
    ``rms_``, ``gmean_``, ``wmean_``, ``wgmean_``; GenProb's L1-L5) over all unfolded matrices
    (two per layer with ``"both"``), weighted by ``min(m, n)`` for the weighted ones. Unless
    ``params.mask_zeros``, an aggregate is emitted only when every matrix has the statistic
    (GenProb instead masks undefined and zero values). Also ``log_prod_spectral_norm = sum_l ln
    sigma_1(W_l)`` and ``log_prod_frobenius_norm = sum_l ln ||W_l||_F`` over layers (Jiang et al.
    2020, Eqs. 29-39, up to constants and squares; output unfolding unless only ``"input"``),
    emitted when every norm is positive. No single sign (``higher_is_better`` is None).

    Parameters
    ----------
    params : WeightSpectrumParams
    weights : dict[str, ndarray of shape (out, in) or (out, in, kh, kw)]
        Layer name to weight, Linear or Conv, in forward order.

    Returns
    -------
    MeasureResult
        ``rows`` per layer and on ``"all"`` as above; no diagrams. Units:
        ``frobenius_norm``, ``spectral_norm`` in weight units (``noise_variance``
        squared weight units, the aggregates likewise); ``log_prod_*`` natural
        logs of products of weight units; ``stable_rank``, ``knowledge_gain``,
        ``normalized_rank``, ``effective_rank`` and the condition numbers
        dimensionless; ``spectral_entropy`` in nats; ``stable_quality`` in radians.

    Raises
    ------
    ValueError
        If ``weights`` is empty, or a weight is not at least 2-D, empty or not finite.

    References
    ----------
    Jaegerman, Damouni, Hosseini, Plataniotis, "In search of probeable generalization measures",
    ICMLA 2021 (arXiv 2110.12259), code GenProb (``source/process.py``, ``source/qualities.py``):
    unfoldings, stable quality ``arctan2(S, 1 - 1/C)``, aggregations L1-L5.
    Hosseini, Plataniotis, "AdaS: Adaptive scheduling of stochastic gradients", arXiv 2006.06587
    (knowledge gain, mapping condition). Roy, Vetterli, EUSIPCO 2007, Eq. 1 (effective rank).
    Nakajima, Sugiyama, Babacan, Tomioka, JMLR 14 (2013): EVBMF.
    """
    if not weights:
        raise ValueError("weight_spectrum needs at least one layer with weights; got none")
    modes = ("output", "input") if params.conv_unfolding == "both" else (params.conv_unfolding,)
    result = MeasureResult()
    matrices: list[tuple[int, dict[str, float]]] = []  # (min(m, n), statistics), pooled over layers and modes
    primary: list[dict[str, float]] = []  # one per layer, for the log products
    for name, W in weights.items():
        stats_by_mode = {}
        for mode in modes:
            W2 = unfold(W, mode)
            if not np.isfinite(W2).all():
                raise ValueError(f"layer {name!r}: weight has non-finite entries")
            same = mode == "input" and np.ndim(W) == 2 and "output" in stats_by_mode
            stats_by_mode[mode] = stats_by_mode["output"] if same else matrix_statistics(W2, params.preprocessing)
            matrices.append((min(W2.shape), stats_by_mode[mode]))
            prefix = f"{mode}_" if len(modes) == 2 else ""
            for stat, value in stats_by_mode[mode].items():
                result.add(name, prefix + stat, value)
        primary.append(stats_by_mode[modes[0]])
    for stat in (*STATISTICS, "noise_variance"):
        pairs = [(n, st[stat]) for n, st in matrices if stat in st and (st[stat] != 0 or not params.mask_zeros)]
        if not pairs or (len(pairs) < len(matrices) and not params.mask_zeros):
            continue
        n, values = np.array(pairs).T
        for how in params.aggregations:
            result.add("all", f"{AGGREGATION_PREFIX[how]}_{stat}", aggregate(values, n, how))
    for stat in ("spectral_norm", "frobenius_norm"):
        values = np.array([st[stat] for st in primary])
        if (values > 0).all():
            result.add("all", f"log_prod_{stat}", float(np.log(values).sum()))
    return result
