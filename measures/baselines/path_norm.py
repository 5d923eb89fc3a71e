"""Path norm, with and without the margin (Jiang et al. 2020, Appendix C, Eqs. 43-44)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from core.catalog import Statistic
from functional.batchnorm_folding import fold_batch_norm
from functional.grad import no_grad
from measures.baselines.margin import PAPER, percentile_margin, split_pair
from measures.registry import MeasureParams, MeasureResult, register_measure

if TYPE_CHECKING:
    pass


class PathNormParams(MeasureParams):
    """Parameters of :func:`path_norm_measures`: the percentile of the margin distribution (the paper's 10)."""

    percentile: float = Field(10.0, ge=0.0, le=100.0)


@no_grad
def path_norm(model, input_shape: tuple[int, ...]) -> float:
    """Squared path norm ``sum_i f_{w^2}(1)[i]`` (Jiang et al. 2020, Eq. 44).

    Batch norm is folded into the layer before it
    (:func:`~functional.batchnorm_folding.fold_batch_norm`), then every
    parameter, biases included, is squared entrywise (``w^2 = w o w``) and the
    network, in eval mode, is run on one all-ones input; the outputs are
    summed. For a ReLU network without biases this is the sum over all
    input-output paths of the product of the squared weights along the path
    (Neyshabur et al. 2015's l2 path norm, squared); biases act as paths
    starting at their unit.

    Parameters
    ----------
    model : Network
    input_shape : tuple of int
        Shape of one input, e.g. ``(C, H, W)``.

    Returns
    -------
    float
        In squared weight units; >= 0 when every nonlinearity maps
        nonnegative inputs to nonnegative outputs (ReLU, pooling).

    Raises
    ------
    ValueError
        If its batch norms cannot be folded (TypeError if ``model`` is not a Network).
    """
    import torch

    folded, _ = fold_batch_norm(model)
    for p in folded.parameters():
        p.pow_(2)
    x = torch.ones((1, *input_shape), dtype=next(folded.parameters()).dtype)
    return float(folded(x).sum())


DECLARED_STATISTICS = (
    Statistic("path_norm", False, families=("jiang_margin_path_norm",)),
    Statistic("path_norm_over_margin", False, families=("jiang_margin_path_norm",)),
)


@register_measure(providers=("model", "data", "logits", "labels"), params=PathNormParams, version=1,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper=PAPER)
def path_norm_measures(params: PathNormParams, *, model, data, logits: dict, labels: dict) -> MeasureResult:
    """Path norm and path norm over margin (Jiang et al. 2020, Appendix C, Eqs. 43-44).

    Rows on layer ``"all"``: ``path_norm`` (Eq. 44), ``sum_i f_{w^2}(1)[i]``,
    the sum of the outputs of the network with squared parameters on an
    all-ones input (:func:`path_norm`); ``path_norm_over_margin`` (Eq. 43),
    ``path_norm / gamma^2`` with ``gamma`` the 10th-percentile output margin on
    the training sample, left out when ``gamma = 0``. Higher values predict a
    larger generalization gap.

    Parameters
    ----------
    params : PathNormParams
    model : Network
    data : DataSplits
        Only ``data.input_shape`` is read.
    logits : dict[str, ndarray of shape (n_samples, n_classes)]
        Only ``"train"`` is read (for ``gamma``).
    labels : dict[str, ndarray of shape (n_samples,)]

    Returns
    -------
    MeasureResult
        ``rows`` on layer ``"all"``: ``path_norm`` (units: products of squared
        weights along a path, i.e. squared weight units per layer; >= 0 for
        ReLU networks) and ``path_norm_over_margin`` (the same over logit
        units squared; absent when ``gamma = 0``). No diagrams.

    Raises
    ------
    ValueError
        If the training split is missing from the logits or labels, they are
        malformed (:func:`~measures.baselines.margin.output_margins`), or the
        model's batch norms cannot be folded.
    TypeError
        If ``model`` is not a Network (no ``weight_layers``).

    References
    ----------
    Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic generalization measures and where to
    find them", ICLR 2020, Appendix C, Eqs. 43-44. Neyshabur, Tomioka, Srebro, "Norm-based
    capacity control in neural networks", COLT 2015 (the l2 path norm).
    """
    value = path_norm(model, tuple(data.input_shape))
    gamma = percentile_margin(*split_pair(logits, labels, "train", "path_norm_measures"), params.percentile)
    result = MeasureResult()
    result.add("all", "path_norm", value)
    if gamma != 0.0:
        result.add("all", "path_norm_over_margin", value / gamma**2)
    return result
