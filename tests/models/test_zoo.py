"""The papers' networks: layer shapes, as the papers' code builds them."""

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from models.architectures import build_model
from models.zoo.lenet import LeNetParams
from models.zoo.nin import NiNParams
from models.zoo.resnet import ResNetParams
from models.zoo.vgg import VGGParams


def _shapes(model) -> dict[str, tuple[int, ...]]:
    return {n: tuple(m.weight.shape) for n, m in model.weight_layers().items()}


def test_lenet_is_corneanus_network():
    shapes = _shapes(build_model("lenet", LeNetParams(), (1, 28, 28), 10))
    assert shapes == {"conv1": (10, 1, 5, 5), "conv2": (20, 10, 5, 5), "fc1": (50, 320), "output": (10, 50)}
    assert _shapes(build_model("lenet", LeNetParams(), (3, 32, 32), 10))["fc1"] == (50, 500)  # their 32x32 variant
    small = build_model("lenet", LeNetParams(), (1, 8, 8), 10)  # "same" padding: 8 -> 4 -> 2
    assert _shapes(small)["fc1"] == (50, 20 * 2 * 2) and small.blocks["conv1"].layer.padding == (2, 2)
    record: dict = {}
    build_model("lenet", LeNetParams(), (1, 28, 28), 10).eval()(torch.randn(3, 1, 28, 28), record=record)
    widths = {k: v.shape[1] for k, v in record["post"].items()}
    assert widths == {"conv1": 10 * 12 * 12, "conv2": 320, "fc1": 50, "output": 10}
    with pytest.raises(ValueError, match="at least 16x16"):
        build_model("lenet", LeNetParams(padding="valid"), (1, 8, 8), 10)


@pytest.mark.parametrize("blocks, last, dense, expected", [
    (3, 256, 1, [(64, 3, 3, 3), (64, 64, 3, 3), (128, 64, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3),
                 (256, 256, 3, 3), (10, 256 * 4 * 4)]),
    (1, 512, 2, [(512, 3, 3, 3), (512, 512, 3, 3), (512, 512 * 16 * 16), (10, 512)]),
])
def test_vgg_filters_double_up_to_the_last_block(blocks, last, dense, expected):
    model = build_model("vgg", VGGParams(conv_blocks=blocks, last_filters=last, dense_layers=dense), (3, 32, 32), 10)
    assert list(_shapes(model).values()) == expected
    assert list(model.blocks)[-2:] == (["fc1", "output"] if dense == 2 else ["conv6", "output"])


def test_vgg_options():
    model = build_model("vgg", VGGParams(conv_blocks=1, last_filters=16, dropout=0.5, batch_norm=True), (1, 8, 8), 10)
    assert model.blocks["conv1"].layer.bias is None
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 1
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 2  # after the conv block and fc1
    with pytest.raises(ValidationError, match="divisible by 2\\*\\*\\(conv_blocks - 1\\) = 4"):
        VGGParams(conv_blocks=3, last_filters=6)
    with pytest.raises(ValueError, match="at least 8x8 pixels"):
        build_model("vgg", VGGParams(conv_blocks=3), (3, 4, 4), 10)


def test_nin_groups_and_global_average_pooling_head():
    model = build_model("nin", NiNParams(conv_layers=6, width=16, dropout=0.25), (3, 32, 32), 10)
    shapes = _shapes(model)
    assert list(shapes) == ["conv1", "conv2", "conv3", "conv4", "conv5", "output"]
    assert [s[2:] for s in shapes.values()] == [(3, 3), (1, 1), (1, 1), (3, 3), (1, 1), (1, 1)]
    assert shapes["output"] == (10, 16, 1, 1)
    assert [model.blocks[b].layer.stride for b in ("conv1", "conv4")] == [(1, 1), (2, 2)]
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 1  # between the two groups
    record: dict = {}
    out = model.eval()(torch.randn(2, 3, 32, 32), record=record)
    assert record["pre"]["output"].shape == (2, 10 * 16 * 16)  # class maps at half resolution
    assert torch.allclose(out, record["pre"]["output"].view(2, 10, -1).mean(-1), atol=1e-6)
    with pytest.raises(ValidationError, match="multiple of 3"):
        NiNParams(conv_layers=7)


def test_resnet_is_torchvisions_resnet18_with_a_3x3_stem():
    models = pytest.importorskip("torchvision.models")
    ours = build_model("resnet", ResNetParams(), (3, 32, 32), 10).eval()
    ref = models.resnet18(num_classes=10)
    ref.conv1, ref.maxpool = nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.Identity()
    ref.eval().load_state_dict(dict(zip(ref.state_dict(), ours.state_dict().values())))  # same order of tensors
    assert [v.shape for v in ref.state_dict().values()] == [v.shape for v in ours.state_dict().values()]
    x = torch.randn(2, 3, 32, 32)
    record: dict = {}
    with torch.no_grad():
        assert torch.allclose(ours(x, record=record), ref(x), atol=1e-5)
    layers = ours.weight_layers()
    assert len(layers) == 21  # 20 convolutions and the linear layer, as torchvision's resnet18
    assert list(layers)[:6] == ["conv1", "layer1_0", "layer1_0.conv2", "layer1_1", "layer1_1.conv2", "layer2_0"]
    assert "layer2_0.shortcut" in layers and "layer1_0.shortcut" not in layers
    assert list(record["pre"]) == ["conv1"] + [f"layer{s}_{i}" for s in range(1, 5) for i in (0, 1)] + ["output"]
    assert torch.equal(record["post"]["layer1_0"], torch.relu(record["pre"]["layer1_0"]))  # same neurons
    assert record["post"]["layer4_1"].shape == (2, 512)  # the last block is pooled


def test_resnet_size_options():
    model = build_model("resnet", ResNetParams(width=8, blocks_per_stage=(1, 1)), (1, 8, 8), 10)
    assert list(model.blocks) == ["conv1", "layer1_0", "layer2_0", "output"]
    assert _shapes(model)["layer2_0.shortcut"] == (16, 8, 1, 1)
