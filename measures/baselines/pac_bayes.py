"""PAC-Bayes bounds and flatness from a searched perturbation scale (Jiang et al. 2020, Appendix C).

Eqs. 48, 49, 53 (isotropic noise) and 56, 57, 61 (magnitude-aware noise).

The posterior is the trained weights plus Gaussian noise ``u``:
``u ~ N(0, sigma^2 I)``, or, magnitude-aware, ``u_i ~ N(0, sigma^2 w_i^2 + eps^2)``.
``sigma`` is the largest scale at which the expected training accuracy moves
by a target deviation (0.1), found by bisection with Monte Carlo estimates
(:func:`pac_bayes_sigma`, the paper's search as in its reference code).

Two differences from Dziugaite et al.'s reference code (``measures.py`` of
robust-generalization-measures), both following the paper: the noise has
standard deviation ``sigma`` (the code passes ``sigma^2``, and in the
magnitude-aware case the variance, as ``torch.normal``'s standard deviation);
only the weights that the bounds' norms measure are perturbed (the code also
perturbs biases).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from core.catalog import Statistic
from functional.batchnorm_folding import fold_batch_norm, network_weights
from functional.grad import no_grad
from functional.network import evaluating, predict, split_inputs, split_labels
from measures.baselines.margin import PAPER
from measures.registry import MeasureParams, MeasureResult, register_measure

if TYPE_CHECKING:
    import torch


class PacBayesParams(MeasureParams):
    """Parameters of :func:`pac_bayes` and :func:`pac_bayes_magnitude` (defaults: the reference code's).

    ``target_deviation``: the change of expected training accuracy that
    defines ``sigma`` (0.1); ``tolerance``: the search stops when the change is
    within this of the target (0.01); ``sigma_max``: upper end of the initial
    bracket ``[0, sigma_max]`` (2); ``search_depth``: bisection steps (15);
    ``draws``: Monte Carlo perturbations per step (10); ``magnitude_eps``: the
    magnitude-aware variant's ``eps`` (1e-3); ``seed``: of the noise.
    """

    target_deviation: float = Field(0.1, gt=0.0, lt=1.0)
    tolerance: float = Field(0.01, ge=0.0)
    sigma_max: float = Field(2.0, gt=0.0)
    search_depth: int = Field(15, ge=1)
    draws: int = Field(10, ge=1)
    magnitude_eps: float = Field(1e-3, ge=0.0)
    seed: int = 0


def _accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y``."""
    return int((predict(model, x).argmax(1) == y).sum()) / len(x)


@no_grad
def pac_bayes_sigma(model, x: torch.Tensor, y: np.ndarray, params: PacBayesParams,
                    magnitude_aware: bool = False) -> tuple[float, float]:
    """The perturbation scale ``sigma`` of Jiang et al. 2020's PAC-Bayes measures (bisection search).

    Every weight of :meth:`Network.weight_layers` (biases and batch norm
    excluded) gets noise ``N(0, sigma^2)``, or ``N(0, sigma^2 w_i^2 + eps^2)``
    when ``magnitude_aware``. Bisection on ``[0, sigma_max]``: at the midpoint
    ``sigma``, the mean training accuracy ``A`` of ``draws`` perturbed networks
    is compared with the unperturbed accuracy ``A0``; the search stops when
    ``| |A - A0| - target | < tolerance``, else halves the bracket (upper end
    down when ``|A - A0| > target``) for at most ``search_depth`` steps.

    Parameters
    ----------
    model : Network
        Evaluated in eval mode (its mode is restored); fold batch norm first to perturb folded weights.
    x : Tensor of shape (n_samples, *input_shape)
    y : ndarray of shape (n_samples,), int
    params : PacBayesParams
    magnitude_aware : bool

    Returns
    -------
    sigma : float
        The last midpoint, in weight units (relative units when ``magnitude_aware``).
    deviation : float
        ``|A - A0|`` at ``sigma`` (fraction of samples).

    Raises
    ------
    ValueError
        If ``x`` is empty or ``x`` and ``y`` differ in length.
    """
    import torch

    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"expected x of shape (n_samples >= 1, ...) and y of shape (n_samples,); "
                         f"got {len(x)} inputs and {len(y)} labels")
    layers = [m.weight for m in model.weight_layers().values()]
    originals = [w.detach().clone() for w in layers]
    yt = torch.as_tensor(y)
    generator = torch.Generator().manual_seed(params.seed)
    lower, upper = 0.0, params.sigma_max
    sigma = deviation = float("nan")
    with evaluating(model):
        base = _accuracy(model, x, yt)
        try:
            for _ in range(params.search_depth):
                sigma = (lower + upper) / 2
                accuracies = []
                for _ in range(params.draws):
                    for w, w_orig in zip(layers, originals):
                        std = torch.sqrt(sigma**2 * w_orig**2 + params.magnitude_eps**2) if magnitude_aware else sigma
                        w.copy_(w_orig + std * torch.randn(w.shape, generator=generator, dtype=w.dtype))
                    accuracies.append(_accuracy(model, x, yt))
                deviation = abs(float(np.mean(accuracies)) - base)
                if abs(deviation - params.target_deviation) < params.tolerance:
                    break
                if deviation > params.target_deviation:
                    upper = sigma
                else:
                    lower = sigma
        finally:
            for w, w_orig in zip(layers, originals):
                w.copy_(w_orig)
    return sigma, deviation


def _setup(measure: str, model, init_weights: dict, inputs: dict, labels: dict, data):
    folded, _ = fold_batch_norm(model)
    weights, init = network_weights(model, init_weights, fold=True)
    x = split_inputs(inputs, "train", measure)
    y = split_labels(labels, "train", len(x), measure)
    w = np.concatenate([v.ravel() for v in weights.values()])
    w0 = np.concatenate([v.ravel() for v in init.values()])
    m = len(data.y["train"])
    return folded, x, y, w, w0, m


def pac_bayes_bounds(w: np.ndarray, w0: np.ndarray, sigma: float, m: int) -> dict[str, float]:
    """Eqs. 48, 49 and 53 of Jiang et al. 2020 for weights ``w``, initial weights ``w0`` and scale ``sigma``.

    ``pacbayes_init = ||w - w0||^2 / (4 sigma^2) + log(m / sigma) + 10``,
    ``pacbayes_orig = ||w||^2 / (4 sigma^2) + log(m / sigma) + 10``,
    ``pacbayes_flatness = 1 / sigma^2``; ``w, w0`` of shape (n_weights,), ``m`` training examples.
    """
    tail = math.log(m / sigma) + 10.0
    return {"pacbayes_init": float(np.sum((w - w0) ** 2)) / (4 * sigma**2) + tail,
            "pacbayes_orig": float(np.sum(w**2)) / (4 * sigma**2) + tail,
            "pacbayes_flatness": 1.0 / sigma**2}


def pac_bayes_magnitude_bounds(w: np.ndarray, w0: np.ndarray, sigma: float, eps: float, m: int) -> dict[str, float]:
    """Eqs. 56, 57 and 61 of Jiang et al. 2020 (magnitude-aware), ``omega = w.size`` weights.

    ``pacbayes_mag_init = 1/4 sum_i log((eps^2 + (sigma^2 + 1) ||w - w0||^2 / omega)
    / (eps^2 + sigma^2 (w_i - w0_i)^2)) + log(m / sigma) + 10``; ``pacbayes_mag_orig``
    the same with ``||w||^2`` in the numerator; ``pacbayes_mag_flatness = 1 / sigma^2``.
    """
    omega, tail = w.size, math.log(m / sigma) + 10.0
    denominator = eps**2 + sigma**2 * (w - w0) ** 2
    out = {}
    for name, ref in (("init", w - w0), ("orig", w)):
        numerator = eps**2 + (sigma**2 + 1) * float(np.sum(ref**2)) / omega
        out[f"pacbayes_mag_{name}"] = 0.25 * float(np.sum(np.log(numerator / denominator))) + tail
    out["pacbayes_mag_flatness"] = 1.0 / sigma**2
    return out


PAC_BAYES_STATISTICS = tuple(Statistic(f"pacbayes_{s}", False, families=("jiang_pac_bayes",)) for s in ("init", "orig", "flatness"))


@register_measure(providers=("model", "init_weights", "inputs", "labels", "data"), params=PacBayesParams,
                  version=1, statistics=PAC_BAYES_STATISTICS, paper=PAPER)
def pac_bayes(params: PacBayesParams, *, model, init_weights: dict, inputs: dict, labels: dict,
              data) -> MeasureResult:
    """PAC-Bayes bounds and flatness, isotropic noise (Jiang et al. 2020, Appendix C, Eqs. 48, 49, 53).

    ``sigma`` from :func:`pac_bayes_sigma` on the training measurement sample
    with batch norm folded; ``w`` the folded weights of every layer (biases
    excluded), ``w0`` at initialisation, ``m`` the number of training
    examples. Rows on layer ``"all"`` (:func:`pac_bayes_bounds`):
    ``pacbayes_init`` (Eq. 48), ``pacbayes_orig`` (Eq. 49),
    ``pacbayes_flatness`` ``1 / sigma^2`` (Eq. 53). Higher values predict a
    larger generalization gap.

    Parameters
    ----------
    params : PacBayesParams
    model : Network
    init_weights : dict[str, ndarray of shape (out, in) or (out, in, kh, kw)]
        The layers' weights at initialisation, unfolded.
    inputs : dict[str, Tensor of shape (n_samples, *input_shape)]
        Only ``"train"`` is read.
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels (those trained on); only ``"train"`` is read.
    data : DataSplits
        Only the number ``m`` of training examples is read.

    Returns
    -------
    MeasureResult
        The three ``rows`` above on layer ``"all"``; no diagrams. Units:
        ``pacbayes_init`` and ``pacbayes_orig`` dimensionless (nats, a KL term
        plus ``log(m / sigma)``); ``pacbayes_flatness`` in 1 / squared weight units.

    Raises
    ------
    ValueError
        If the training split is missing, the inputs are empty or not finite,
        the labels are not integers or not one per input, ``init_weights`` does
        not match the model's layers or shapes, or a batch norm cannot be folded.
    TypeError
        If ``model`` is not a Network (no ``weight_layers``).

    References
    ----------
    Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic generalization measures and where to
    find them", ICLR 2020, Appendix C, Eqs. 48, 49, 53. Dziugaite et al., "In search of robust
    measures of generalization", NeurIPS 2020 (reference code robust-generalization-measures,
    ``measures.py``: the bisection search for sigma).
    """
    folded, x, y, w, w0, m = _setup("pac_bayes", model, init_weights, inputs, labels, data)
    sigma, _ = pac_bayes_sigma(folded, x, y, params)
    result = MeasureResult()
    for stat, value in pac_bayes_bounds(w, w0, sigma, m).items():
        result.add("all", stat, value)
    return result


PAC_BAYES_MAGNITUDE_STATISTICS = tuple(Statistic(f"pacbayes_mag_{s}", False, families=("jiang_pac_bayes_magnitude",)) for s in ("init", "orig", "flatness"))


@register_measure(providers=("model", "init_weights", "inputs", "labels", "data"), params=PacBayesParams,
                  version=1, statistics=PAC_BAYES_MAGNITUDE_STATISTICS, paper=PAPER)
def pac_bayes_magnitude(params: PacBayesParams, *, model, init_weights: dict, inputs: dict, labels: dict,
                        data) -> MeasureResult:
    """Magnitude-aware PAC-Bayes bounds and flatness (Jiang et al. 2020, Appendix C, Eqs. 56, 57, 61).

    As :func:`pac_bayes` with noise ``u_i ~ N(0, sigma^2 w_i^2 + eps^2)``,
    ``eps = params.magnitude_eps``. Rows on layer ``"all"``
    (:func:`pac_bayes_magnitude_bounds`): ``pacbayes_mag_init`` (Eq. 56),
    ``pacbayes_mag_orig`` (Eq. 57), ``pacbayes_mag_flatness`` ``1 / sigma^2``
    (Eq. 61). Higher values predict a larger generalization gap.

    Parameters
    ----------
    params : PacBayesParams
    model : Network
    init_weights : dict[str, ndarray of shape (out, in) or (out, in, kh, kw)]
    inputs : dict[str, Tensor of shape (n_samples, *input_shape)]
    labels : dict[str, ndarray of shape (n_samples,)]
    data : DataSplits
        As :func:`pac_bayes`.

    Returns
    -------
    MeasureResult
        The three ``rows`` above on layer ``"all"``; no diagrams. Units: all
        dimensionless (``sigma`` is relative to each weight's magnitude; the
        bounds in nats).

    Raises
    ------
    ValueError
        As :func:`pac_bayes`.
    TypeError
        If ``model`` is not a Network.

    References
    ----------
    Jiang et al., ICLR 2020, Appendix C, Eqs. 56, 57, 61 (magnitude-aware perturbation
    ``u_i ~ N(0, sigma^2 w_i^2 + eps^2)``); reference code as :func:`pac_bayes`.
    """
    folded, x, y, w, w0, m = _setup("pac_bayes_magnitude", model, init_weights, inputs, labels, data)
    sigma, _ = pac_bayes_sigma(folded, x, y, params, magnitude_aware=True)
    result = MeasureResult()
    for stat, value in pac_bayes_magnitude_bounds(w, w0, sigma, params.magnitude_eps, m).items():
        result.add("all", stat, value)
    return result
