"""Running a :class:`models.architectures.Network` up to one of its blocks, and checking provider inputs.

A ``Network`` is a chain of named blocks, each returning ``(pre, post)``; the
next block takes ``post``. Running the chain up to block ``layer`` gives the
representation a PGDL measure reads with its spatial shape kept
(``forward_to``), which the flattened ``activations`` provider loses.
Everything runs without gradients, in eval mode, in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

#: Rows per forward pass.
BATCH = 256


def block_names(model) -> list[str]:
    """Names of the network's blocks, in forward order (the last is ``"output"``).

    Raises
    ------
    ValueError
        If ``model`` is not a chain of named blocks ending in ``"output"``.
    """
    import torch

    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, torch.nn.ModuleDict) or not len(blocks) or list(blocks)[-1] != "output":
        raise ValueError(f"expected a models.architectures.Network (named blocks ending in 'output'); "
                         f"got {type(model).__name__}")
    return list(blocks)


def resolve_layer(model, layer: str | None, default: str) -> str:
    """``layer``, or the block chosen by ``default`` ("first" or "penultimate") when None.

    Raises
    ------
    ValueError
        If ``layer`` is not a block of the network, or the network has no
        block before ``"output"`` when ``default`` is "penultimate".
    """
    names = block_names(model)
    if layer is None:
        if default == "first":
            return names[0]
        if len(names) < 2:
            raise ValueError(f"the network has no block before 'output' (blocks: {names}); pass a layer")
        return names[-2]
    if layer not in names:
        raise ValueError(f"layer {layer!r} is not a block of the network; blocks: {names}")
    return layer


@contextmanager
def evaluating(model) -> Iterator[None]:
    """Eval mode and no gradients for the duration; the previous mode is restored."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _batches(x: torch.Tensor, batch: int) -> Iterator[torch.Tensor]:
    for i in range(0, len(x), batch):
        yield x[i:i + batch]


def forward_to(model, x: torch.Tensor, layer: str, batch: int = BATCH) -> torch.Tensor:
    """The activation (``post`` output, unflattened) of block ``layer``.

    Parameters
    ----------
    model : Network
    x : Tensor of shape (n_samples, *input_shape), float32, n_samples >= 1
    layer : str
        A block name.

    Returns
    -------
    Tensor of shape (n_samples, *block_output_shape), float32
    """
    names = block_names(model)
    return run_blocks(model, x, names[:names.index(layer) + 1], batch)


def run_blocks(model, h: torch.Tensor, names: list[str], batch: int = BATCH) -> torch.Tensor:
    """Apply the blocks ``names`` of ``model``, in order, to ``h`` in batches (eval mode, no gradients).

    Parameters
    ----------
    model : Network
    h : Tensor of shape (n_samples, *shape)
        What the first of ``names`` takes: the inputs, or an earlier block's output.
    names : list of str
        Consecutive block names, in forward order.

    Returns
    -------
    Tensor of shape (n_samples, *output_shape)
        The last block's ``post`` output (``h`` itself when ``names`` is empty).
    """
    import torch

    out = []
    with evaluating(model):
        for hb in _batches(h, batch):
            for name in names:
                _, hb = model.blocks[name](hb)
            out.append(hb)
    return torch.cat(out)


def predict(model, x: torch.Tensor, batch: int = BATCH) -> torch.Tensor:
    """Logits of shape (n_samples, n_classes) for inputs ``x`` of shape (n_samples, *input_shape)."""
    import torch

    out = []
    with evaluating(model):
        for xb in _batches(x, batch):
            out.append(model(xb))
    return torch.cat(out)


def split_inputs(inputs: dict, split: str, measure: str) -> torch.Tensor:
    """The ``inputs`` provider's tensor for ``split``, checked.

    Raises
    ------
    ValueError
        If the split is missing, the tensor is empty or not finite.
    """
    import torch

    if split not in inputs:
        raise ValueError(f"{measure} needs the split {split!r} in inputs; got splits {sorted(inputs)}")
    x = torch.as_tensor(inputs[split], dtype=torch.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{measure}: inputs[{split!r}] must have shape (n_samples >= 1, *input_shape); "
                         f"got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{measure}: inputs[{split!r}] has non-finite values")
    return x


def split_labels(labels: dict, split: str, n: int, measure: str) -> np.ndarray:
    """The ``labels`` provider's integer array for ``split``, of length ``n``, checked.

    Raises
    ------
    ValueError
        If the split is missing, the labels are not integers, or their number
        differs from the number of inputs.
    """
    if split not in labels:
        raise ValueError(f"{measure} needs the split {split!r} in labels; got splits {sorted(labels)}")
    y = np.asarray(labels[split]).ravel()
    if y.size != n:
        raise ValueError(f"{measure}: labels[{split!r}] has {y.size} entries for {n} inputs")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{measure}: labels[{split!r}] must be integers; got dtype {y.dtype}")
    return y.astype(np.int64)
