"""The pipelines kwp ships, by the name users type (``kwp run warehouse-train``)."""

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
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)
