"""Population training: K networks of one architecture trained together as one batched computation.

:func:`train_ensemble` trains ``K`` members that differ in seed (batch
order, initialisation, label noise) and, where shapes agree, in learning
rate, schedule, momentum, weight decay, checkpoints and early stopping. Each
member gets exactly what :func:`models.training.train` would give it alone:
on the CPU the same metrics and bit-identical weights (see
:mod:`models.training.stacked` for the formulation). What cannot be made
exact is trained member after member with :func:`~models.training.train`;
:func:`ensemble_compatible` says which and why, and :func:`ensemble_key`
groups run configs before any network is built.

A worker groups its runs by :func:`ensemble_key` (None: train alone), builds
each member as for :func:`~models.training.train` (``torch.manual_seed(seed)``
then the architecture; ``load_splits(dataset, seed)``) and passes a group,
or a slice of at most a few dozen members of it, to :func:`train_ensemble`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from models.architectures import Block, ModelParams, Network
from models.data import DatasetSpec, DataSplits
from models.regularisers import get_regulariser
from models.training.early_stopping import EarlyStopping
from models.training.loop import Batches, EpochRecorder, _after_early_stopping, train
from models.training.metrics import EpochMetrics, TrainResult
from models.training.optim import learning_rate, mixed_precision
from models.training.spec import RegulariserSpec, TrainingSpec
from models.training.stacked import EXACT_ACTIVATIONS, StackedMLP, cross_entropy
from models.training.stacked_eval import StackedMetrics
from models.training.stacked_sgd import StackedSGD

__all__ = ["Compatibility", "ensemble_compatible", "ensemble_key", "train_ensemble"]

#: TrainingSpec fields that may differ between the members of one ensemble.
PER_MEMBER = frozenset({"lr", "momentum", "weight_decay", "schedule", "milestones", "gamma", "warmup_epochs",
                        "checkpoints", "early_stopping_patience"})
#: TrainingSpec fields every member must share (they fix the shapes and the batched formulation).
SHARED = ("batch_size", "epochs", "nesterov", "label_smoothing", "optimizer", "grad_clip", "amp", "compile")


class Compatibility:
    """Whether a group of members can be trained as one batched computation; false with a ``reason``."""

    def __init__(self, reason: str | None = None):
        self.reason = reason

    def __bool__(self) -> bool:
        return self.reason is None

    def __repr__(self) -> str:
        return "Compatibility(ok)" if self else f"Compatibility({self.reason!r})"


def _spec_reason(spec: TrainingSpec, regulariser: RegulariserSpec) -> str | None:
    """Why one member's training setup cannot be batched; None when it can."""
    if spec.optimizer != "sgd":
        return f"optimizer {spec.optimizer!r}: only SGD is batched"
    if spec.grad_clip is not None:
        return "grad_clip: the global gradient norm is not batched"
    if spec.compile:
        return "compile = true: the compiled network rounds differently from the batched one"
    if regulariser.weight > 0 and get_regulariser(regulariser.name).needs_activations:
        return f"regulariser {regulariser.name!r}: only training without a penalty is batched"
    return None


def ensemble_key(dataset: DatasetSpec, arch: str, params: ModelParams, training: TrainingSpec,
                 regulariser: RegulariserSpec) -> tuple[str, ...] | None:
    """The group a run can be batched in: runs with equal keys may form one ensemble.

    Runs that differ only in seed, ``dataset.label_noise`` and the training
    fields in :data:`PER_MEMBER` share a key. None when the run cannot be
    batched (not an ``mlp`` with ``relu``, ``tanh`` or ``gelu`` and neither
    batch norm nor dropout; or see :func:`ensemble_compatible`).
    """
    if arch != "mlp" or getattr(params, "batch_norm", True) or getattr(params, "dropout", 1.0) \
            or getattr(params, "activation", None) not in ("relu", "tanh", "gelu"):
        return None
    if _spec_reason(training, regulariser) is not None:
        return None
    return (_dumps(dataset, exclude={"label_noise"}), arch, _dumps(params),
            _dumps(training, exclude=set(PER_MEMBER)), _dumps(regulariser))


def _dumps(spec, **exclude) -> str:
    """Canonical JSON of a pydantic spec (as in a run's key)."""
    return json.dumps(spec.model_dump(mode="json", **exclude), sort_keys=True)


def _module_reason(model: nn.Module) -> str | None:
    """Why a network is not a plain MLP that can be stacked; None when it is."""
    if type(model) is not Network:
        return f"{type(model).__name__} is not a Network"
    for name, block in model.blocks.items():
        if type(block) is not Block or type(block.layer) is not nn.Linear or block.layer.bias is None:
            return f"block {name!r}: only blocks of one nn.Linear with a bias are batched"
        posts = list(block.post) if isinstance(block.post, nn.Sequential) else [block.post]
        for m in posts:
            if type(m) not in EXACT_ACTIVATIONS or getattr(m, "inplace", False) \
                    or getattr(m, "approximate", "none") != "none":
                return (f"block {name!r}: {m!r} is not batched (batch norm and dropout need per-member "
                        f"statistics and random streams; sigmoid rounds by position on the CPU)")
    if len(model.state_dict()) != len(list(model.parameters())):
        return "the network has buffers"
    return None


def ensemble_compatible(models: Sequence[nn.Module], data: Sequence[DataSplits], specs: Sequence[TrainingSpec],
                        regularisers: Sequence[RegulariserSpec]) -> Compatibility:
    """Whether :func:`train_ensemble` trains these members as one batched computation.

    Parameters
    ----------
    models, data, specs, regularisers : sequences of length K
        Member ``k``'s network, data splits, training and regulariser specs.

    Returns
    -------
    Compatibility
        Truthy when they can be batched; else falsy, with the first reason found.
    """
    if not len(models) == len(data) == len(specs) == len(regularisers) or not models:
        return Compatibility(f"expected K >= 1 models, data, specs and regularisers; got {len(models)}, "
                             f"{len(data)}, {len(specs)} and {len(regularisers)}")
    for k, (model, spec, reg) in enumerate(zip(models, specs, regularisers)):
        reason = _module_reason(model) or _spec_reason(spec, reg)
        if reason:
            return Compatibility(f"member {k}: {reason}")
    for field in SHARED:
        values = [getattr(s, field) for s in specs]
        if any(v != values[0] for v in values):
            return Compatibility(f"{field} differs between members ({values}); it must be shared")
    shapes = [[(k, v.shape, v.dtype, v.device) for k, v in m.state_dict().items()] for m in models]
    posts = [[repr(b.post) for b in m.blocks.values()] for m in models]
    if any(s != shapes[0] for s in shapes) or any(p != posts[0] for p in posts):
        return Compatibility("the members' networks differ in architecture, dtype or device")
    device = shapes[0][0][3]
    if shapes[0][0][2] != torch.float32 or (specs[0].amp and device.type == "cuda"):
        return Compatibility("only float32 training is batched (no amp on CUDA)")
    sizes = [(tuple(d.x["train"].shape), len(d.y["train"])) for d in data]
    if any(s != sizes[0] for s in sizes):
        return Compatibility(f"the training split's shape differs between members ({sizes})")
    return Compatibility()


def _stacked_batches(batches: Sequence[Batches], active: Sequence[int]
                     ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of every active member's own :class:`Batches` (its order, its augmentation), stacked:
    shapes (K, b, *input_shape) and (K, b)."""
    for members in zip(*(batches[k].epoch() for k in active)):
        yield torch.stack([x for x, _ in members]), torch.stack([y for _, y in members])


def train_ensemble(models: Sequence[nn.Module], data: Sequence[DataSplits], spec: TrainingSpec | Sequence[TrainingSpec],
                   regulariser: RegulariserSpec | Sequence[RegulariserSpec], seeds: Sequence[int],
                   on_epoch: Sequence[Callable[[EpochMetrics], None] | None] | None = None) -> list[TrainResult]:
    """Train ``K`` networks together; member ``k`` ends as ``train(models[k], data[k], ...)`` would leave it.

    Parameters
    ----------
    models : sequence of Network
        ``K`` freshly initialised networks (each seeded by the caller), on one
        device; trained in place.
    data : sequence of DataSplits
        Member ``k``'s splits (its own label noise); shapes must agree.
    spec, regulariser : one for all, or one per member
        Members may differ in the :data:`PER_MEMBER` training fields.
    seeds : sequence of int
        Member ``k``'s batch order and augmentation seed, as for :func:`train`.
    on_epoch : sequence of callables (or None), optional
        Member ``k``'s progress callback, called with each of its epoch's metrics.

    Returns
    -------
    list of TrainResult
        One per member, equal (bit for bit on the CPU) to :func:`train`'s.
        When :func:`ensemble_compatible` says no (or ``K = 1``), the members
        are trained one after the other with :func:`train`.

    Raises
    ------
    ValueError
        If the sequences' lengths differ from ``len(models)``.
    """
    K = len(models)
    specs = [spec] * K if isinstance(spec, TrainingSpec) else list(spec)
    regs = [regulariser] * K if isinstance(regulariser, RegulariserSpec) else list(regulariser)
    callbacks = list(on_epoch) if on_epoch is not None else [None] * K
    lengths = {"data": len(data), "spec": len(specs), "regulariser": len(regs), "seeds": len(seeds),
               "on_epoch": len(callbacks)}
    if any(n != K for n in lengths.values()):
        raise ValueError(f"train_ensemble needs one entry per model ({K}) in each sequence; got {lengths}")
    if K == 1 or not ensemble_compatible(models, data, specs, regs):
        return [train(*member) for member in zip(models, data, specs, regs, seeds, callbacks)]

    device = next(models[0].parameters()).device
    results = [TrainResult() for _ in range(K)]
    for s, r in zip(specs, results):
        mixed_precision(s, device, r.notes)  # the note train() gives for amp on the CPU
    stoppers = [EarlyStopping.for_run(s, d) for s, d in zip(specs, data)]
    records = [EpochRecorder(*member) for member in zip(models, data, specs, results, callbacks)]
    batches = [Batches(d, specs[0].batch_size, seed, device) for d, seed in zip(data, seeds)]
    stack, optimizer, evaluate = StackedMLP(models), StackedSGD(specs), StackedMetrics(data)
    try:
        for k, m in zip(stack.active, evaluate(stack, 0, [None] * K)):
            records[k](0, metrics=m)
        for epoch in range(1, specs[0].epochs + 1):
            lrs = _train_epoch(stack, optimizer, batches, specs, epoch)
            stopped = []
            for k, m in zip(stack.active, evaluate(stack, epoch, lrs)):
                records[k](epoch, metrics=m)
                if stoppers[k] is not None and stoppers[k].update(epoch, m.loss["val"], models[k]):
                    stopped.append(k)
            if stopped:
                optimizer.keep(stack.release(stopped))
            if not stack.active:
                break
    finally:
        stack.release(list(stack.active))
    for k in range(K):
        models[k].eval()  # as evaluate() leaves a network
        if stoppers[k] is not None:
            _after_early_stopping(stoppers[k], models[k], specs[k], records[k], results[k])
    return results


def _train_epoch(stack: StackedMLP, optimizer: StackedSGD, batches: Sequence[Batches],
                 specs: Sequence[TrainingSpec], epoch: int) -> list[float | None]:
    """One pass of every active member over its training split; each member's last learning rate."""
    active, steps = stack.active, len(batches[0])
    smoothing = specs[0].label_smoothing
    lrs: list[float | None] = [None] * len(active)
    for i, (x, y) in enumerate(_stacked_batches(batches, active)):
        lrs = [learning_rate(specs[k], epoch, i, steps) for k in active]
        stack.zero_grad()
        cross_entropy(stack.forward(x), y, smoothing).backward()
        optimizer.step(stack.params, lrs)
    return lrs
