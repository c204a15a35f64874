"""The network a genotype describes, trained from scratch once a search is over.

:func:`build_network` is the entry the model registry of ``components.train`` calls for the
``darts`` architecture. The network takes flat feature vectors (what the preprocessed tables hold and
what the ONNX export feeds) and reshapes them to an image inside ``forward``; only ops the ONNX dynamo
exporter handles are used (no adaptive pooling, no in-place tricks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from katib.darts.errors import DartsError, GenotypeError
from katib.darts.genotype import Genotype, Node, coerce_genotype
from katib.darts.operations import FactorizedReduce, ReLUConvBN, make_operation
from katib.darts.search_space import reduction_layers

#: Options of the ``darts`` model config and their defaults (``genotype`` is required).
NETWORK_DEFAULTS: dict[str, Any] = {
    "init_channels": 16,
    "num_layers": 8,
    "stem_multiplier": 3,
    "input_shape": None,
}


def build_network(
    options: Mapping[str, Any],
    *,
    input_dim: int | None = None,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
) -> DartsNetwork:
    """Build the network of ``options["genotype"]``; the ``darts`` entry of the trainer's model registry.

    The registry calls ``build_network(options, input_dim=D, input_shape=[C, H, W], num_classes=K)``
    with ``options = {"genotype": ..., "init_channels": C, "num_layers": L, "stem_multiplier": 3,
    "input_shape": [1, 8, 8]}``. A whole model config (``{"options": {...}, "num_classes": K,
    "input_dim": D, ...}``) works as the only argument too. The genotype may be its JSON dictionary,
    JSON text or the printed ``Genotype(...)`` line Katib collects; ``input_shape`` defaults to a square
    image of ``input_dim`` values.
    """
    if "options" in options and num_classes is None:
        return build_network(
            options["options"] or {},
            input_dim=options.get("input_dim"),
            input_shape=options.get("input_shape"),
            num_classes=options.get("num_classes"),
        )
    unknown = sorted(set(options) - {"genotype", *NETWORK_DEFAULTS})
    if unknown:
        valid = ", ".join(["genotype", *NETWORK_DEFAULTS])
        raise DartsError(f"unknown darts model options {unknown}; valid options: {valid}")
    if "genotype" not in options:
        raise GenotypeError(
            "the darts model needs the option 'genotype' (what a DARTS search printed or saved)"
        )
    settings = {**NETWORK_DEFAULTS, **{k: v for k, v in options.items() if k != "genotype"}}
    return DartsNetwork(
        coerce_genotype(options["genotype"]),
        input_shape=_input_shape(input_dim, input_shape, settings["input_shape"]),
        num_classes=_positive_int(num_classes, "num_classes"),
        init_channels=_positive_int(settings["init_channels"], "init_channels"),
        num_layers=_positive_int(settings["num_layers"], "num_layers"),
        stem_multiplier=_positive_int(settings["stem_multiplier"], "stem_multiplier"),
    )


def _input_shape(
    input_dim: Any, given: Sequence[int] | None, option: Sequence[int] | None
) -> tuple[int, ...]:
    if given is not None and option is not None and list(given) != list(option):
        raise DartsError(f"input_shape {list(given)} and options.input_shape {list(option)} disagree")
    shape = given if given is not None else option
    if shape is None:
        if input_dim is None:
            raise DartsError("the darts model needs input_dim or input_shape")
        return infer_image_shape(_positive_int(input_dim, "input_dim"))
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 3:
        raise DartsError(f"input_shape must be [channels, height, width], got {shape!r}")
    dims = tuple(_positive_int(s, "input_shape") for s in shape)
    if input_dim is not None and math.prod(dims) != _positive_int(input_dim, "input_dim"):
        raise DartsError(f"input_shape {list(dims)} holds {math.prod(dims)} values, input_dim is {input_dim}")
    return dims


def infer_image_shape(num_features: int) -> tuple[int, int, int]:
    """``(1, s, s)`` for a square number of features, else ``(3, s, s)`` for an RGB square."""
    for channels in (1, 3):
        side = math.isqrt(num_features // channels)
        if num_features % channels == 0 and side > 0 and channels * side * side == num_features:
            return channels, side, side
    raise DartsError(
        f"{num_features} features are not a square image (1 x s x s or 3 x s x s); give input_shape"
    )


def stem(in_channels: int, channels: int) -> nn.Sequential:
    """The 3x3 convolution + batch norm in front of the first cell (search and derived networks alike)."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))


def as_images(x: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """Flat ``(batch, C*H*W)`` features as ``(batch, C, H, W)``; images pass through."""
    if x.dim() == 2:
        return x.reshape(x.shape[0], *input_shape)
    return x


class Cell(nn.Module):
    """A fixed cell: each node sums its chosen operations on its chosen inputs."""

    def __init__(
        self,
        nodes: tuple[Node, ...],
        concat: tuple[int, ...],
        c_pp: int,
        c_p: int,
        c: int,
        *,
        reduction_prev: bool,
        reduction: bool,
    ) -> None:
        super().__init__()
        if reduction and min(concat) < 2:
            raise GenotypeError(
                f"a reduction cell can only concatenate its nodes (2 and up), got {list(concat)}"
            )
        self.reduction = reduction
        self.preprocess0 = (
            FactorizedReduce(c_pp, c, affine=True) if reduction_prev else ReLUConvBN(c_pp, c, affine=True)
        )
        self.preprocess1 = ReLUConvBN(c_p, c, affine=True)
        self.inputs = [[j for _, j in node] for node in nodes]
        self.ops = nn.ModuleList(
            nn.ModuleList(
                make_operation(op, c, 2 if reduction and j < 2 else 1, search=False) for op, j in node
            )
            for node in nodes
        )
        self.concat = list(concat)
        self.out_channels = c * len(concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for ops, inputs in zip(self.ops, self.inputs, strict=True):
            states.append(sum(op(states[j]) for op, j in zip(ops, inputs, strict=True)))
        return torch.cat([states[i] for i in self.concat], dim=1)


class DartsNetwork(nn.Module):
    """Stem, ``num_layers`` cells (reduction cells where the search had them), global pooling, classifier."""

    def __init__(
        self,
        genotype: Genotype,
        *,
        input_shape: Sequence[int],
        num_classes: int,
        init_channels: int = 16,
        num_layers: int = 8,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        reductions = reduction_layers(num_layers)
        if reductions and not genotype.reduce:
            raise GenotypeError(
                f"{num_layers} layers need a reduction cell but the genotype has none "
                "(it came from a one-layer search); use num_layers=1"
            )
        self.genotype = genotype
        self.input_shape = tuple(input_shape)
        c = stem_multiplier * init_channels
        self.stem = stem(self.input_shape[0], c)
        c_pp, c_p, c = c, c, init_channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for layer in range(num_layers):
            reduction = layer in reductions
            c = c * 2 if reduction else c
            nodes, concat = (
                (genotype.reduce, genotype.reduce_concat)
                if reduction
                else (genotype.normal, genotype.normal_concat)
            )
            cell = Cell(nodes, concat, c_pp, c_p, c, reduction_prev=reduction_prev, reduction=reduction)
            self.cells.append(cell)
            c_pp, c_p, reduction_prev = c_p, cell.out_channels, reduction
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(as_images(x, self.input_shape))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(s1.mean(dim=(2, 3)))


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DartsError(f"{name} must be a positive integer, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise DartsError(f"{name} must be a positive integer, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise DartsError(f"{name} must be a positive integer, got {value!r}")
    return int(number)
