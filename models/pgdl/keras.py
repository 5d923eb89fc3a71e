"""A PGDL model's Keras layer list as a :class:`~models.architectures.Network` that computes the same function.

``config.json`` holds ``{"model_config": [{"layer_name": <tf.keras.layers class>,
**kwargs}, ...], "input_shape": [H, W, C]}``; the organisers build it with
``tf.keras.Sequential([getattr(tf.keras.layers, d.pop("layer_name"))(**d) ...])``.
Each ``Conv2D`` or ``Dense`` starts a block (``conv<k>``, ``fc<k>``; the last is
``output``) and the layers after it, up to the next one, are the block's
``post``. Keras computes in NHWC, the network in NCHW:

- ``Conv2D`` kernels (kh, kw, in, out) become (out, in, kh, kw) (:mod:`models.pgdl.hdf5`);
  ``padding="same"`` pads as TensorFlow does, ``total = max((ceil(n / s) - 1) s + k - n, 0)``
  with ``total // 2`` before and the rest after (bottom, right), asymmetric when
  ``total`` is odd (:class:`~models.pgdl.layers.KerasConv2d`);
- ``Flatten`` of a (C, H, W) map orders features C, H, W where Keras orders
  H, W, C: the permutation is kept (:attr:`Slot.perm`) and applied to the
  inputs of the next ``Dense`` kernel (and of a ``BatchNormalization`` between them);
- ``BatchNormalization`` (inference: ``gamma (x - mean) / sqrt(var + epsilon) + beta``)
  keeps ``epsilon`` and takes ``momentum`` as ``1 - momentum`` (PyTorch's convention);
- a final ``softmax`` is left out: the network returns logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from models.architectures import Block, Network
from models.pgdl.layers import KerasConv2d, KerasMaxPool2d

#: Keyword arguments that never change the forward pass of a trained network.
IGNORED = {"name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "seed", "noise_shape",
           "fused", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
           "activity_regularizer", "kernel_constraint", "bias_constraint", "beta_initializer", "gamma_initializer",
           "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
           "beta_constraint", "gamma_constraint", "renorm_clipping", "renorm_momentum"}
#: Each supported layer's other keyword arguments and their Keras defaults.
LAYERS: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": None, "kernel_size": None, "strides": 1, "padding": "valid", "activation": None,
               "use_bias": True, "dilation_rate": 1, "groups": 1, "data_format": None},
    "Dense": {"units": None, "activation": None, "use_bias": True},
    "MaxPooling2D": {"pool_size": 2, "strides": None, "padding": "valid", "data_format": None},
    "AveragePooling2D": {"pool_size": 2, "strides": None, "padding": "valid", "data_format": None},
    "GlobalAveragePooling2D": {"data_format": None, "keepdims": False},
    "Flatten": {"data_format": None},
    "Dropout": {"rate": None},
    "BatchNormalization": {"axis": -1, "momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": True,
                           "renorm": False, "virtual_batch_size": None, "adjustment": None},
    "Activation": {"activation": None},
    "ReLU": {"max_value": None, "negative_slope": 0, "threshold": 0},
}
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU}
#: Settings whose only supported value is their default (what else they take changes the function).
_FIXED = {"dilation_rate": 1, "groups": 1, "renorm": False, "virtual_batch_size": None, "adjustment": None,
          "keepdims": False, "max_value": None, "negative_slope": 0, "threshold": 0}


@dataclass(frozen=True)
class Slot:
    """A Keras layer with weights and the module of the network that receives them.

    Attributes
    ----------
    index : int
        Position in the Keras layer list.
    keras : str
        Its class: ``Conv2D``, ``Dense`` or ``BatchNormalization``.
    module : str
        The receiving module's name in the network (``network.get_submodule(module)``).
    perm : ndarray of shape (n_features,) or None
        For an input flattened from (C, H, W): ``perm[t]`` is the Keras (H, W, C)
        index of the network's feature ``t``; None otherwise.
    """

    index: int
    keras: str
    module: str
    perm: np.ndarray | None = field(default=None, compare=False)


def _pair(value: Any) -> tuple[int, int]:
    v = tuple(int(x) for x in value) if isinstance(value, (list, tuple)) else (int(value),) * 2
    return v if len(v) == 2 else (v[0], v[0])


def _args(i: int, spec: dict) -> tuple[str, dict[str, Any]]:
    """The layer's class and its arguments with Keras's defaults filled in, checked."""
    kind = spec.get("layer_name")
    where = f"config.json layer {i} ({kind})"
    if kind not in LAYERS:
        raise ValueError(f"config.json layer {i}: unsupported Keras layer {kind!r}; supported: {', '.join(LAYERS)}")
    given = {k: v for k, v in spec.items() if k != "layer_name" and k not in IGNORED}
    unknown = sorted(set(given) - set(LAYERS[kind]))
    if unknown:
        raise ValueError(f"{where}: unsupported arguments {unknown}; supported: {sorted(LAYERS[kind])} "
                         f"(and, ignored, initialisers, regularisers, constraints, names)")
    args = {**LAYERS[kind], **given}
    missing = [k for k, v in args.items() if v is None and LAYERS[kind][k] is None and k in
               ("filters", "kernel_size", "units", "rate")]
    if missing:
        raise ValueError(f"{where}: missing {missing}")
    for key, default in _FIXED.items():
        if key in args and args[key] not in (default, [default, default], (default, default)):
            raise ValueError(f"{where}: only {key}={default!r} is supported; got {args[key]!r}")
    if args.get("data_format") not in (None, "channels_last"):
        raise ValueError(f"{where}: only data_format='channels_last' is supported; got {args['data_format']!r}")
    if "padding" in args and str(args["padding"]).lower() not in ("same", "valid"):
        raise ValueError(f"{where}: padding must be 'same' or 'valid'; got {args['padding']!r}")
    return kind, args


def _activation(name: Any, where: str) -> nn.Module | str | None:
    if name in (None, "linear"):
        return None
    if name == "softmax":
        return "softmax"  # only allowed last; removed there
    if name not in _ACTIVATIONS:
        raise ValueError(f"{where}: unsupported activation {name!r}; supported: linear, softmax (last), "
                         f"{', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


@dataclass
class Translation:
    """A Keras layer list as a network.

    Attributes
    ----------
    network : Network
        Takes inputs of shape (batch, C, H, W); returns (batch, n_outputs).
    slots : list of Slot
        Every layer with weights, in the order of the Keras layer list (Keras's
        order of ``load_weights``).
    input_shape : tuple of int
        ``(C, H, W)``.
    n_outputs : int
    """

    network: Network
    slots: list[Slot]
    input_shape: tuple[int, int, int]
    n_outputs: int


def keras_network(config: dict) -> Translation:
    """Translate a PGDL ``config.json`` into a network (weights not loaded).

    Parameters
    ----------
    config : dict
        ``{"model_config": [...], "input_shape": [H, W, C]}``.

    Returns
    -------
    Translation

    Raises
    ------
    ValueError
        For a layer, argument or value this translation does not support,
        a layer before the first ``Conv2D``/``Dense`` other than ``Flatten``, or
        a shape that does not fit (e.g. ``Dense`` on a feature map).
    """
    h, w, c = (int(v) for v in config["input_shape"])
    shape: tuple[int, ...] = (c, h, w)
    perm: np.ndarray | None = None
    blocks: list[list] = []  # [name, layer, post modules, flatten_input]
    slots: list[Slot] = []
    flatten_first = False
    counts = {"conv": 0, "fc": 0}
    layers = config["model_config"]
    for i, spec in enumerate(layers):
        kind, a = _args(i, spec)
        where = f"config.json layer {i} ({kind})"
        post = blocks[-1][2] if blocks else None
        if post is None and kind not in ("Conv2D", "Dense", "Flatten"):
            raise ValueError(f"{where}: only Flatten may come before the first Conv2D or Dense")
        if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D") and len(shape) != 3:
            raise ValueError(f"{where}: expects a (H, W, C) feature map; gets a vector of {shape[0]} features")
        if kind == "Conv2D":
            k, s = _pair(a["kernel_size"]), _pair(a["strides"])
            same = str(a["padding"]).lower() == "same"
            conv = KerasConv2d(shape[0], int(a["filters"]), k, stride=s, bias=bool(a["use_bias"]), same=same)
            size = [-(-n // st) if same else (n - kk) // st + 1 for n, kk, st in zip(shape[1:], k, s)]
            if min(size) < 1:
                raise ValueError(f"{where}: kernel {k} does not fit the {shape[1:]} input")
            counts["conv"] += 1
            blocks.append([f"conv{counts['conv']}", conv, [], False])
            slots.append(Slot(i, kind, f"blocks.{len(blocks) - 1}.layer"))
            shape, perm = (int(a["filters"]), *size), None
        elif kind == "Dense":
            if len(shape) != 1:
                raise ValueError(f"{where}: Keras applies Dense to the last axis of a {shape} map; only Dense on "
                                 f"vectors (after Flatten or global pooling) is supported")
            counts["fc"] += 1
            blocks.append([f"fc{counts['fc']}", nn.Linear(shape[0], int(a["units"]), bias=bool(a["use_bias"])), [],
                           False])
            slots.append(Slot(i, kind, f"blocks.{len(blocks) - 1}.layer", perm))
            shape, perm = (int(a["units"]),), None
        elif kind == "BatchNormalization":
            axis = a["axis"][0] if isinstance(a["axis"], (list, tuple)) and len(a["axis"]) == 1 else a["axis"]
            if axis not in (-1, len(shape)):
                raise ValueError(f"{where}: only axis=-1 (channels) is supported; got {a['axis']!r}")
            bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(
                shape[0], eps=float(a["epsilon"]), momentum=1.0 - float(a["momentum"]))
            slots.append(Slot(i, kind, f"blocks.{len(blocks) - 1}.post.{len(post)}", perm))
            post.append(bn)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            p = _pair(a["pool_size"])
            s = _pair(a["strides"]) if a["strides"] is not None else p
            same = str(a["padding"]).lower() == "same"
            if same and kind == "AveragePooling2D":
                raise ValueError(f"{where}: only padding='valid' is supported for average pooling")
            post.append(KerasMaxPool2d(p, s) if same else (nn.MaxPool2d if kind == "MaxPooling2D"
                                                           else nn.AvgPool2d)(p, s))
            shape = (shape[0], *[-(-n // st) if same else (n - pp) // st + 1 for n, pp, st in zip(shape[1:], p, s)])
        elif kind == "GlobalAveragePooling2D":
            post += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            shape, perm = (shape[0],), None
        elif kind == "Flatten":
            if len(shape) == 3:
                c_, h_, w_ = shape
                perm = np.arange(c_ * h_ * w_).reshape(h_, w_, c_).transpose(2, 0, 1).ravel()
                shape = (c_ * h_ * w_,)
                if post is None:
                    flatten_first = True
                else:
                    post.append(nn.Flatten())
        elif kind == "Dropout":
            if float(a["rate"]) > 0:
                post.append(nn.Dropout(float(a["rate"])))
        elif kind == "ReLU":
            post.append(nn.ReLU())
        if kind in ("Conv2D", "Dense", "Activation"):
            act = _activation(a["activation"], where)
            if act is not None:
                blocks[-1][2].append(act)
    if not blocks:
        raise ValueError("config.json: the model has no Conv2D or Dense layer")
    for b, (_, _, post, _) in enumerate(blocks):
        if "softmax" in post and (b != len(blocks) - 1 or post[-1] != "softmax" or post.count("softmax") > 1):
            raise ValueError("config.json: softmax is supported only as the model's last operation")
        if post and post[-1] == "softmax":
            post.pop()  # logits, as every network here returns
    if len(shape) != 1:
        raise ValueError(f"config.json: the model ends with a {shape} map; expected a vector of class scores")
    blocks[-1][0] = "output"
    blocks[0][3] = flatten_first
    network = Network({name: Block(layer, nn.Sequential(*post) if post else None, flatten_input=flat)
                       for name, layer, post, flat in blocks})
    names = list(network.blocks)
    slots = [Slot(s.index, s.keras, _named(s.module, names), s.perm) for s in slots]
    return Translation(network, slots, (c, h, w), shape[0])


def _named(module: str, names: list[str]) -> str:
    """``blocks.<position>.rest`` -> ``blocks.<block name>.rest``."""
    _, position, rest = module.split(".", 2)
    return f"blocks.{names[int(position)]}.{rest}"
