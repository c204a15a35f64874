"""Data bindings: ``${kwp.<name>}`` placeholders for data locations in a trial template.

An Experiment is written once and its data arrives later: from KFP artifacts in the ``tune``
component (their URIs on a cluster, local paths under ``kfp.local``) or from ``--data name=PATH``
on the local runner. Katib itself only substitutes ``${trialParameters.*}``, so every binding must be
resolved before the Experiment is created or run; :func:`unbound` lists what is left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from katib.experiments.errors import ExperimentError

BINDING = re.compile(r"\$\{kwp\.([A-Za-z0-9_-]+)\}")


class UnboundDataError(ExperimentError):
    """The trial template still has ``${kwp.*}`` placeholders that no binding resolves."""


def bind(experiment: Mapping[str, Any], data: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``experiment`` with ``${kwp.<name>}`` replaced by ``data[name]`` wherever it appears."""
    bad = sorted(name for name in data if not re.fullmatch(r"[A-Za-z0-9_-]+", name))
    if bad:
        raise UnboundDataError(f"data binding names {bad} may only use letters, digits, '_' and '-'")
    return _replace(experiment, data)


def unbound(experiment: Mapping[str, Any]) -> list[str]:
    """Names of the placeholders left, sorted."""
    found: set[str] = set()
    _collect(experiment, found)
    return sorted(found)


def require_bound(experiment: Mapping[str, Any]) -> None:
    missing = unbound(experiment)
    if missing:
        hints = " ".join(f"--data {name}=PATH" for name in missing)
        raise UnboundDataError(
            f"the trial template needs data for {missing} (placeholders ${{kwp.NAME}}); "
            f"bind them, e.g. `{hints}` locally or the matching inputs of the tune component"
        )


def _replace(value: Any, data: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return BINDING.sub(lambda m: str(data[m.group(1)]) if m.group(1) in data else m.group(0), value)
    if isinstance(value, Mapping):
        return {k: _replace(v, data) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, data) for v in value]
    return value


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        found.update(BINDING.findall(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect(v, found)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, found)
