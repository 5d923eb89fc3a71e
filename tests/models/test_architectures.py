"""Every registered architecture builds, runs forward, trains, and exposes its layers the same way."""

import pytest
import torch
from torch import nn

from models.architectures import build_model, get_model, list_models
from models.data import DataSplits
from models.training import RegulariserSpec, TrainingSpec, train

INPUTS = [(1, 8, 8), (1, 40), (3, 32, 32), (1, 28, 28)]


def _accepts(name: str, shape: tuple[int, ...]) -> bool:
    ndims = get_model(name).input_ndims
    return ndims is None or len(shape) in ndims


_KIND = {1: "(n_features,)", 2: "(C, L)", 3: "(C, H, W)"}
#: An imported architecture is built from the PGDL fixture files: (params, the input shape of their model).
_IMPORTED = {"pgdl": ({"task": "task1_v4", "id": 0}, (3, 32, 32))}


def _build(name: str, shape: tuple[int, ...], request):
    """``name`` with default params; an imported network from its fixture files (skipped for other shapes)."""
    if get_model(name).imported is None:
        return build_model(name, get_model(name).params(), shape, 10)
    params, own = _IMPORTED[name]
    if shape != own:
        pytest.skip(f"{name} is imported: its files fix its input shape {own}")
    return build_model(name, {**params, "root": str(request.getfixturevalue("pgdl_root"))}, shape, 10)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("shape", INPUTS)
def test_forward_and_recorded_layers(name, shape, request):
    if not _accepts(name, shape):
        kinds = " or ".join(_KIND[n] for n in get_model(name).input_ndims)
        pytest.skip(f"{name} takes {kinds} inputs, not {shape}")
    model = _build(name, shape, request)
    x = torch.randn(5, *shape)
    record: dict = {}
    out = model(x, record=record)
    assert out.shape == (5, 10)
    blocks = list(model.blocks)
    assert blocks[-1] == "output"
    assert list(record["pre"]) == blocks == list(record["post"])
    assert torch.equal(record["post"]["output"], out)
    layers = model.weight_layers()
    assert list(layers)[-1] == "output"
    assert [n for n in layers if n in blocks] == blocks  # each block's layer, in forward order
    assert all(layers[b] is model.blocks[b].layer for b in blocks)
    assert all("." in n and n.split(".")[0] in blocks for n in layers if n not in blocks)  # extras: "<block>.<key>"
    for layer in blocks:
        assert record["pre"][layer].shape[0] == 5 and record["pre"][layer].ndim == 2
        assert record["post"][layer].shape[0] == 5 and record["post"][layer].ndim == 2
    for layer in layers.values():
        assert isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)) and layer.weight.requires_grad


@pytest.mark.parametrize("name", list_models())
def test_one_training_epoch_on_a_tiny_batch(name, request):
    shape = _IMPORTED[name][1] if name in _IMPORTED else (3, 8, 8) if _accepts(name, (3, 8, 8)) else (1, 40)
    g = torch.Generator().manual_seed(0)
    x = {s: torch.randn(n, *shape, generator=g) for s, n in (("train", 8), ("val", 4), ("test", 4))}
    y = {s: torch.arange(len(v)) % 10 for s, v in x.items()}
    data = DataSplits(x=x, y=y, y_train_clean=y["train"], n_classes=10)
    torch.manual_seed(0)
    model = _build(name, shape, request)
    before = [layer.weight.detach().clone() for layer in model.weight_layers().values()]
    result = train(model, data, TrainingSpec(epochs=1, batch_size=4, lr=0.01), RegulariserSpec(), seed=0)
    assert [m.epoch for m in result.metrics] == [0, 1]
    assert all(torch.isfinite(torch.tensor(list(m.loss.values()))).all() for m in result.metrics)
    for w0, (layer_name, layer) in zip(before, model.weight_layers().items()):
        assert not torch.equal(w0, layer.weight), layer_name  # every weight is trained


def test_input_dimensions_are_checked():
    with pytest.raises(ValueError, match=r"model 'vgg' takes inputs of shape \(C, H, W\).*shape \(1, 40\)"):
        build_model("vgg", get_model("vgg").params(), (1, 40), 10)


def test_mlp_shapes():
    from models.architectures import MLPParams

    model = build_model("mlp", MLPParams(depth=3, width=7, batch_norm=True), (1, 8, 8), 10)
    shapes = [tuple(m.weight.shape) for m in model.weight_layers().values()]
    assert shapes == [(7, 64), (7, 7), (7, 7), (10, 7)]


def test_conv_is_conv_l_w():
    from models.architectures import ConvParams

    model = build_model("conv", ConvParams(depth=4, width=12), (1, 8, 8), 10)
    shapes = [tuple(m.weight.shape) for m in model.weight_layers().values()]
    assert shapes == [(12, 1, 3, 3)] + [(12, 12, 3, 3)] * 3 + [(10, 12)]


def test_unknown_model_suggests():
    with pytest.raises(KeyError, match="did you mean 'mlp'"):
        get_model("mlpp")
