"""Model registry and the model directory format every later step rebuilds a model from.

A model directory holds two files:

- ``model_config.json``: ``{"format": "kwp.model", "version": 1, "architecture", "options", "input_dim",
  "input_shape", "num_classes", "classes", "feature_columns", "label_column", "stats_uri"}``
- ``model.pt``: the ``state_dict`` as plain CPU tensors, without DDP/FSDP prefixes.

``load_model(model_dir)`` rebuilds the module from these two files alone, so ONNX export and evaluation
need no training code path. Architectures are registered by name; a builder may be a callable or a lazy
``"module:function"`` string, imported only when that architecture is built (the DARTS network lives in
``katib.darts`` and pulls in nothing until asked for).
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from components.train.architectures import build_cnn, build_mlp, infer_image_shape
from components.train.errors import ModelError

CONFIG_FILE = "model_config.json"
WEIGHTS_FILE = "model.pt"
CONFIG_FORMAT = "kwp.model"
CONFIG_VERSION = 1
CONFIG_KEYS = (
    "format",
    "version",
    "architecture",
    "options",
    "input_dim",
    "input_shape",
    "num_classes",
    "classes",
    "feature_columns",
    "label_column",
    "stats_uri",
)

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class _Entry:
    builder: Builder | str
    image_input: bool


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    name: str, builder: Builder | str, *, image_input: bool = False, overwrite: bool = False
) -> None:
    """Register an architecture under ``name``.

    ``builder(options, *, input_dim, input_shape, num_classes) -> nn.Module`` receives only the keyword
    arguments its signature names (or all of them with ``**kwargs``). A string ``"package.module:function"``
    is imported on first use. ``image_input=True`` makes the config carry an ``input_shape`` (inferred
    as a square single-channel image when the options give none) that is also put into the options.
    """
    if not name or not isinstance(name, str):
        raise ModelError(f"a model name must be a non-empty string, got {name!r}")
    if isinstance(builder, str) and ":" not in builder:
        raise ModelError(
            f"lazy builder for {name!r} must look like 'package.module:function', got {builder!r}"
        )
    if not isinstance(builder, str) and not callable(builder):
        raise ModelError(f"builder for {name!r} must be callable or a 'module:function' string")
    if name in _REGISTRY and not overwrite:
        raise ModelError(f"model {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = _Entry(builder, image_input)


def registered_models() -> list[str]:
    """Names of every registered architecture, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; registered models: {', '.join(registered_models())}")
    return _REGISTRY[name]


def _resolve(name: str) -> Builder:
    builder = _entry(name).builder
    if not isinstance(builder, str):
        return builder
    module_name, _, attr = builder.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(
            f"model {name!r}: cannot import {module_name!r} for builder {builder!r}: {exc}"
        ) from exc
    if not hasattr(module, attr):
        raise ModelError(f"model {name!r}: module {module_name!r} has no function {attr!r}")
    return getattr(module, attr)


def _call_builder(builder: Builder, options: dict[str, Any], **kwargs: Any) -> nn.Module:
    params = inspect.signature(builder).parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        names = {p.name for p in params}
        kwargs = {k: v for k, v in kwargs.items() if k in names}
    return builder(options, **kwargs)


def make_config(
    architecture: str,
    options: Mapping[str, Any] | None,
    *,
    classes: Sequence[Any],
    feature_columns: Sequence[str],
    label_column: str,
    stats_uri: str | None = None,
) -> dict[str, Any]:
    """The full model config for an architecture trained on the given columns and classes."""
    entry = _entry(architecture)
    options = dict(options or {})
    input_dim = len(feature_columns)
    input_shape = None
    if entry.image_input:
        input_shape = [int(v) for v in options.get("input_shape") or infer_image_shape(input_dim)]
        if math.prod(input_shape) != input_dim:
            raise ModelError(
                f"input_shape {input_shape} holds {math.prod(input_shape)} values but there are "
                f"{input_dim} feature columns"
            )
        options["input_shape"] = input_shape
    config = {
        "format": CONFIG_FORMAT,
        "version": CONFIG_VERSION,
        "architecture": architecture,
        "options": options,
        "input_dim": input_dim,
        "input_shape": input_shape,
        "num_classes": len(classes),
        "classes": list(classes),
        "feature_columns": list(feature_columns),
        "label_column": label_column,
        "stats_uri": stats_uri,
    }
    return validate_config(config)


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Check a config dict against the schema; returns a plain-dict copy."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise ModelError(f"model config lacks key(s) {missing}; required: {', '.join(CONFIG_KEYS)}")
    if config["format"] != CONFIG_FORMAT or config["version"] != CONFIG_VERSION:
        raise ModelError(
            f"model config has format {config['format']!r} version {config['version']!r}; "
            f"this code reads {CONFIG_FORMAT!r} version {CONFIG_VERSION}"
        )
    if config["num_classes"] != len(config["classes"]) or config["num_classes"] < 2:
        raise ModelError(
            f"model config: num_classes {config['num_classes']} must equal len(classes) and be >= 2"
        )
    if config["input_dim"] != len(config["feature_columns"]):
        raise ModelError(f"model config: input_dim {config['input_dim']} != number of feature_columns")
    return json.loads(json.dumps(config))


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised module for a model config (the config is validated first)."""
    config = validate_config(config)
    builder = _resolve(config["architecture"])
    return _call_builder(
        builder,
        dict(config["options"]),
        input_dim=config["input_dim"],
        input_shape=config["input_shape"],
        num_classes=config["num_classes"],
    )


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(str(tmp))
    os.replace(tmp, path)


def save_model(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any], model_dir: str | Path
) -> None:
    """Write ``model_config.json`` and ``model.pt`` (each atomically) to a local directory."""
    config = validate_config(config)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().to("cpu").clone() for k, v in state_dict.items()}
    _atomic_write(model_dir / WEIGHTS_FILE, lambda p: torch.save(weights, p))
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    _atomic_write(model_dir / CONFIG_FILE, lambda p: Path(p).write_text(text))


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """The validated ``model_config.json`` of a local model directory."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{path} does not exist; a model directory holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc
    return validate_config(config)


def load_model(
    model_dir: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the trained module (in eval mode) and its config from a local model directory."""
    config = read_config(model_dir)
    weights_path = Path(model_dir) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelError(f"{weights_path} does not exist")
    model = build_model(config)
    state = torch.load(weights_path, map_location=map_location, weights_only=True)
    model.load_state_dict(state)
    return model.to(map_location).eval(), config


register_model("mlp", build_mlp)
register_model("cnn", build_cnn, image_input=True)
register_model("darts", "katib.darts.network:build_network", image_input=True)
