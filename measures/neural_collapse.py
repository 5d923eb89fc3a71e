"""Intermediate neural collapse per layer: CDNV, NCC accuracy, NC1 and the effective depth."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from functional.collapse import cdnv, class_means_and_variances, effective_depth, nc1, ncc_predict
from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure


class NeuralCollapseParams(MeasureParams):
    """Parameters of :func:`neural_collapse`.

    ``effective_depth_epsilon``: the NCC train error rate (fraction, in [0, 1])
    a layer may have and still count as NCC-separable for the epsilon-effective
    depth. ``nc1_global_mean``: ``mu_G`` of NC1, ``"samples"`` (the mean of all
    train samples, Papyan et al.'s text) or ``"class_means"`` (the mean of the
    class means, their public code).
    """

    effective_depth_epsilon: float = Field(0.01, ge=0.0, le=1.0, description="tolerated NCC train error rate")
    nc1_global_mean: Literal["samples", "class_means"] = Field(
        "samples", description="global mean of NC1's between-class covariance")


def _embedding(preactivations: dict, split: str, layer: str, n: int) -> np.ndarray:
    H = np.asarray(preactivations[split][layer])
    if H.ndim != 2 or H.shape[0] != n:
        raise ValueError(f"preactivations[{split!r}][{layer!r}]: expected shape ({n}, n_neurons) to match "
                         f"labels[{split!r}], got {H.shape}")
    if not np.isfinite(H).all():
        raise ValueError(f"preactivations[{split!r}][{layer!r}] has non-finite values")
    return H


def _hidden(names: list[str]) -> list[str]:
    """The layers before ``"output"`` in forward order (all of them when there is no ``"output"``)."""
    return names[:names.index("output")] if "output" in names else names


DECLARED_STATISTICS = (
    Statistic("cdnv_last_hidden", False, families=("neural_collapse",)),
    Statistic("ncc_accuracy_train_last_hidden", True, families=("neural_collapse",)),
    Statistic("ncc_accuracy_test_last_hidden", True, families=("neural_collapse",)),
    Statistic("nc1_last_hidden", False),
    Statistic("effective_depth", False),  # Galanti et al. 2023: a smaller effective depth, a tighter bound
    Statistic("cdnv", False, "layer"),
    Statistic("nc1", False, "layer"),
    Statistic("ncc_accuracy_train", True, "layer"),
    Statistic("ncc_accuracy_test", True, "layer"),
)


@register_measure(providers=("preactivations", "labels"), params=NeuralCollapseParams, version=3,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper="Galanti et al. TMLR 2023, Comparative generalization bounds for deep neural networks; "
                        "Papyan et al. PNAS 2020, Prevalence of neural collapse")
def neural_collapse(params: NeuralCollapseParams, *, preactivations: dict, labels: dict) -> MeasureResult:
    """Class-distance normalised variance, NCC accuracy and NC1 at every layer; effective depth.

    On the embeddings ``h`` = a layer's Linear/Conv output before
    normalisation and nonlinearity (Galanti et al. 2023; their code:
    IntermediateNC ``analysis.py``). Classes are the labels present in the
    train split (a class absent from it has no mean and is left out); at least
    two are needed. Class means ``mu_c`` and variances come from the train
    split (float64, from residuals). Per layer:

    - ``cdnv``: mean over class pairs ``i < j`` of
      ``(Var_i + Var_j) / (2 ||mu_i - mu_j||^2)``, ``Var_c = E_{h in c} ||h - mu_c||^2``
      (dimensionless; lower means more collapse). Left out when two class means
      coincide (undefined).
    - ``ncc_accuracy_train``, ``ncc_accuracy_test``: fraction of samples whose
      nearest class mean (Euclidean; ties to the smaller label) is their label,
      in [0, 1]. Test samples whose label is absent from the train split count
      as errors. The test value needs a ``"test"`` split in both providers.
    - ``nc1``: ``Tr(Sigma_W Sigma_B^+) / C`` on the train split (Papyan, Han,
      Donoho 2020, Fig. 6; :func:`functional.collapse.nc1`),
      dimensionless, lower means more collapse. Left out when all class means
      coincide.

    On layer ``"all"``: the per-layer values at the last hidden layer (the
    layer before ``"output"`` in forward order, or the last layer when there is
    no ``"output"``) as ``cdnv_last_hidden``, ``ncc_accuracy_train_last_hidden``,
    ``ncc_accuracy_test_last_hidden``, ``nc1_last_hidden``; and
    ``effective_depth``: the 1-based index, among the hidden layers, of the
    first one whose NCC train error rate is at most ``effective_depth_epsilon``
    (Galanti et al. 2023's epsilon-effective depth), left out when none is. No
    single sign (``higher_is_better`` None): NCC accuracy is higher-is-better,
    the others lower-is-better.

    Parameters
    ----------
    params : NeuralCollapseParams
    preactivations : dict[str, dict[str, ndarray of shape (n_samples, n_neurons)]]
        Split to layer to embeddings, layers in forward order; every layer of
        ``"train"`` is measured.
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels per split, as trained on.

    Returns
    -------
    MeasureResult
        The ``rows`` above: per layer ``cdnv``, ``nc1`` (dimensionless, >= 0),
        ``ncc_accuracy_train`` and ``ncc_accuracy_test`` (fractions in [0, 1],
        dimensionless); on ``"all"`` the ``*_last_hidden`` copies and
        ``effective_depth`` (units: layers, a 1-based count). No diagrams.

    Raises
    ------
    ValueError
        If the train split is missing, fewer than two classes are present,
        an embedding is not 2-D or its rows disagree with the labels, or
        embeddings are not finite.

    References
    ----------
    Galanti, Galanti, Ben-Shaul, "Comparative generalization bounds for deep neural networks",
    TMLR 2023 (arXiv 2202.09028): embeddings, per-layer CDNV and NCC accuracy, the
    epsilon-effective depth. Galanti, Gyorgy, Hutter, "On the role of neural collapse in transfer
    learning", ICLR 2022 (the CDNV). Papyan, Han, Donoho, "Prevalence of neural collapse during
    the terminal phase of deep learning training", PNAS 117(40), 2020, Fig. 6 (NC1).
    """
    if "train" not in preactivations or "train" not in labels:
        raise ValueError("neural_collapse needs a 'train' split in preactivations and labels")
    y_train = np.asarray(labels["train"]).ravel()
    classes = np.unique(y_train)
    if classes.size < 2:
        raise ValueError(f"neural_collapse needs at least 2 classes in the train labels; found {classes.tolist()}")
    y_idx = np.searchsorted(classes, y_train)
    has_test = "test" in preactivations and "test" in labels
    y_test = np.asarray(labels["test"]).ravel() if has_test else None
    result, per_layer, train_errors = MeasureResult(), {}, {}
    for layer in preactivations["train"]:
        H = _embedding(preactivations, "train", layer, y_train.size)
        means, var = class_means_and_variances(H, y_idx, classes.size)
        wrong = int(np.sum(ncc_predict(H, means) != y_idx))
        train_errors[layer] = wrong
        stats = {"cdnv": cdnv(means, var), "ncc_accuracy_train": (y_train.size - wrong) / y_train.size}
        if has_test and layer in preactivations["test"] and y_test.size:
            pred = ncc_predict(_embedding(preactivations, "test", layer, y_test.size), means)
            stats["ncc_accuracy_test"] = float(np.mean(classes[pred] == y_test))
        stats["nc1"] = nc1(H, y_idx, means, params.nc1_global_mean)
        per_layer[layer] = {k: v for k, v in stats.items() if v is not None}
        for name, value in per_layer[layer].items():
            result.add(layer, name, value)
    hidden = _hidden(list(preactivations["train"]))
    for name, value in per_layer.get(hidden[-1] if hidden else None, {}).items():
        result.add("all", f"{name}_last_hidden", value)
    depth = effective_depth([train_errors[layer] for layer in hidden], y_train.size,
                            params.effective_depth_epsilon)
    if depth is not None:
        result.add("all", "effective_depth", depth)
    return result
