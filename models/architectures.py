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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.registry import Registry
from models.imported import Imported

if TYPE_CHECKING:
    from models._network import Block, Network


def __getattr__(name: str):
    """``Block`` and ``Network`` live in :mod:`models._network` (torch), imported when first asked for."""
    if name in ("Block", "Network"):
        from models import _network

        return getattr(_network, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ModelParams(BaseModel):
    """Base of every architecture's parameter model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    from torch import nn

    from models._network import _ACTIVATIONS, Block, Network

    n_in = math.prod(input_shape)
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
    from torch import nn

    from models._network import _ACTIVATIONS, Block, Network

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
