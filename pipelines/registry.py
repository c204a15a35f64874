"""The pipelines and components kwp ships, by the name users type (``kwp run warehouse-train``)."""

from __future__ import annotations

import importlib
from typing import Any

#: name -> "module:attribute" of a ``@dsl.pipeline`` function; imported on demand so ``kwp --help``
#: stays fast and one broken pipeline cannot hide the others.
PIPELINES: dict[str, str] = {
    "warehouse-train": "pipelines.warehouse_train:warehouse_train",
    "hyperband-tune": "pipelines.hyperband_tune:hyperband_tune",
    "darts-nas": "pipelines.darts_nas:darts_nas",
}


#: The reusable components, compiled to ``DIR/components/<name>.yaml`` by ``kwp compile`` for pipelines
#: of the user's own (``kfp.components.load_component_from_file``).
COMPONENTS: dict[str, str] = {
    "preprocess": "components.preprocess.component:preprocess",
    "train": "components.train.component:train",
    "evaluate": "components.evaluate.component:evaluate",
    "export-onnx": "components.export_onnx.component:export_onnx",
    "tune": "components.tune.component:tune",
}


class UnknownPipelineError(ValueError):
    """A pipeline name that kwp does not ship."""


def load_pipeline(name: str) -> Any:
    """The pipeline function registered under ``name``."""
    try:
        target = PIPELINES[name]
    except KeyError:
        raise UnknownPipelineError(
            f"unknown pipeline {name!r}; choose one of: {', '.join(PIPELINES)}"
        ) from None
    return _load(target)


def load_component(name: str) -> Any:
    """The ``@dsl.component`` registered under ``name`` in :data:`COMPONENTS`."""
    return _load(COMPONENTS[name])


def _load(target: str) -> Any:
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)
