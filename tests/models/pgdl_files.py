"""Write a small PGDL public-data folder in the real formats.

- ``config.json`` as the organisers' ``model_def_to_keras_sequential`` reads it;
- ``weights.hdf5`` / ``weights_init.hdf5`` in Keras 2's h5py layout (attributes
  ``layer_names`` and ``weight_names``, datasets ``<layer>/<layer>/kernel:0``),
  at the top of the file (``save_weights``) or under ``model_weights/``
  (``model.save``), optionally with ``layer_names`` split into ``layer_names0``,
  ``layer_names1`` as Keras splits long attributes;
- TFRecord shards: length, masked CRC32C of the length, a ``tf.train.Example``
  whose features ``inputs`` and ``output`` each hold a serialized ``TensorProto``,
  masked CRC32C of the data (built with the protobuf classes, framed here);
- ``reference_data/<task>/model_configs.json`` with ``hparams`` (``current_value``,
  ``possible_values``) and ``metrics``.

Task ``task1_v4`` has two tiny VGG-like models (ids 0 and 1), ``task2_v1`` one
tiny NiN-like model (id 3) with stride-2 ``same`` convolutions (asymmetric
padding) and a ``same`` max pool.
"""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST, N_CLASSES = 100, 20, 10
SHAPE = (32, 32, 3)  # H, W, C
TRAIN_SHARDS = (0, 2, 10)  # numeric order differs from the names' text order

VGG = {"input_shape": list(SHAPE), "model_config": [
    {"layer_name": "Conv2D", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
     "activation": "relu", "kernel_initializer": "glorot_uniform"},
    {"layer_name": "MaxPooling2D", "pool_size": [2, 2]},
    {"layer_name": "Dropout", "rate": 0.5},
    {"layer_name": "Conv2D", "filters": 6.0, "kernel_size": 3, "padding": "same", "use_bias": False},
    {"layer_name": "BatchNormalization", "momentum": 0.9, "epsilon": 0.001},
    {"layer_name": "Activation", "activation": "relu"},
    {"layer_name": "MaxPooling2D", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
    {"layer_name": "Flatten"},
    {"layer_name": "Dense", "units": 8, "activation": "relu"},
    {"layer_name": "BatchNormalization", "epsilon": 0.01, "center": False},
    {"layer_name": "Dropout", "rate": 0.5},
    {"layer_name": "Dense", "units": 10, "activation": None},
]}

NIN = {"input_shape": list(SHAPE), "model_config": [
    {"layer_name": "Conv2D", "filters": 6, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same"},
    {"layer_name": "BatchNormalization"},
    {"layer_name": "ReLU"},
    {"layer_name": "Conv2D", "filters": 6, "kernel_size": [1, 1], "activation": "relu"},
    {"layer_name": "Conv2D", "filters": 6, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"},
    {"layer_name": "BatchNormalization", "momentum": 0.99, "epsilon": 1e-5},
    {"layer_name": "Activation", "activation": "relu"},
    {"layer_name": "Dropout", "rate": 0.25},
    {"layer_name": "Conv2D", "filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
    {"layer_name": "MaxPooling2D", "pool_size": 3, "strides": 2, "padding": "same"},
    {"layer_name": "Conv2D", "filters": 10, "kernel_size": [1, 1]},
    {"layer_name": "GlobalAveragePooling2D"},
    {"layer_name": "Activation", "activation": "softmax"},
]}

ROLES = {"Conv2D": ("kernel", "bias"), "Dense": ("kernel", "bias"),
         "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance")}


def make_weights(config: dict, rng: np.random.Generator) -> dict[int, dict[str, np.ndarray]]:
    """Random float32 weights of every layer with weights, by layer index (shapes walked in NHWC)."""
    shape = tuple(config["input_shape"])
    out = {}
    for i, spec in enumerate(config["model_config"]):
        kind = spec["layer_name"]
        if kind == "Conv2D":
            k = spec["kernel_size"] if isinstance(spec["kernel_size"], list) else [spec["kernel_size"]] * 2
            s = spec.get("strides", 1)
            s = s if isinstance(s, list) else [s, s]
            fan_in = k[0] * k[1] * shape[2]
            out[i] = {"kernel": rng.normal(0, math.sqrt(2 / fan_in), (*k, shape[2], int(spec["filters"])))}
            if spec.get("use_bias", True):
                out[i]["bias"] = rng.normal(0, 0.1, int(spec["filters"]))
            same = spec.get("padding") == "same"
            shape = (*[math.ceil(n / st) if same else (n - kk) // st + 1 for n, kk, st in zip(shape[:2], k, s)],
                     int(spec["filters"]))
        elif kind == "Dense":
            out[i] = {"kernel": rng.normal(0, math.sqrt(2 / shape[0]), (shape[0], spec["units"])),
                      "bias": rng.normal(0, 0.1, spec["units"])}
            shape = (spec["units"],)
        elif kind == "BatchNormalization":
            c = shape[-1]
            out[i] = {"gamma": rng.uniform(0.5, 1.5, c), "beta": rng.normal(0, 0.2, c),
                      "moving_mean": rng.normal(0, 0.3, c), "moving_variance": rng.uniform(0.5, 2.0, c)}
            if spec.get("center") is False:
                del out[i]["beta"]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            p = spec.get("pool_size", 2)
            p = p if isinstance(p, list) else [p, p]
            s = spec.get("strides") or p
            s = s if isinstance(s, list) else [s, s]
            same = spec.get("padding") == "same"
            shape = (*[math.ceil(n / st) if same else (n - pp) // st + 1 for n, pp, st in zip(shape[:2], p, s)],
                     shape[2])
        elif kind == "GlobalAveragePooling2D":
            shape = (shape[2],)
        elif kind == "Flatten":
            shape = (int(np.prod(shape)),)
    return {i: {k: v.astype(np.float32) for k, v in w.items()} for i, w in out.items()}


def layer_names(config: dict) -> list[str]:
    """Keras's default layer names: the class in snake case, then ``_1``, ``_2``, ... per class."""
    seen: dict[str, int] = {}
    names = []
    for spec in config["model_config"]:
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", spec["layer_name"]).lower().replace("2_d", "2d")
        n = seen.get(base, 0)
        seen[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def write_keras_weights(path: Path, config: dict, weights: dict, layout: str = "save_weights",
                        split_names: bool = False) -> None:
    """A Keras 2 HDF5 weight file; ``layout`` is ``"save_weights"`` (top level) or ``"model"`` (``model_weights/``)."""
    import h5py

    names = layer_names(config)
    with h5py.File(path, "w") as f:
        group = f if layout == "save_weights" else f.create_group("model_weights")
        encoded = np.array([n.encode() for n in names])
        if split_names:
            half = len(encoded) // 2
            group.attrs["layer_names0"], group.attrs["layer_names1"] = encoded[:half], encoded[half:]
        else:
            group.attrs["layer_names"] = encoded
        group.attrs["backend"], group.attrs["keras_version"] = b"tensorflow", b"2.4.0"
        for i, (name, spec) in enumerate(zip(names, config["model_config"])):
            layer = group.create_group(name)
            w = weights.get(i, {})
            roles = [r for r in ROLES.get(spec["layer_name"], ()) if r in w]
            layer.attrs["weight_names"] = np.array([f"{name}/{r}:0".encode() for r in roles])
            for r in roles:
                layer.create_dataset(f"{name}/{r}:0", data=w[r])
        if layout == "model":
            f.attrs["model_config"] = json.dumps({"class_name": "Sequential"}).encode()


def masked_crc(data: bytes) -> int:
    import crc32c

    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tensor_proto(array: np.ndarray, in_content: bool = True) -> bytes:
    """``tf.io.serialize_tensor``: a TensorProto, values in ``tensor_content`` or the typed field."""
    from tensorboardX.proto import tensor_pb2, tensor_shape_pb2, types_pb2

    dtype = {np.dtype(np.float32): types_pb2.DT_FLOAT, np.dtype(np.int32): types_pb2.DT_INT32}[array.dtype]
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d)
                                                   for d in array.shape])
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape)
    if in_content:
        proto.tensor_content = array.astype(array.dtype.newbyteorder("<")).tobytes()
    elif dtype == types_pb2.DT_FLOAT:
        proto.float_val.extend(array.ravel().tolist())
    else:
        proto.int_val.extend(array.ravel().tolist())
    return proto.SerializeToString()


def example(x: np.ndarray, y: int, label_in_content: bool = True) -> bytes:
    """A serialized ``tf.train.Example`` with the features ``inputs`` and ``output``."""
    from tfrecord import example_pb2

    def feature(value: bytes):
        return example_pb2.Feature(bytes_list=example_pb2.BytesList(value=[value]))

    return example_pb2.Example(features=example_pb2.Features(feature={
        "inputs": feature(tensor_proto(x.astype(np.float32))),
        "output": feature(tensor_proto(np.array(y, np.int32), label_in_content))})).SerializeToString()


def write_tfrecord(path: Path, records: list[bytes]) -> None:
    """Records framed as TFRecord: <Q length, <I masked CRC of the length, data, <I masked CRC of the data."""
    out = bytearray()
    for r in records:
        length = struct.pack("<Q", len(r))
        out += length + struct.pack("<I", masked_crc(length)) + r + struct.pack("<I", masked_crc(r))
    path.write_bytes(bytes(out))


def data(task: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Inputs (n, H, W, C) float32 in [0, 1] and labels of the task's train and test splits."""
    rng = np.random.default_rng(len(task))
    return {split: (rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32), np.arange(n) % N_CLASSES)
            for split, n in (("train", N_TRAIN), ("test", N_TEST))}


MODELS = {"task1_v4": {0: (VGG, "save_weights"), 1: (VGG, "model")}, "task2_v1": {3: (NIN, "model")}}
HPARAMS = {0: {"dropout": 0.5, "depth": 1}, 1: {"dropout": 0.0, "depth": 1}, 3: {"dropout": 0.25, "depth": 6}}


def weights(task: str, model_id: int, final: bool) -> dict[int, dict[str, np.ndarray]]:
    """The weights written for a model (``final``: weights.hdf5, else weights_init.hdf5)."""
    config = MODELS[task][model_id][0]
    return make_weights(config, np.random.default_rng([model_id, int(final)]))


def write_task(root: Path, task: str) -> None:
    """``input_data/<task>/...`` and ``reference_data/<task>/model_configs.json`` under ``root``."""
    folder = root / "input_data" / task
    for split, (x, y) in data(task).items():
        (folder / "dataset_1" / split).mkdir(parents=True, exist_ok=True)
        records = [example(xi, int(yi), label_in_content=split == "train") for xi, yi in zip(x, y)]
        shards = TRAIN_SHARDS if split == "train" else (0,)
        for shard, part in zip(shards, np.array_split(np.arange(len(records)), len(shards))):
            write_tfrecord(folder / "dataset_1" / split / f"shard_{shard}.tfrecord", [records[i] for i in part])
    reference = {}
    for model_id, (config, layout) in MODELS[task].items():
        model = folder / f"model_{model_id}"
        model.mkdir(parents=True, exist_ok=True)
        (model / "config.json").write_text(json.dumps(config))
        write_keras_weights(model / "weights.hdf5", config, weights(task, model_id, True), layout,
                            split_names=layout == "model")
        write_keras_weights(model / "weights_init.hdf5", config, weights(task, model_id, False))
        key = f"model_{model_id}" if task == "task1_v4" else str(model_id)
        reference[key] = {"hparams": {k: {"current_value": v, "possible_values": [v], "description": k}
                                      for k, v in HPARAMS[model_id].items()},
                          "metrics": {"train_acc": 0.75 + 0.01 * model_id, "test_acc": 0.5}}
    (root / "reference_data" / task).mkdir(parents=True, exist_ok=True)
    (root / "reference_data" / task / "model_configs.json").write_text(json.dumps(reference))


def write_all(root: Path) -> Path:
    """Both tasks under ``root``; returns ``root``."""
    for task in MODELS:
        write_task(root, task)
    return root
