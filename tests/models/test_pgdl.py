"""PGDL import: Keras networks equal to an independent NumPy Keras, TFRecord data, files, axes, metrics."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from models.architectures import build_model, get_model
from models.data import DatasetSpec, get_dataset, load_splits
from models.pgdl.files import URL
from models.pgdl.hdf5 import load_keras_weights, read_keras_weights
from models.pgdl.keras import keras_network
from models.pgdl.layers import KerasConv2d, KerasMaxPool2d, same_padding
from models.pgdl.model import PGDLParams
from models.pgdl.tfrecord import TFRecordError, parse_tensor, read_records
from tests.models import keras_reference as ref
from tests.models import pgdl_files as pf

MODELS = [("task1_v4", 0), ("task1_v4", 1), ("task2_v1", 3)]


@pytest.fixture(scope="module")
def root(pgdl_root):
    """The PGDL public-data layout with both tasks, in the real file formats (tests/models/conftest.py)."""
    return pgdl_root


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _final(root, task: str, model_id: int):
    """The network of a model with its trained weights (weights.hdf5)."""
    params = PGDLParams(root=str(root), task=task, id=model_id)
    net = build_model("pgdl", params, (3, 32, 32), 10)
    t = keras_network(pf.MODELS[task][model_id][0])
    load_keras_weights(net, t.slots, root / "input_data" / task / f"model_{model_id}" / "weights.hdf5")
    return net.eval()


@pytest.mark.parametrize("final", [False, True], ids=["weights_init", "weights"])
@pytest.mark.parametrize("task, model_id", MODELS)
def test_forward_equals_numpy_keras(root, task, model_id, final):
    net = (_final(root, task, model_id) if final else
           build_model("pgdl", {"root": str(root), "task": task, "id": model_id}, (3, 32, 32), 10).eval())
    x = pf.data(task)["train"][0]
    record: dict = {}
    with torch.no_grad():
        logits = net(_nchw(x), record=record).numpy()
    expected = ref.forward(pf.MODELS[task][model_id][0], x, pf.weights(task, model_id, final))
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    assert list(net.blocks)[-1] == "output" and list(record["post"]) == list(net.blocks)
    assert torch.equal(record["post"]["output"], torch.from_numpy(logits))


@pytest.mark.parametrize("size", [7, 8, 9, 10, 11])
@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (1, 2), (2, 1), (4, 2), (3, 3)])
def test_same_convolution_pads_as_tensorflow(size, kernel, stride):
    rng = np.random.default_rng(size * 10 + kernel)
    x = rng.normal(size=(2, size, size + 1, 3))
    w, b = rng.normal(size=(kernel, kernel, 3, 4)), rng.normal(size=4)
    conv = KerasConv2d(3, 4, kernel, stride=stride, same=True).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w.transpose(3, 2, 0, 1))), conv.bias.copy_(torch.from_numpy(b))
        out = conv(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(out, ref.conv2d(x, w, b, stride, "same"), rtol=1e-10, atol=1e-10)
    assert out.shape[1:3] == (math.ceil(size / stride), math.ceil((size + 1) / stride))


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(32, 3, 2) == (0, 1)  # TensorFlow pads bottom/right only; PyTorch's padding=1 would not
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(8, 4, 1) == (1, 2)
    assert same_padding(5, 1, 2) == (0, 0)


@pytest.mark.parametrize("size, pool, stride", [(8, 3, 2), (7, 2, 2), (9, 3, 1)])
def test_same_max_pool_pads_with_minus_infinity(size, pool, stride):
    x = -np.abs(np.random.default_rng(size).normal(size=(2, size, size, 3))) - 1.0  # zero padding would win
    out = KerasMaxPool2d((pool, pool), (stride, stride))(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_array_equal(out.numpy().transpose(0, 2, 3, 1), ref.pool2d(x, pool, stride, "same", "max"))


def test_flatten_order_is_kept_for_the_next_dense():
    config = {"input_shape": [3, 4, 2], "model_config": [
        {"layer_name": "Conv2D", "filters": 2, "kernel_size": 1}, {"layer_name": "Flatten"},
        {"layer_name": "BatchNormalization"}, {"layer_name": "Dense", "units": 5}]}
    t = keras_network(config)
    # the network's feature c*12 + h*4 + w is Keras's (h*4 + w)*2 + c
    expected = [(h * 4 + w) * 2 + c for c in range(2) for h in range(3) for w in range(4)]
    assert [s.keras for s in t.slots] == ["Conv2D", "BatchNormalization", "Dense"]
    assert t.slots[0].perm is None and t.slots[1].perm.tolist() == expected == t.slots[2].perm.tolist()
    assert t.input_shape == (2, 3, 4) and t.n_outputs == 5


def test_both_hdf5_layouts_and_split_layer_names_read_alike(tmp_path):
    weights = pf.make_weights(pf.VGG, np.random.default_rng(0))
    pf.write_keras_weights(tmp_path / "a.hdf5", pf.VGG, weights, "save_weights")
    pf.write_keras_weights(tmp_path / "b.hdf5", pf.VGG, weights, "model", split_names=True)
    a, b = read_keras_weights(tmp_path / "a.hdf5"), read_keras_weights(tmp_path / "b.hdf5")
    assert [n for n, _ in a] == [n for n, _ in b] == ["conv2d", "conv2d_1", "batch_normalization", "dense",
                                                      "batch_normalization_1", "dense_1"]
    for (_, wa), (_, wb), i in zip(a, b, sorted(weights)):
        assert wa.keys() == wb.keys() == weights[i].keys()
        assert all(np.array_equal(wa[k], weights[i][k]) and np.array_equal(wb[k], wa[k]) for k in wa)


def test_weights_of_another_model_are_refused(tmp_path):
    pf.write_keras_weights(tmp_path / "w.hdf5", pf.NIN, pf.make_weights(pf.NIN, np.random.default_rng(0)))
    t = keras_network(pf.VGG)
    with pytest.raises(ValueError, match=r"w.hdf5: holds weights of 7 layers .* but config.json has 6 layers"):
        load_keras_weights(t.network, t.slots, tmp_path / "w.hdf5")


@pytest.mark.parametrize("layer, message", [
    ({"layer_name": "LSTM", "units": 3}, r"unsupported Keras layer 'LSTM'; supported: Conv2D, Dense"),
    ({"layer_name": "Conv2D", "filters": 2, "kernel_size": 3, "dilation_rate": 2},
     r"layer 1 \(Conv2D\): only dilation_rate=1 is supported; got 2"),
    ({"layer_name": "Conv2D", "filters": 2, "kernel_size": 3, "depth_multiplier": 2},
     r"unsupported arguments \['depth_multiplier'\]"),
    ({"layer_name": "Activation", "activation": "softmax"}, r"softmax is supported only as the model's last"),
])
def test_unsupported_layers_are_refused(layer, message):
    config = {"input_shape": [8, 8, 3], "model_config": [
        {"layer_name": "Conv2D", "filters": 2, "kernel_size": 3}, layer, {"layer_name": "Flatten"},
        {"layer_name": "Dense", "units": 10}]}
    with pytest.raises(ValueError, match=message):
        keras_network(config)


def test_tfrecord_data_read_back_exactly_in_shard_order(root):
    raw = get_dataset("pgdl").load(DatasetSpec(name="pgdl", root=str(root), task="task1_v4"))
    written = pf.data("task1_v4")
    x = np.concatenate([written["train"][0], written["test"][0]]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(raw.x, x)  # shards 0, 2, 10 in numeric order; HWC -> CHW
    np.testing.assert_array_equal(raw.y, np.concatenate([written["train"][1], written["test"][1]]))
    assert raw.n_classes == 10 and raw.test_mask.sum() == pf.N_TEST and not raw.test_mask[:pf.N_TRAIN].any()
    d = load_splits(DatasetSpec(name="pgdl", root=str(root), task="task1_v4", val_fraction=0), 0)
    assert len(d.x["train"]) == pf.N_TRAIN and len(d.x["val"]) == 0 and d.input_shape == (3, 32, 32)


def test_tensor_proto_value_fields():
    assert parse_tensor(pf.tensor_proto(np.array(7, np.int32), in_content=False)).tolist() == 7
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(parse_tensor(pf.tensor_proto(a, in_content=False)), a)
    assert np.array_equal(parse_tensor(pf.tensor_proto(a)), a) and parse_tensor(pf.tensor_proto(a)).dtype == np.float32
    from tensorboardX.proto import tensor_pb2, tensor_shape_pb2, types_pb2

    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in (2, 2)]
    one = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=dims),
                                 float_val=[1.5])
    assert parse_tensor(one.SerializeToString()).tolist() == [[1.5, 1.5], [1.5, 1.5]]  # one value stands for all


@pytest.mark.parametrize("where, message", [
    (30, r"corrupt: record 0 at byte 0: the CRC32C of its \d+ bytes of data does not match"),
    (2, r"corrupt: record 0 at byte 0: the CRC32C of its length does not match"),
    (-3, r"corrupt: record \d+ at byte \d+: the CRC32C of its \d+ bytes of data"),
    (None, r"truncated: record \d+ at byte \d+ announces \d+ bytes"),
])
def test_corrupt_or_truncated_shards_are_refused(root, tmp_path, where, message):
    shard = tmp_path / "shard_0.tfrecord"
    data = bytearray((root / "input_data" / "task1_v4" / "dataset_1" / "test" / "shard_0.tfrecord").read_bytes())
    if where is None:
        data = data[:-10]
    else:
        data[where] ^= 0x01
    shard.write_bytes(bytes(data))
    with pytest.raises(TFRecordError, match=message):
        list(read_records(shard))


def test_a_corrupt_shard_fails_the_data_set_naming_the_file(root, tmp_path):
    copy = tmp_path / "pgdl"
    shutil.copytree(root, copy)
    shard = copy / "input_data" / "task2_v1" / "dataset_1" / "train" / "shard_2.tfrecord"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(TFRecordError, match=r"shard_2.tfrecord: corrupt: record 0 .* fetch the file again"):
        get_dataset("pgdl").load(DatasetSpec(name="pgdl", root=str(copy), task="task2_v1"))


def test_incomplete_folder_names_the_files_and_how_to_fetch_them(root, tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        get_dataset("pgdl").load(DatasetSpec(name="pgdl", root=str(tmp_path / "none"), task="task1_v4"))
    for expected in ("input_data/task1_v4/dataset_1/train/shard_*.tfrecord",
                     "input_data/task1_v4/dataset_1/test/shard_*.tfrecord", URL, "unzip public_data.zip"):
        assert expected in str(info.value)
    copy = tmp_path / "partial"
    shutil.copytree(root, copy / "public_data")  # the unpacked zip's own folder is found too
    (copy / "public_data" / "input_data" / "task1_v4" / "model_1" / "weights.hdf5").unlink()
    imported = get_model("pgdl").imported
    spec = DatasetSpec(name="pgdl", root=str(copy), task="task1_v4")
    with pytest.raises(FileNotFoundError, match=r"(?s)1 file\(s\) missing .*: public_data/input_data/task1_v4/model_1/"
                                                r"weights.hdf5\. .*curl -LO " + URL):
        imported.resolve(PGDLParams(), spec)
    assert [p.id for p in imported.resolve(PGDLParams(id=0), spec)] == [0]


def test_all_models_are_resolved_with_their_hparams_as_axes(root):
    imported = get_model("pgdl").imported
    spec = DatasetSpec(name="pgdl", root=str(root), task="task1_v4")
    resolved = imported.resolve(PGDLParams(), spec)
    assert [(p.id, p.task, p.root) for p in resolved] == [(0, "task1_v4", str(root)), (1, "task1_v4", str(root))]
    assert imported.axes(resolved[0]) == {"hparams.dropout": 0.5, "hparams.depth": 1}
    task2 = imported.resolve(PGDLParams(), DatasetSpec(name="pgdl", root=str(root), task="task2_v1"))
    assert [p.id for p in task2] == [3] and imported.axes(task2[0]) == {"hparams.dropout": 0.25, "hparams.depth": 6}
    with pytest.raises(ValueError, match=r"model.task = 'task2_v1' differs from dataset.task = 'task1_v4'"):
        imported.resolve(PGDLParams(task="task2_v1"), spec)
    with pytest.raises(ValueError, match=r"set \[dataset\] name = \"pgdl\""):
        imported.resolve(PGDLParams(), DatasetSpec(name="digits"))


def test_result_holds_both_weights_and_recomputed_and_reference_metrics(root):
    from models.training import TrainingSpec

    imported = get_model("pgdl").imported
    params = PGDLParams(root=str(root), task="task1_v4", id=1)
    data = load_splits(DatasetSpec(name="pgdl", root=str(root), task="task1_v4", val_fraction=0), 0)
    model = build_model("pgdl", params, data.input_shape, data.n_classes)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    result = imported.result(model, data, params, TrainingSpec(epochs=1, checkpoints=(0,)))
    assert sorted(result.checkpoints) == [0, 1] and [m.epoch for m in result.metrics] == [0, 1]
    assert all(torch.equal(init[k], v) for k, v in result.checkpoints[0].items())
    final = _final(root, "task1_v4", 1)
    assert all(torch.equal(final.state_dict()[k], v) for k, v in result.checkpoints[1].items())
    for split, n in (("train", pf.N_TRAIN), ("test", pf.N_TEST)):
        x, y = pf.data("task1_v4")[split]
        logits = ref.forward(pf.VGG, x, pf.weights("task1_v4", 1, True))
        assert result.metrics[1].accuracy[split] == pytest.approx(np.mean(logits.argmax(1) == y))
    last = result.metrics[1]
    assert last.accuracy["train_reference"] == 0.76 and last.accuracy["test_reference"] == 0.5
    assert math.isnan(last.loss["train_reference"]) and "train_reference" not in result.metrics[0].accuracy
    assert "imported: PGDL task1_v4 model_1" in result.notes[0] and len(result.notes) == 1
    with pytest.raises(ValueError, match=r"weights at epoch 0 .* and at epoch training.epochs = 3 .* only"):
        imported.result(model, data, params, TrainingSpec(epochs=3, checkpoints=(1,)))
