"""Intermediate neural collapse: CDNV and NCC accuracy per layer (Galanti et al. TMLR 2023)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from measures.registry import MeasureParams, MeasureResult, register_measure

#: Size of the float64 column blocks that embeddings are processed in.
BLOCK_BYTES = 64 * 2**20


class NeuralCollapseParams(MeasureParams):
    """:func:`neural_collapse` has no parameters."""


def _blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    width = max(1, BLOCK_BYTES // (8 * max(n_rows, 1)))
    for start in range(0, n_cols, width):
        yield slice(start, min(start + width, n_cols))


def class_means_and_variances(H: np.ndarray, y_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means ``mu_c`` and variances ``Var_c = mean_{i in c} ||h_i - mu_c||^2``.

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_features)
    y_idx : ndarray of shape (n_samples,), int
        Class index in ``[0, k)`` of each sample; every class has a sample.
    k : int

    Returns
    -------
    means : ndarray of shape (k, n_features), float64
    variances : ndarray of shape (k,), float64
        Computed from the residuals in float64, not as ``E||h||^2 - ||mu||^2``.
    """
    counts = np.bincount(y_idx, minlength=k).astype(np.float64)
    onehot = np.zeros((H.shape[0], k))
    onehot[np.arange(H.shape[0]), y_idx] = 1.0
    means = np.empty((k, H.shape[1]))
    ss = np.zeros(k)
    for sl in _blocks(*H.shape):
        Hb = np.asarray(H[:, sl], dtype=np.float64)
        means[:, sl] = (onehot.T @ Hb) / counts[:, None]
        ss += np.bincount(y_idx, weights=((Hb - means[y_idx, sl]) ** 2).sum(axis=1), minlength=k)
    return means, ss / counts


def cdnv(means: np.ndarray, variances: np.ndarray) -> float | None:
    """Mean over class pairs ``i < j`` of ``(Var_i + Var_j) / (2 ||mu_i - mu_j||^2)``.

    Returns None (undefined) when two class means coincide.
    """
    k = means.shape[0]
    values = []
    for i in range(k - 1):
        dist2 = ((means[i + 1:] - means[i]) ** 2).sum(axis=1)
        if (dist2 == 0).any():
            return None
        values.append((variances[i] + variances[i + 1:]) / (2.0 * dist2))
    return float(np.concatenate(values).mean())


def ncc_predict(H: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Index of the nearest class mean (Euclidean) of each row of ``H``, shape (n_samples,).

    Ties go to the lower class index.
    """
    d2 = np.zeros((H.shape[0], means.shape[0]))
    for sl in _blocks(*H.shape):
        Hb, Mb = np.asarray(H[:, sl], dtype=np.float64), means[:, sl]
        d2 += (Hb**2).sum(axis=1)[:, None] - 2.0 * Hb @ Mb.T + (Mb**2).sum(axis=1)[None, :]
    return np.argmin(d2, axis=1)


def _embedding(preactivations: dict, split: str, layer: str, n: int) -> np.ndarray:
    H = np.asarray(preactivations[split][layer])
    if H.ndim != 2 or H.shape[0] != n:
        raise ValueError(f"preactivations[{split!r}][{layer!r}]: expected shape ({n}, n_features) to match "
                         f"labels[{split!r}], got {H.shape}")
    if not np.isfinite(H).all():
        raise ValueError(f"preactivations[{split!r}][{layer!r}] has non-finite values")
    return H


def _last_hidden(names: list[str]) -> str | None:
    if "output" not in names:
        return names[-1] if names else None
    i = names.index("output")
    return names[i - 1] if i > 0 else None


@register_measure(providers=("preactivations", "labels"), params=NeuralCollapseParams, version=1,
                  paper="Galanti et al. TMLR 2023, Comparative generalization bounds for deep neural networks")
def neural_collapse(params: NeuralCollapseParams, *, preactivations: dict, labels: dict) -> MeasureResult:
    """Class-distance normalised variance and nearest-class-centre accuracy at every layer.

    Galanti et al. 2023, their definitions of the CDNV and of the NCC
    classifier (code: IntermediateNC ``analysis.py``), on the embeddings ``h``
    = a layer's Linear/Conv output before normalisation and nonlinearity.
    Classes are the labels present in the train split (a class absent from it
    has no mean and is left out); at least two are needed. Class means
    ``mu_c`` and ``Var_c = E_{h in c} ||h - mu_c||^2`` come from the train
    split (float64, from residuals). Per layer:

    - ``cdnv``: mean over class pairs ``i < j`` of
      ``(Var_i + Var_j) / (2 ||mu_i - mu_j||^2)`` (dimensionless; lower means
      more collapse). Left out when two class means coincide (undefined).
    - ``ncc_accuracy_train``, ``ncc_accuracy_test``: fraction of samples whose
      nearest class mean (Euclidean; ties to the smaller label) is their label,
      in [0, 1]. Test samples whose label is absent from the train split count
      as errors. The test value needs a ``"test"`` split in both providers.

    On layer ``"all"``: the same three at the last hidden layer (the layer
    before ``"output"`` in forward order, or the last layer when there is no
    ``"output"``): ``cdnv_last_hidden``, ``ncc_accuracy_train_last_hidden``,
    ``ncc_accuracy_test_last_hidden``. No single sign (``higher_is_better``
    None): NCC accuracy is higher-is-better, CDNV lower-is-better.

    Parameters
    ----------
    params : NeuralCollapseParams
    preactivations : dict[str, dict[str, ndarray of shape (n_samples, n_features)]]
        Split to layer to embeddings; every layer of ``"train"`` is measured.
    labels : dict[str, ndarray of shape (n_samples,)]
        Integer labels per split, as trained on.

    Raises
    ------
    ValueError
        If the train split is missing, fewer than two classes are present,
        shapes disagree with the labels, or embeddings are not finite.
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
    result, per_layer = MeasureResult(), {}
    for layer in preactivations["train"]:
        H = _embedding(preactivations, "train", layer, y_train.size)
        means, var = class_means_and_variances(H, y_idx, classes.size)
        stats = {"cdnv": cdnv(means, var)}
        pred = ncc_predict(H, means)
        stats["ncc_accuracy_train"] = float(np.mean(classes[pred] == y_train))
        if has_test and layer in preactivations["test"]:
            pred = ncc_predict(_embedding(preactivations, "test", layer, y_test.size), means)
            stats["ncc_accuracy_test"] = float(np.mean(classes[pred] == y_test)) if y_test.size else None
        per_layer[layer] = {k: v for k, v in stats.items() if v is not None}
        for name, value in per_layer[layer].items():
            result.add(layer, name, value)
    last = _last_hidden(list(preactivations["train"]))
    for name, value in per_layer.get(last, {}).items():
        result.add("all", f"{name}_last_hidden", value)
    return result
