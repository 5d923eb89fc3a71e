"""Team Always Generalize, PGDL runner-up: robustness of the prediction to seven input augmentations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from core.catalog import Statistic
from functional.network import predict, split_inputs
from measures.pgdl import augmentations as aug
from measures.registry import MeasureParams, MeasureResult, register_measure

if TYPE_CHECKING:
    import torch

#: The augmentations in the submission's order.
AUGMENTATIONS = ("flip", "saturation", "crop", "sobel", "brightness", "flip_saturation", "erase")


class AlwaysGeneralizeParams(MeasureParams):
    """Parameters of :func:`always_generalize` (defaults: the team's runner-up submission)."""

    split: str = Field("train", description="split of the inputs measured")
    samples: int | None = Field(None, ge=1, description="first samples of the split used; None: all")
    batch_size: int = Field(64, ge=1, description="one random saturation factor is drawn per batch")
    penalties: tuple[float, ...] = Field((6.0, 1.0, 2.0, 3.0, 1.0, 12.0, 2.0),
                                         description="penalty of a changed prediction, per augmentation")
    saturation_range: tuple[float, float] = (0.6, 1.6)
    crop_fraction: float = Field(0.9, gt=0.0, le=1.0)
    brightness_delta: float = 0.5
    pixel_mean: tuple[float, ...] | None = Field(None, description="per-channel mean the inputs were "
                                                 "standardised with; None: inputs are pixels in [0, 1]")
    pixel_std: tuple[float, ...] | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> AlwaysGeneralizeParams:
        if len(self.penalties) != len(AUGMENTATIONS) or min(self.penalties) < 0:
            raise ValueError(f"penalties must be {len(AUGMENTATIONS)} non-negative numbers, one per augmentation "
                             f"{AUGMENTATIONS}; got {list(self.penalties)}")
        lo, hi = self.saturation_range
        if not 0 <= lo <= hi:
            raise ValueError(f"saturation_range must satisfy 0 <= low <= high; got {list(self.saturation_range)}")
        if (self.pixel_mean is None) != (self.pixel_std is None):
            raise ValueError("give both pixel_mean and pixel_std, or neither")
        if self.pixel_std is not None and (len(self.pixel_std) != len(self.pixel_mean) or min(self.pixel_std) <= 0):
            raise ValueError(f"pixel_std must be positive, one per channel like pixel_mean; got {self.pixel_std}")
        return self


def augmentation_scores(p_orig: np.ndarray, p_aug: list[np.ndarray], penalties: tuple[float, ...]) -> np.ndarray:
    """Per-sample score of Aithal et al. 2021: confidence changes, or a penalty when the prediction changes.

    For sample ``i`` and augmentation ``k``: ``|max_c p_orig[i, c] - max_c
    p_aug[k][i, c]|`` when both argmaxes agree (ties to the lower class),
    else ``penalties[k]``; summed over ``k``.

    Parameters
    ----------
    p_orig : ndarray of shape (n_samples, n_classes)
        Softmax probabilities of the original inputs.
    p_aug : list of ndarray of shape (n_samples, n_classes)
        The same for each augmentation.
    penalties : tuple of float, one per augmentation

    Returns
    -------
    ndarray of shape (n_samples,), float64
        In units of probability (changes) plus penalty units.
    """
    pred, conf = p_orig.argmax(axis=1), p_orig.max(axis=1)
    total = np.zeros(len(p_orig))
    for p, penalty in zip(p_aug, penalties, strict=True):
        same = p.argmax(axis=1) == pred
        total += np.where(same, np.abs(conf - p.max(axis=1)), penalty)
    return total


def _augmented(x: torch.Tensor, rng: np.random.Generator, params: AlwaysGeneralizeParams) -> list[torch.Tensor]:
    lo, hi = params.saturation_range
    flipped = aug.flip_left_right(x)
    return [flipped,
            aug.adjust_saturation(x, float(rng.uniform(lo, hi))),
            aug.central_crop_resize(x, params.crop_fraction),
            aug.sobel_dx(x),
            aug.adjust_brightness(x, params.brightness_delta),
            aug.adjust_saturation(flipped, float(rng.uniform(lo, hi))),
            aug.random_erase(x, rng)]


DECLARED_STATISTICS = (
    Statistic("augmentation_penalty", False, families=("pgdl_winners",)),
    Statistic("flip_rate_*", False),
)


@register_measure(providers=("model", "inputs"), params=AlwaysGeneralizeParams, version=1,
                  statistics=DECLARED_STATISTICS, permutation_invariant=True,
                  paper="Aithal, Kashyap and Subramanyam 2021, Robustness to augmentations as a generalization "
                        "metric (PGDL runner-up, team Always Generalize)")
def always_generalize(params: AlwaysGeneralizeParams, *, model, inputs: dict) -> MeasureResult:
    """Mean change of the network's confidence under seven augmentations, with penalties for changed predictions.

    Team Always Generalize's runner-up PGDL score (Aithal, Kashyap and
    Subramanyam 2021, arXiv 2101.06459; code ``complexity`` of the team's
    submission): each input is augmented by a left-right flip, a random
    saturation (factor uniform in ``saturation_range``, one per batch), a
    central crop resized back, the horizontal Sobel response, a brightness
    shift, a flip with random saturation and a random erasing
    (:mod:`measures.pgdl.augmentations`); :func:`augmentation_scores` scores
    each. The submission returns minus the *sum* over its samples; rows here
    are per sample, on layer ``"all"``:

    - ``augmentation_penalty``: the mean score (probability plus penalty
      units); higher predicts a larger generalization gap.
    - ``flip_rate_<augmentation>`` for each of :data:`AUGMENTATIONS`: the
      fraction of samples whose predicted class the augmentation changes.

    The augmentations act on pixels in [0, 1]: with ``pixel_mean`` and
    ``pixel_std`` the standardised inputs are mapped back to pixels first and
    the augmented images standardised again. No labels are used. Cost: eight
    forward passes per sample. Deterministic given ``seed``.

    Parameters
    ----------
    params : AlwaysGeneralizeParams
    model : Network
        Returns logits of shape (batch, n_classes).
    inputs : dict[str, Tensor of shape (n_samples, C, H, W)]
        C is 1 or 3; only ``params.split`` is read.

    Returns
    -------
    MeasureResult
        ``rows`` on layer ``"all"``: ``augmentation_penalty`` (units: softmax
        probability plus penalty units, dimensionless, >= 0) and the seven
        ``flip_rate_<augmentation>`` (fractions of samples in [0, 1],
        dimensionless). No diagrams.

    Raises
    ------
    ValueError
        If the split is missing, the inputs are empty or not finite, not one-
        or three-channel images, their channels disagree with ``pixel_mean``,
        or the images are too small for the random erasing.
    RuntimeError
        From torch's reflect padding (the Sobel augmentation) when an image side
        is shorter than 2 pixels.

    References
    ----------
    Aithal, Kashyap, Subramanyam, "Robustness to augmentations as a generalization metric",
    arXiv 2101.06459 (2021): the per-sample score, the seven augmentations and their penalties.
    Jiang et al., "NeurIPS 2020 competition: Predicting generalization in deep learning",
    arXiv 2012.07976 (the competition). Zhong et al., "Random erasing data augmentation",
    AAAI 2020.
    """
    import torch

    x = split_inputs(inputs, params.split, "always_generalize")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"always_generalize needs images of shape (n, C, H, W) with C in {{1, 3}}; "
                         f"got {tuple(x.shape)}")
    if params.samples is not None:
        x = x[:params.samples]
    mean = std = None
    if params.pixel_mean is not None:
        if len(params.pixel_mean) != x.shape[1]:
            raise ValueError(f"pixel_mean has {len(params.pixel_mean)} values for {x.shape[1]} channels")
        mean = torch.tensor(params.pixel_mean, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(params.pixel_std, dtype=x.dtype).view(1, -1, 1, 1)
    rng = np.random.default_rng(params.seed)
    scores, flips = [], []
    for i in range(0, len(x), params.batch_size):
        xb = x[i:i + params.batch_size]
        pixels = xb if mean is None else xb * std + mean
        variants = [v if mean is None else (v - mean) / std for v in _augmented(pixels, rng, params)]
        p_orig = torch.softmax(predict(model, xb), dim=1).double().numpy()
        p_aug = [torch.softmax(predict(model, v), dim=1).double().numpy() for v in variants]
        scores.append(augmentation_scores(p_orig, p_aug, params.penalties))
        flips.append(np.stack([p.argmax(axis=1) != p_orig.argmax(axis=1) for p in p_aug], axis=1))
    result = MeasureResult()
    result.add("all", "augmentation_penalty", float(np.concatenate(scores).mean()))
    for name, rate in zip(AUGMENTATIONS, np.concatenate(flips).mean(axis=0)):
        result.add("all", f"flip_rate_{name}", float(rate))
    return result
