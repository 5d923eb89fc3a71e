"""Output margin and inverse margin (Jiang et al. 2020, Appendix C, Eq. 22)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure

PAPER = "Jiang et al. ICLR 2020, Fantastic generalization measures and where to find them"


def output_margins(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample output margin: the true class's logit minus the largest other logit.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        Network outputs (logit units), ``n_classes >= 2``.
    labels : ndarray of shape (n_samples,)
        Integer class of each sample, in ``[0, n_classes)``.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        Negative for a misclassified sample.

    Raises
    ------
    ValueError
        If shapes disagree, there are fewer than 2 classes, values are not
        finite or a label is out of range.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).ravel()
    if z.ndim != 2 or z.shape[1] < 2 or z.shape[0] != y.size or y.size == 0:
        raise ValueError(f"expected logits of shape (n_samples >= 1, n_classes >= 2) and labels of shape "
                         f"(n_samples,); got {z.shape} and {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError("logits have non-finite values")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must be integers in [0, {z.shape[1]}); got dtype {y.dtype}, "
                         f"range [{y.min()}, {y.max()}]")
    rows = np.arange(y.size)
    true = z[rows, y]
    others = z.copy()
    others[rows, y] = -np.inf
    return true - others.max(axis=1)


def percentile_margin(logits: np.ndarray, labels: np.ndarray, percentile: float = 10.0) -> float:
    """The ``percentile``-th percentile of the output margins (Jiang et al. 2020's gamma, Appendix C).

    Linear interpolation between order statistics (``numpy.percentile``'s
    default: 0-based position ``p (n - 1) / 100``). Dziugaite et al.'s
    reference code (robust-generalization-measures) takes instead the
    ``floor(n / 10)``-th smallest margin (0-based position
    ``floor(n / 10) - 1``), a neighbouring order statistic, and its absolute
    value; the measures here use ``gamma^2``, where the sign does not matter.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    labels : ndarray of shape (n_samples,)
    percentile : float in [0, 100]

    Returns
    -------
    float
        In logit units; negative when more than ``percentile`` % of the samples are misclassified.

    Raises
    ------
    ValueError
        As :func:`output_margins`.
    """
    return float(np.percentile(output_margins(logits, labels), percentile))


class MarginParams(MeasureParams):
    """Parameters of :func:`output_margin`: the percentile of the margin distribution (the paper's 10)."""

    percentile: float = Field(10.0, ge=0.0, le=100.0)


def split_pair(logits: dict, labels: dict, split: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """``logits[split]`` and ``labels[split]`` of the providers, or a clear error when missing."""
    if split not in logits or split not in labels:
        raise ValueError(f"{measure} needs the split {split!r} in logits and labels; "
                         f"got {sorted(logits)} and {sorted(labels)}")
    return logits[split], labels[split]


DECLARED_STATISTICS = (
    Statistic("inverse_margin", False, families=("jiang_margin_path_norm",)),
    Statistic("margin", True),
)


@register_measure(providers=("logits", "labels"), params=MarginParams, version=1, statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper=PAPER)
def output_margin(params: MarginParams, *, logits: dict, labels: dict) -> MeasureResult:
    """Output margin gamma and inverse margin 1 / gamma^2 (Jiang et al. 2020, Appendix C, Eq. 22).

    ``gamma`` is the 10th percentile (``params.percentile``) over the training
    samples of the margin ``f(x)[y] - max_{j != y} f(x)[j]`` (logit units), on
    the fixed measurement sample of the training split. Rows on layer
    ``"all"``: ``margin`` (gamma; higher predicts a smaller gap) and
    ``inverse_margin`` ``1 / gamma^2`` (Eq. 22; higher predicts a larger gap),
    left out when ``gamma = 0``. The two rows have opposite signs, so the
    measure declares none.

    Parameters
    ----------
    params : MarginParams
    logits : dict[str, ndarray of shape (n_samples, n_classes)]
        Network outputs per split; only ``"train"`` is read.
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels per split (those trained on); only ``"train"`` is read.

    Returns
    -------
    MeasureResult
        ``rows`` on layer ``"all"``: ``margin`` (gamma, in logit units; negative
        when more than ``percentile`` % of the samples are misclassified) and
        ``inverse_margin`` (``1 / gamma^2``, units 1 / logit^2; absent when
        ``gamma = 0``). No diagrams.

    Raises
    ------
    ValueError
        If the training split is missing from ``logits`` or ``labels``, shapes
        disagree, there are fewer than 2 classes, logits are not finite or a
        label is not an integer in ``[0, n_classes)`` (see :func:`output_margins`).

    References
    ----------
    Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic generalization measures and where to
    find them", ICLR 2020, Appendix C, Eq. 22 (inverse margin, gamma the 10th percentile of the
    margin distribution). Dziugaite et al., "In search of robust measures of generalization",
    NeurIPS 2020 (reference code robust-generalization-measures, ``measures.py``).
    """
    gamma = percentile_margin(*split_pair(logits, labels, "train", "output_margin"), params.percentile)
    result = MeasureResult()
    result.add("all", "margin", gamma)
    if gamma != 0.0:
        result.add("all", "inverse_margin", 1.0 / gamma**2)
    return result
