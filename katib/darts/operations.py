"""The candidate operations of a DARTS cell, named as Katib names them.

Katib's DARTS suggestion turns each NAS operation into ``<operation_type>_<k>x<k>`` (one name per filter
size) plus ``skip_connection``; the trial adds ``none``. We accept every odd filter size for the four
sized families, so any search space Katib can express builds here. All operations keep the spatial size
at stride 1 and give ``ceil(size / 2)`` at stride 2, also for odd sizes, so cells of any depth line up.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from katib.darts.errors import SearchSpaceError

NONE = "none"
SKIP_CONNECTION = "skip_connection"
#: The operations of Katib's DARTS example experiment, in its order.
KATIB_OPERATIONS: tuple[str, ...] = (
    "separable_convolution_3x3",
    "separable_convolution_5x5",
    "dilated_convolution_3x3",
    "dilated_convolution_5x5",
    "avg_pooling_3x3",
    "max_pooling_3x3",
    SKIP_CONNECTION,
)
FAMILIES: tuple[str, ...] = ("separable_convolution", "dilated_convolution", "avg_pooling", "max_pooling")
_SIZED = re.compile(r"^(?P<family>[a-z_]+)_(?P<k>\d+)x(?P<k2>\d+)$")


def parse_operation(name: str) -> tuple[str, int]:
    """``("separable_convolution", 3)`` for ``"separable_convolution_3x3"``; size 0 if unsized."""
    if name in (NONE, SKIP_CONNECTION):
        return name, 0
    match = _SIZED.match(name) if isinstance(name, str) else None
    if match is None or match["family"] not in FAMILIES:
        raise SearchSpaceError(
            f"unknown operation {name!r}; valid: {', '.join(KATIB_OPERATIONS)}, {NONE} "
            f"(or any of {', '.join(FAMILIES)} with an odd filter size, e.g. separable_convolution_7x7)"
        )
    size, size2 = int(match["k"]), int(match["k2"])
    if size != size2 or size % 2 == 0 or size < 3:
        raise SearchSpaceError(f"operation {name!r} needs a square, odd filter size >= 3 (e.g. 3x3, 5x5)")
    return match["family"], size


def make_operation(name: str, channels: int, stride: int, *, search: bool) -> nn.Module:
    """Build one operation on ``channels`` feature maps.

    ``search=True`` builds the variant used inside mixed operations: batch norms without learned affine
    parameters and a batch norm after pooling, so the candidates' outputs are on comparable scales
    (Liu et al. 2019, appendix A.1). The fixed network uses affine batch norms and plain pooling.
    """
    family, size = parse_operation(name)
    affine = not search
    if family == NONE:
        return Zero(stride)
    if family == SKIP_CONNECTION:
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine=affine)
    if family == "separable_convolution":
        return SeparableConv(channels, size, stride, affine=affine)
    if family == "dilated_convolution":
        return DilatedConv(channels, size, stride, dilation=2, affine=affine)
    pool: nn.Module
    if family == "avg_pooling":
        pool = nn.AvgPool2d(size, stride, padding=size // 2, count_include_pad=False)
    else:
        pool = nn.MaxPool2d(size, stride, padding=size // 2)
    return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False)) if search else pool


class Zero(nn.Module):
    """The ``none`` operation: zeros of the output shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, batch norm: the preprocessing of a cell's two inputs."""

    def __init__(self, c_in: int, c_out: int, *, affine: bool) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilatedConv(nn.Sequential):
    """ReLU, depthwise (dilated) convolution, pointwise convolution, batch norm."""

    def __init__(self, channels: int, size: int, stride: int, *, dilation: int, affine: bool) -> None:
        padding = dilation * (size - 1) // 2
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(
                channels, channels, size, stride, padding, dilation=dilation, groups=channels, bias=False
            ),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class SeparableConv(nn.Sequential):
    """Two depthwise-separable convolutions in a row (only the first one strides), as in DARTS."""

    def __init__(self, channels: int, size: int, stride: int, *, affine: bool) -> None:
        super().__init__(
            DilatedConv(channels, size, stride, dilation=1, affine=affine),
            DilatedConv(channels, size, 1, dilation=1, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two strided 1x1 convolutions, one on the input shifted by a pixel.

    The shifted branch pads one row and column first, so both branches give ``ceil(size / 2)`` even
    for odd sizes (the DARTS reference slices instead and breaks on odd sizes).
    """

    def __init__(self, c_in: int, c_out: int, *, affine: bool) -> None:
        super().__init__()
        half = c_out // 2
        self.relu = nn.ReLU()
        self.conv_a = nn.Conv2d(c_in, half, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out - half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))
