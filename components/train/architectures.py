"""The built-in architectures: an MLP for tabular features and a small CNN for image-shaped features.

Both take a flat ``(batch, input_dim)`` float tensor, because that is what a Parquet row of feature
columns is; the CNN reshapes it to ``input_shape`` inside ``forward`` so the exported ONNX graph keeps
the same flat input. Each model lists the sub-modules worth recomputing under activation checkpointing
in ``checkpoint_blocks``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from components.train.errors import ModelError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def _check_keys(architecture: str, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ModelError(
            f"unknown option(s) {unknown} for model {architecture!r}; valid options: {', '.join(allowed)}"
        )


def _activation(architecture: str, name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ModelError(
            f"model {architecture!r}: activation {name!r} is not supported; valid: {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]()


def _int_list(architecture: str, key: str, value: Any) -> list[int]:
    values = [value] if isinstance(value, int) else list(value)
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in values):
        raise ModelError(
            f"model {architecture!r}: {key} must be a non-empty list of positive ints, got {value!r}"
        )
    return values


def _dropout(architecture: str, value: Any) -> float:
    if not isinstance(value, int | float) or not 0.0 <= float(value) < 1.0:
        raise ModelError(f"model {architecture!r}: dropout must be a number in [0, 1), got {value!r}")
    return float(value)


class MLP(nn.Module):
    """Hidden blocks of Linear → [BatchNorm] → activation → [Dropout], then a linear head (logits)."""

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden_sizes: Sequence[int],
        dropout: float,
        activation: str,
        batch_norm: bool,
    ) -> None:
        super().__init__()
        blocks = []
        width = input_dim
        for size in hidden_sizes:
            layers: list[nn.Module] = [nn.Linear(width, size)]
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(_activation("mlp", activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            blocks.append(nn.Sequential(*layers))
            width = size
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, num_classes)

    @property
    def checkpoint_blocks(self) -> list[nn.Module]:
        return list(self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class CNN(nn.Module):
    """Conv blocks (Conv → [BatchNorm] → activation → 2×2 max-pool while the image is large enough),
    global average pooling, dropout and a linear head."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        channels: Sequence[int],
        kernel: int,
        dropout: float,
        activation: str,
        batch_norm: bool,
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        in_channels, height, width = self.input_shape
        blocks = []
        for out_channels in channels:
            layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(_activation("cnn", activation))
            if min(height, width) >= 4:  # keep at least a 2×2 map for the last block
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            blocks.append(nn.Sequential(*layers))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(in_channels, num_classes)

    @property
    def checkpoint_blocks(self) -> list[nn.Module]:
        return list(self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, *self.input_shape)
        for block in self.blocks:
            x = block(x)
        x = self.pool(x).flatten(1)
        return self.head(self.dropout(x))


MLP_OPTIONS = ("hidden_sizes", "dropout", "activation", "batch_norm")
CNN_OPTIONS = ("input_shape", "channels", "kernel", "dropout", "activation", "batch_norm")


def build_mlp(options: Mapping[str, Any], *, input_dim: int, num_classes: int) -> MLP:
    """Registry builder for ``"mlp"``; defaults: hidden_sizes [128, 64], dropout 0, relu, no batch norm."""
    _check_keys("mlp", options, MLP_OPTIONS)
    return MLP(
        input_dim=input_dim,
        num_classes=num_classes,
        hidden_sizes=_int_list("mlp", "hidden_sizes", options.get("hidden_sizes", [128, 64])),
        dropout=_dropout("mlp", options.get("dropout", 0.0)),
        activation=str(options.get("activation", "relu")),
        batch_norm=bool(options.get("batch_norm", False)),
    )


def build_cnn(options: Mapping[str, Any], *, input_shape: Sequence[int], num_classes: int) -> CNN:
    """Registry builder for ``"cnn"``; defaults: channels [16, 32], kernel 3, dropout 0, relu, batch norm."""
    _check_keys("cnn", options, CNN_OPTIONS)
    kernel = options.get("kernel", 3)
    if not isinstance(kernel, int) or kernel <= 0 or kernel % 2 == 0:
        raise ModelError(f"model 'cnn': kernel must be a positive odd int, got {kernel!r}")
    return CNN(
        input_shape=input_shape,
        num_classes=num_classes,
        channels=_int_list("cnn", "channels", options.get("channels", [16, 32])),
        kernel=kernel,
        dropout=_dropout("cnn", options.get("dropout", 0.0)),
        activation=str(options.get("activation", "relu")),
        batch_norm=bool(options.get("batch_norm", True)),
    )


def infer_image_shape(input_dim: int) -> list[int]:
    """A single-channel square image when ``input_dim`` is a perfect square (64 → [1, 8, 8])."""
    side = math.isqrt(input_dim)
    if side * side != input_dim:
        raise ModelError(
            f"cannot infer an image shape from {input_dim} features (not a perfect square); "
            "pass input_shape, e.g. --model-options '{\"input_shape\": [3, 32, 32]}'"
        )
    return [1, side, side]
