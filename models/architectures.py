"""Architecture registry and the :class:`Network` every architecture builds.

A :class:`Network` is a chain of named :class:`Block` s. Each block has one
layer with weights (``Linear`` or ``Conv``) whose output is the block's
*pre-activation*, followed by ``post`` (batch norm, nonlinearity, pooling)
whose output is the block's *activation*. The last block is named ``"output"``
and gives the logits. Measures and regularisers read pre-activations and
activations by block name, so every architecture in the registry exposes its
hidden layers the same way.

A block may hold more layers with weights than its ``layer`` (a residual block,
:class:`models.zoo.resnet.ResidualBlock`): it lists them in
:meth:`Block.extra_weight_layers`, and :meth:`Network.weight_layers` reports
them after the block's ``layer`` as ``"<block>.<key>"``. The architectures of
the papers are in :mod:`models.zoo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from core.registry import Registry
from models.imported import Imported


class ModelParams(BaseModel):
    """Base of every architecture's parameter model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Block(nn.Module):
    """One layer with weights followed by what acts on its output.

    Parameters
    ----------
    layer : nn.Linear or nn.Conv1d or nn.Conv2d
        The layer whose ``weight`` the weight measures read.
    post : nn.Module
        Applied to the layer's output (batch norm, nonlinearity, pooling).
    flatten_input : bool
        Flatten the input to ``(batch, -1)`` first (an MLP on images, or the
        classifier head after convolutions).
    """

    def __init__(self, layer: nn.Module, post: nn.Module | None = None, flatten_input: bool = False):
        super().__init__()
        self.layer = layer
        self.post = post if post is not None else nn.Identity()
        self.flatten_input = flatten_input

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.flatten_input:
            x = x.flatten(1)
        pre = self.layer(x)
        return pre, self.post(pre)

    def extra_weight_layers(self) -> dict[str, nn.Module]:
        """Layers with weights other than ``layer`` (none here; a residual block has some)."""
        return {}


class Network(nn.Module):
    """A chain of named blocks; the last is ``"output"`` (the logits).

    ``forward(x)`` returns logits of shape (batch, n_classes). With ``record``
    (a dict), it also stores ``record["pre"][name]`` and ``record["post"][name]``
    for every block, flattened to (batch, n_neurons), gradients kept.
    """

    def __init__(self, blocks: dict[str, Block]):
        super().__init__()
        if list(blocks)[-1] != "output":
            raise ValueError(f"the last block must be named 'output'; got {list(blocks)}")
        self.blocks = nn.ModuleDict(blocks)

    def forward(self, x: torch.Tensor, record: dict | None = None) -> torch.Tensor:
        for name, block in self.blocks.items():
            pre, x = block(x)
            if record is not None:
                record.setdefault("pre", {})[name] = pre.flatten(1)
                record.setdefault("post", {})[name] = x.flatten(1)
        return x

    def weight_layers(self) -> dict[str, nn.Module]:
        """Every layer with weights, in forward order.

        Each block's ``layer`` under the block's name, followed by the block's
        other layers with weights (:meth:`Block.extra_weight_layers`) under
        ``"<block>.<key>"``; for a plain chain the keys are the block names.
        """
        layers: dict[str, nn.Module] = {}
        for name, block in self.blocks.items():
            layers[name] = block.layer
            layers.update({f"{name}.{key}": m for key, m in block.extra_weight_layers().items()})
        return layers


@dataclass(frozen=True)
class Architecture:
    """A registered architecture."""

    name: str
    build: Callable[[ModelParams, tuple[int, ...], int], Network]
    params: type[ModelParams]
    paper: str
    input_ndims: tuple[int, ...] | None = None  # accepted len(input_shape); None: any
    imported: Imported | None = None  # trained elsewhere: weights from files (models.imported)


#: Every registered architecture; found by importing every module of :mod:`models`.
ARCHITECTURES: Registry[Architecture] = Registry("model", search=("models",))


def register_model(*, params: type[ModelParams], paper: str, name: str | None = None,
                   input_ndims: tuple[int, ...] | None = None, imported: Imported | None = None):
    """Register ``build(params, input_shape, n_classes) -> Network`` under its name.

    ``input_ndims`` lists the accepted ``len(input_shape)``: ``(3,)`` for images
    ``(C, H, W)`` only, ``(2, 3)`` for ``(C, L)`` signals and images; ``None``
    accepts any shape. ``imported`` marks networks trained elsewhere (see
    :mod:`models.imported`): ``build`` then returns the network at its stored
    initialisation, and runs of it are never trained.

    Raises
    ------
    ValueError
        If the name is already registered.
    """

    def decorator(fn):
        key = name or fn.__name__
        ARCHITECTURES.add(key, Architecture(key, fn, params, paper, input_ndims, imported))
        return fn

    return decorator


def get_model(name: str) -> Architecture:
    """Return the registered architecture ``name``.

    Raises
    ------
    core.errors.UnknownNameError
        With the closest registered names when ``name`` is unknown.
    """
    return ARCHITECTURES.get(name)


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered architectures matching a shell-style ``pattern``."""
    return ARCHITECTURES.list(pattern)


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid,
}
Activation = Literal["relu", "tanh", "gelu", "sigmoid"]


class MLPParams(ModelParams):
    """``mlp``: ``depth`` hidden layers of ``width`` units."""

    depth: int = Field(2, ge=0, le=64)
    width: int = Field(256, ge=1)
    activation: Activation = "relu"
    batch_norm: bool = False
    dropout: float = Field(0.0, ge=0.0, lt=1.0)


@register_model(params=MLPParams, paper="multilayer perceptron")
def mlp(params: MLPParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """Fully connected network: (Linear -> [BatchNorm] -> activation -> [Dropout]) x depth -> Linear."""
    n_in = int(torch.tensor(input_shape).prod())
    blocks: dict[str, Block] = {}
    for i in range(params.depth):
        post: list[nn.Module] = [nn.BatchNorm1d(params.width)] if params.batch_norm else []
        post.append(_ACTIVATIONS[params.activation]())
        if params.dropout:
            post.append(nn.Dropout(params.dropout))
        blocks[f"fc{i + 1}"] = Block(nn.Linear(n_in, params.width), nn.Sequential(*post), flatten_input=i == 0)
        n_in = params.width
    blocks["output"] = Block(nn.Linear(n_in, n_classes), flatten_input=params.depth == 0)
    return Network(blocks)


class ConvParams(ModelParams):
    """``conv``: CONV-L-W, ``depth`` (L) 3x3 convolutions of ``width`` (W) channels."""

    depth: int = Field(3, ge=1, le=64)
    width: int = Field(32, ge=1)
    activation: Activation = "relu"
    batch_norm: bool = True


@register_model(params=ConvParams, paper="Galanti et al. TMLR 2023 (CONV-L-W)", input_ndims=(2, 3))
def conv(params: ConvParams, input_shape: tuple[int, ...], n_classes: int) -> Network:
    """CONV-L-W of Galanti et al. 2023: L x (conv 3x3, stride 1, padding 1 -> [BN] -> activation),
    global average pooling, then a linear classifier. Works on 1-D ``(C, L)`` and 2-D
    ``(C, H, W)`` inputs."""
    spatial = len(input_shape) - 1
    if spatial not in (1, 2):
        raise ValueError(f"conv expects inputs of shape (C, L) or (C, H, W); got {input_shape}")
    Conv, BN = (nn.Conv1d, nn.BatchNorm1d) if spatial == 1 else (nn.Conv2d, nn.BatchNorm2d)
    Pool = nn.AdaptiveAvgPool1d if spatial == 1 else nn.AdaptiveAvgPool2d
    blocks: dict[str, Block] = {}
    c_in = input_shape[0]
    for i in range(params.depth):
        post: list[nn.Module] = [BN(params.width)] if params.batch_norm else []
        post.append(_ACTIVATIONS[params.activation]())
        if i == params.depth - 1:
            post.append(Pool(1))
        blocks[f"conv{i + 1}"] = Block(Conv(c_in, params.width, 3, padding=1, bias=not params.batch_norm),
                                       nn.Sequential(*post))
        c_in = params.width
    blocks["output"] = Block(nn.Linear(params.width, n_classes), flatten_input=True)
    return Network(blocks)


def build_model(name: str, params: ModelParams | Mapping[str, Any], input_shape: tuple[int, ...],
                n_classes: int) -> Network:
    """Build the registered architecture ``name`` for inputs of ``input_shape``.

    Parameters
    ----------
    name : str
        A registered architecture (``runner list models``).
    params : ModelParams or mapping
        Its parameters, as the architecture's params model or as plain keys.
    input_shape : tuple of int
        Shape of one input, e.g. ``(1, 8, 8)``.
    n_classes : int

    Raises
    ------
    ValueError
        If the architecture does not accept inputs with ``len(input_shape)``
        dimensions (or, as a pydantic ``ValidationError``, a parameter is invalid).
    """
    spec = get_model(name)
    if isinstance(params, Mapping):  # plain keys, as written in a manifest's [model] section
        params = spec.params(**params)
    if spec.input_ndims is not None and len(input_shape) not in spec.input_ndims:
        kinds = {1: "(n_features,)", 2: "(C, L)", 3: "(C, H, W)"}
        shapes = " or ".join(kinds.get(n, f"{n}-D") for n in spec.input_ndims)
        raise ValueError(f"model {name!r} takes inputs of shape {shapes}; the data set's inputs have shape "
                         f"{tuple(input_shape)}. Choose a data set of images or another model.")
    return spec.build(params, input_shape, n_classes)
