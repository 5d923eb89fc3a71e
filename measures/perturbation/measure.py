"""The ``perturbation_response`` measure: Gi-score and Pal-score of perturbation response curves."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from measures.perturbation.curves import INPUT, PERTURBATIONS, perturbation_response_curve
from measures.perturbation.scores import check_curve, gi_score, pal_score
from functional.network import block_names, split_inputs, split_labels
from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure

Perturbation = Literal["interclass_mixup", "intraclass_mixup", "gaussian_noise"]


class PerturbationResponseParams(MeasureParams):
    """Parameters of :func:`perturbation_response`."""

    split: str = Field("train", description="split of the inputs and labels perturbed (the paper: training data)")
    layers: tuple[str, ...] | None = Field(
        None, description="blocks whose representation is perturbed ('input': the inputs); None: every block "
                          "before 'output'")
    perturbations: tuple[Perturbation, ...] = Field(
        ("interclass_mixup", "intraclass_mixup"), min_length=1,
        description="perturbations, each giving its own curve (the paper's PGDL results: inter- and intra-class "
                    "mixup)")
    magnitudes: int = Field(11, ge=3, description="perturbation magnitudes, evenly spaced from 0 to max_magnitude")
    max_magnitude: float = Field(0.5, gt=0.0, description="largest mixup weight of the partner, or noise in units "
                                                          "of the representation's root mean square")
    seed: int = 0


DECLARED_STATISTICS = (
    *(Statistic(f"{score}_{kind}", False, families=("perturbation_response",))
      for kind in ("interclass_mixup", "intraclass_mixup") for score in ("gi_score", "pal_score")),
    *(Statistic(f"{score}_*", False, "both") for score in ("gi_score", "pal_score", "accuracy_drop")),
)


@register_measure(providers=("model", "inputs", "labels"), params=PerturbationResponseParams, version=1,
                  statistics=DECLARED_STATISTICS,
                  paper="Schiff, Quanz, Das and Chen 2021, Predicting deep neural network generalization with "
                        "perturbation response curves (NeurIPS 2021)")
def perturbation_response(params: PerturbationResponseParams, *, model, inputs: dict,
                          labels: dict) -> MeasureResult:
    """Gi-score and Pal-score of the network's accuracy under growing perturbations of a layer.

    Schiff, Quanz, Das and Chen 2021 (arXiv 2106.04765). For each layer and
    perturbation, the perturbation response curve
    (:func:`~measures.perturbation.curves.perturbation_response_curve`, Sec.
    3) is the accuracy on the split's samples, against their own labels,
    at ``magnitudes`` evenly spaced perturbation magnitudes from 0 to
    ``max_magnitude``, normalised to [0, 1]. Rows, on the perturbed layer,
    for each perturbation ``p``:

    - ``gi_score_<p>``: :func:`~measures.perturbation.scores.gi_score`, the
      Gini coefficient of the curve (Sec. 3), dimensionless in (-1, 1);
    - ``pal_score_<p>``: :func:`~measures.perturbation.scores.pal_score`, its
      Palma ratio (Sec. 3), dimensionless, >= 0, 0.25 for a flat curve;
    - ``accuracy_drop_<p>``: the unperturbed accuracy minus the mean accuracy
      over the normalised magnitudes (area under the curve), a fraction.

    The same statistics on ``"all"`` are their means over the layers (a
    network-level summary for the feature families; the paper reads one
    layer at a time). All three grow as the network loses accuracy sooner
    under the perturbation, i.e. is less invariant to it, which is expected
    to go with a larger generalization gap (``higher_is_better`` False).
    Not checked against the paper's equations: the scores follow its Sec. 3
    description (the PR curve read as an income distribution); the PCD
    normalised by the curve's own area (not by the unperturbed accuracy), the
    magnitudes ``[0, 0.5]`` at 11 points and the mean over layers on ``"all"``
    are this implementation's choices.
    Mixup partners and noise are drawn once per perturbation from ``seed``
    and shared by every layer and magnitude, so the measure is deterministic
    given ``seed``. Cost: ``len(layers) * len(perturbations) * magnitudes``
    forward passes of the split's samples from the layer on (0.08 s for the
    defaults on the digits VGG of ``manifests/measures_all.toml``, 300
    samples).

    Parameters
    ----------
    params : PerturbationResponseParams
    model : Network
        Eval mode, on the CPU.
    inputs : dict[str, Tensor of shape (n_samples, *input_shape)]
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels (those the network was trained on, for ``"train"``).

    Returns
    -------
    MeasureResult
        ``rows`` ``gi_score_<p>``, ``pal_score_<p>`` and ``accuracy_drop_<p>``
        on each perturbed layer and, averaged over layers, on ``"all"``; no
        diagrams. Units: Gi- and Pal-scores dimensionless (the Pal-score is
        ``inf`` when no accuracy is left over the largest 40 % of magnitudes);
        ``accuracy_drop`` a fraction of samples (dimensionless, in [-1, 1],
        negative when the perturbation raises the accuracy).

    Raises
    ------
    ValueError
        If the split is missing, the inputs are empty or not finite, the labels
        are not integers or not one per input, the model is not a Network of
        named blocks, ``layers`` is empty or names something other than
        ``"input"`` or a block before ``"output"``, the labels hold one class
        (inter-class mixup), or a curve has zero accuracy at every magnitude.

    References
    ----------
    Schiff, Quanz, Das, Chen, "Predicting deep neural network generalization with perturbation
    response curves", NeurIPS 2021 (arXiv 2106.04765), Sec. 3: perturbation response curves,
    perturbation cumulative density, Gi-score (Gini coefficient) and Pal-score (Palma ratio).
    Zhang, Cisse, Dauphin, Lopez-Paz, "mixup: Beyond empirical risk minimization", ICLR 2018.
    """
    x = split_inputs(inputs, params.split, "perturbation_response")
    y = split_labels(labels, params.split, len(x), "perturbation_response")
    names = block_names(model)
    layers = params.layers if params.layers is not None else tuple(names[:-1])
    unknown = [layer for layer in layers if layer != INPUT and layer not in names[:-1]]
    if unknown or not layers:
        raise ValueError(f"perturbation_response: layers {list(layers)} must be {INPUT!r} or blocks before 'output' "
                         f"({names[:-1]}); not these: {unknown}")
    alphas = np.linspace(0.0, params.max_magnitude, params.magnitudes)
    result = MeasureResult()
    for layer in layers:
        for p in params.perturbations:
            rng = np.random.default_rng([params.seed, PERTURBATIONS.index(p)])
            accuracy = perturbation_response_curve(model, x, y, layer, p, alphas, rng)
            try:
                t, acc = check_curve(alphas, accuracy)
            except ValueError as err:
                raise ValueError(f"perturbation_response, layer {layer!r}, {p}: {err}") from err
            result.add(layer, f"gi_score_{p}", gi_score(alphas, accuracy))
            result.add(layer, f"pal_score_{p}", pal_score(alphas, accuracy))
            result.add(layer, f"accuracy_drop_{p}", acc[0] - float(np.sum(np.diff(t) * (acc[1:] + acc[:-1]) / 2)))
    by_statistic: dict[str, list[float]] = {}
    for _, stat, value in result.rows:
        by_statistic.setdefault(stat, []).append(value)
    for stat, values in by_statistic.items():
        result.add("all", stat, float(np.mean(values)))
    return result
