"""The manifest sections that say how a network is trained: ``[training]`` and ``[regulariser]``.

Both are frozen pydantic models with unknown keys as errors; their canonical
JSON (``model_dump(mode="json")``) is part of a run's key, so a field added
here must default to the behaviour the loop had without it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from models.regularisers import RegulariserParams

__all__ = ["TrainingSpec", "RegulariserSpec"]


class TrainingSpec(BaseModel):
    """The ``[training]`` section of a manifest.

    Attributes
    ----------
    optimizer : {"sgd", "adam", "adamw"}
        ``adamw`` decouples ``weight_decay`` from the gradient (Loshchilov and Hutter 2019).
    lr : float
        Peak learning rate.
    momentum : float
        SGD momentum (ignored by Adam and AdamW).
    nesterov : bool
        Nesterov momentum (SGD with ``momentum > 0`` only).
    weight_decay : float
        L2 penalty coefficient passed to the optimiser.
    batch_size : int
    epochs : int
        Maximum number of passes over the training split.
    schedule : {"multistep", "cosine", "constant"}
        Learning rate per epoch, see :func:`models.training.optim.learning_rate`.
    milestones : tuple of int
        ``multistep``: epochs after which the learning rate is multiplied by ``gamma``.
    gamma : float
    warmup_epochs : int
        Linear warm-up over the first ``warmup_epochs`` epochs, batch by batch.
    label_smoothing : float in [0, 1)
        Label smoothing of the training loss (the metrics' loss is plain cross-entropy).
    grad_clip : float or None
        Maximum global L2 norm of the gradient (``clip_grad_norm_``); None: no clipping.
    early_stopping_patience : int or None
        Stop when the validation loss has not improved for this many epochs,
        and restore the weights of the best epoch (see
        :class:`models.training.early_stopping.EarlyStopping`).
    amp : bool
        Mixed precision on CUDA (bfloat16, or float16 with loss scaling where
        bfloat16 is unsupported); ignored on the CPU, with a note in the result.
    compile : bool
        Train through ``torch.compile(model)`` (evaluation uses the plain
        model). The network trained is the same up to rounding, except that
        dropout masks then come from the compiler's random stream (seeded,
        reproducible, but not the eager masks).
    checkpoints : tuple of int
        Epochs whose weights are saved and measured; the last epoch is always
        added. Epoch 0 is the initialisation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(40, ge=1)
    schedule: Literal["multistep", "cosine", "constant"] = "multistep"
    milestones: tuple[int, ...] = ()
    gamma: float = Field(0.1, gt=0.0)
    warmup_epochs: int = Field(0, ge=0)
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    grad_clip: float | None = Field(None, gt=0.0)
    early_stopping_patience: int | None = Field(None, ge=1)
    amp: bool = False
    compile: bool = False
    checkpoints: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> "TrainingSpec":
        bad = [e for e in self.checkpoints if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"checkpoints must be epochs in [0, {self.epochs}]; got {list(bad)}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError(f"nesterov needs optimizer = \"sgd\" and momentum > 0; got optimizer = "
                             f"{self.optimizer!r}, momentum = {self.momentum}")
        given = {"milestones", "gamma"} & self.model_fields_set
        if self.schedule != "multistep" and given:
            raise ValueError(f"{' and '.join(sorted(given))} only apply to schedule = \"multistep\"; "
                             f"got schedule = {self.schedule!r}")
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs must be < epochs = {self.epochs}; got {self.warmup_epochs}")
        return self

    @property
    def checkpoint_epochs(self) -> tuple[int, ...]:
        """Sorted checkpoint epochs, the last epoch included."""
        return tuple(sorted(set(self.checkpoints) | {self.epochs}))


class RegulariserSpec(BaseModel):
    """The ``[regulariser]`` section: a registered regulariser, its weight and params.

    Attributes
    ----------
    name : str
        A registered regulariser (``runner list regularisers``); ``"none"``: no penalty.
    weight : float
        Coefficient of the penalty in the training loss; 0 switches it off.
    params : RegulariserParams
        The regulariser's own parameter model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "none"
    weight: float = Field(0.0, ge=0.0)
    params: SerializeAsAny[RegulariserParams] = Field(default_factory=RegulariserParams)
