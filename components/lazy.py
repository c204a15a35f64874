"""Lazy re-exports for a package's ``__init__`` (PEP 562 module ``__getattr__``).

A package that re-exports its public names eagerly imports every submodule whenever any one of them is
imported: loading the light KFP component module of ``export_onnx`` pulled in torch, and a constant of
the launchers pulled in the Kubernetes client. With :func:`lazy_exports` a name is imported from its
submodule the first time it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``name`` from ``package.<exports[name]>`` on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__
