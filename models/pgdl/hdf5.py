"""Keras 2 HDF5 weight files, read with h5py, loaded into a translated network.

Layout (``tf.keras`` 2.x, ``hdf5_format.save_weights_to_hdf5_group``): the
weights lie either at the top of the file (``model.save_weights``) or in the
group ``model_weights/`` (``model.save``). That group has the attribute
``layer_names`` (every layer, in model order; split into ``layer_names0``,
``layer_names1``, ... when it is too long for one attribute), and each layer
has a group of its name whose attribute ``weight_names`` lists its weights,
stored at ``<layer>/<weight name>``, e.g. ``conv2d/conv2d/kernel:0``.

Keras's ``load_weights`` (not ``by_name``) pairs the file's layers that have
weights with the model's, in order; so does :func:`load_keras_weights`.
Each weight is told by the last part of its name: ``kernel``, ``bias``,
``gamma``, ``beta``, ``moving_mean``, ``moving_variance``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.pgdl.keras import Slot


def _attribute(group, name: str) -> list[str]:
    """A string-list attribute, joined from ``name0``, ``name1``, ... when Keras split it."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, k = [], 0
        while f"{name}{k}" in group.attrs:
            values += list(group.attrs[f"{name}{k}"])
            k += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def read_keras_weights(path: str | Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The layers with weights in a Keras HDF5 file, in model order.

    Returns
    -------
    list of (layer name, {role: ndarray})
        ``role`` is the weight's name without its layer and ``:0``
        (``kernel``, ``bias``, ``gamma``, ...).

    Raises
    ------
    ValueError
        If the file has no ``layer_names`` attribute (not a Keras weight file)
        or names a weight it does not hold.
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f and "layer_names" not in f.attrs else f
        names = _attribute(group, "layer_names")
        if not names:
            raise ValueError(f"{path}: not a Keras weight file (no layer_names attribute at the top or in "
                             f"model_weights/; found groups {sorted(f)})")
        layers = []
        for name in names:
            weight_names = _attribute(group[name], "weight_names") if name in group else []
            if not weight_names:
                continue
            weights = {}
            for wn in weight_names:
                if wn not in group[name]:
                    raise ValueError(f"{path}: layer {name!r} names weight {wn!r} but does not hold it")
                weights[wn.split("/")[-1].split(":")[0]] = np.asarray(group[name][wn])
            layers.append((name, weights))
    return layers


def _converted(slot: Slot, role: str, value: np.ndarray) -> np.ndarray:
    """A Keras weight in the layout of the receiving PyTorch module."""
    if slot.keras == "Conv2D" and role == "kernel":
        return np.transpose(value, (3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
    if slot.keras == "Dense" and role == "kernel":
        value = value if slot.perm is None else value[slot.perm]  # Keras flattened H, W, C
        return value.T  # (in, out) -> (out, in)
    if slot.keras == "BatchNormalization" and slot.perm is not None:
        return value[slot.perm]
    return value


_TARGETS = {"Conv2D": {"kernel": "weight", "bias": "bias"}, "Dense": {"kernel": "weight", "bias": "bias"},
            "BatchNormalization": {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                                   "moving_variance": "running_var"}}


@torch.no_grad()
def load_keras_weights(network: torch.nn.Module, slots: list[Slot], path: str | Path) -> None:
    """Copy the weights of a Keras HDF5 file into ``network`` (translated by :func:`~models.pgdl.keras.keras_network`).

    A ``BatchNormalization`` without ``gamma`` (``scale=False``) or ``beta``
    (``center=False``) gets 1 or 0; a layer with ``use_bias=False`` has no bias.

    Raises
    ------
    ValueError
        If the file's layers with weights are not as many as ``slots``, a weight
        is missing or unexpected, or a shape differs; the message names the
        file, the Keras layer and both shapes.
    """
    layers = read_keras_weights(path)
    if len(layers) != len(slots):
        raise ValueError(f"{path}: holds weights of {len(layers)} layers ({', '.join(n for n, _ in layers)}) but "
                         f"config.json has {len(slots)} layers with weights "
                         f"({', '.join(s.keras for s in slots)})")
    for slot, (name, weights) in zip(slots, layers):
        module = network.get_submodule(slot.module)
        targets = _TARGETS[slot.keras]
        unknown = sorted(set(weights) - set(targets))
        if unknown:
            raise ValueError(f"{path}: layer {name!r} (config.json layer {slot.index}, {slot.keras}) holds "
                             f"{unknown}; a {slot.keras} has {sorted(targets)}")
        for role, attr in targets.items():
            tensor = getattr(module, attr)
            if role not in weights:
                if slot.keras == "BatchNormalization" and role in ("gamma", "beta"):
                    tensor.fill_(1.0 if role == "gamma" else 0.0)
                    continue
                if tensor is None:  # use_bias=False
                    continue
                raise ValueError(f"{path}: layer {name!r} (config.json layer {slot.index}, {slot.keras}) has no "
                                 f"{role!r}; found {sorted(weights)}")
            if tensor is None:
                raise ValueError(f"{path}: layer {name!r} holds a {role!r} but config.json layer {slot.index} "
                                 f"has use_bias=False")
            value = _converted(slot, role, weights[role])
            if tuple(value.shape) != tuple(tensor.shape):
                raise ValueError(f"{path}: layer {name!r} (config.json layer {slot.index}, {slot.keras}): "
                                 f"{role!r} of shape {weights[role].shape} does not fit the layer's "
                                 f"{tuple(tensor.shape)} (in PyTorch's layout)")
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(tensor.dtype))
