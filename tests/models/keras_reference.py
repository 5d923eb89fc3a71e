"""An independent NumPy implementation of the Keras layers of the PGDL models, in NHWC and float64.

Written from the Keras / TensorFlow documentation, not from :mod:`models.pgdl`:
convolution by explicit loops over output positions (``einsum`` over each
window), TensorFlow's ``padding="same"`` (``out = ceil(n / s)``, total padding
``max((out - 1) s + k - n, 0)``, the larger half after), max pooling over
``-inf`` padding, batch norm in inference, global average pooling, Keras's
row-major ``Flatten`` of (H, W, C).
"""

from __future__ import annotations

import math

import numpy as np


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))


def pads(n: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(before, after, output size) along one axis."""
    if padding == "valid":
        return 0, 0, (n - k) // s + 1
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, fill: float):
    """Yield (i, j, window of shape (N, kh, kw, C)) over the output positions."""
    t, b, oh = pads(x.shape[1], k[0], s[0], padding)
    left, right, ow = pads(x.shape[2], k[1], s[1], padding)
    xp = np.pad(x, ((0, 0), (t, b), (left, right), (0, 0)), constant_values=fill)
    for i in range(oh):
        for j in range(ow):
            yield i, j, xp[:, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1], :]


def conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides, padding: str) -> np.ndarray:
    """Keras Conv2D: x (N, H, W, C_in), kernel (kh, kw, C_in, C_out)."""
    k, s = kernel.shape[:2], _pair(strides)
    oh = pads(x.shape[1], k[0], s[0], padding)[2]
    ow = pads(x.shape[2], k[1], s[1], padding)[2]
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    for i, j, window in _windows(x, k, s, padding, 0.0):
        out[:, i, j, :] = np.einsum("nhwc,hwco->no", window, kernel)
    return out + (0.0 if bias is None else bias)


def pool2d(x: np.ndarray, pool, strides, padding: str, op: str) -> np.ndarray:
    """Keras MaxPooling2D / AveragePooling2D (valid): the max or mean of each window."""
    p = _pair(pool)
    s = _pair(strides) if strides is not None else p
    oh = pads(x.shape[1], p[0], s[0], padding)[2]
    ow = pads(x.shape[2], p[1], s[1], padding)[2]
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i, j, window in _windows(x, p, s, padding, -np.inf):
        out[:, i, j, :] = window.max(axis=(1, 2)) if op == "max" else window.mean(axis=(1, 2))
    return out


ACTIVATIONS = {None: lambda x: x, "linear": lambda x: x, "relu": lambda x: np.maximum(x, 0.0),
               "tanh": np.tanh, "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
               "softmax": lambda x: np.exp(x - x.max(-1, keepdims=True)) / np.exp(x - x.max(-1, keepdims=True)).sum(
                   -1, keepdims=True)}


def forward(config: dict, x: np.ndarray, weights: dict[int, dict[str, np.ndarray]],
            drop_final_softmax: bool = True) -> np.ndarray:
    """The Keras model of ``config`` applied to ``x`` (N, H, W, C) in inference mode.

    ``weights[i]`` holds layer ``i``'s ``kernel``/``bias`` or
    ``gamma``/``beta``/``moving_mean``/``moving_variance``.
    """
    h = x.astype(np.float64)
    layers = config["model_config"]
    for i, spec in enumerate(layers):
        kind, w = spec["layer_name"], {k: np.asarray(v, np.float64) for k, v in weights.get(i, {}).items()}
        act = spec.get("activation")
        if drop_final_softmax and i == len(layers) - 1 and act == "softmax":
            act = None
        if kind == "Conv2D":
            h = ACTIVATIONS[act](conv2d(h, w["kernel"], w.get("bias"), spec.get("strides", 1),
                                        spec.get("padding", "valid")))
        elif kind == "Dense":
            h = ACTIVATIONS[act](h @ w["kernel"] + w.get("bias", 0.0))
        elif kind == "BatchNormalization":
            eps = spec.get("epsilon", 1e-3)
            h = (h - w["moving_mean"]) / np.sqrt(w["moving_variance"] + eps) * w.get("gamma", 1.0) + w.get("beta", 0.0)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            h = pool2d(h, spec.get("pool_size", 2), spec.get("strides"), spec.get("padding", "valid"),
                       "max" if kind == "MaxPooling2D" else "mean")
        elif kind == "GlobalAveragePooling2D":
            h = h.mean(axis=(1, 2))
        elif kind == "Flatten":
            h = h.reshape(len(h), -1)
        elif kind == "Activation":
            h = ACTIVATIONS[act](h)
        elif kind == "ReLU":
            h = np.maximum(h, 0.0)
        elif kind != "Dropout":
            raise ValueError(f"no reference for {kind}")
    return h
