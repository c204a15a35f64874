"""Data bindings: ``${kwp.<name>}`` placeholders for data locations in a trial template.

An Experiment is written once and its data arrives later: from KFP artifacts in the ``tune``
component (their URIs on a cluster, local paths under ``kfp.local``) or from ``--data name=PATH``
on the local runner. Katib itself only substitutes ``${trialParameters.*}``, so every binding must be
resolved before the Experiment is created or run; :func:`unbound` lists what is left.

Reading the data can also need environment variables in the trial pods (an S3-compatible endpoint
such as MinIO's, its keys from a Secret): :func:`with_trial_env` adds them to the trial template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from katib.experiments.errors import ExperimentBuildError, ExperimentError
from katib.experiments.trial_template import pod_specs

BINDING = re.compile(r"\$\{kwp\.([A-Za-z0-9_-]+)\}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def with_trial_env(
    experiment: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    secret_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of ``experiment`` whose trial containers also get ``env`` and ``secret_env``.

    ``secret_env`` maps a variable to ``"secret-name/key"`` (a Secret in the Experiment's namespace).
    The variables go to the container named ``trialTemplate.primaryContainerName`` in every pod of the
    inline ``trialSpec`` (a PyTorchJob's Master and Workers alike). A variable the template already
    sets to something else is an error, not overwritten.
    """
    entries = [{"name": k, "value": str(v)} for k, v in sorted((env or {}).items())]
    entries += [_secret_entry(k, v) for k, v in sorted((secret_env or {}).items())]
    result = _replace(experiment, {})
    if not entries:
        return result
    bad = sorted(e["name"] for e in entries if not ENV_NAME.fullmatch(e["name"]))
    if bad:
        raise ExperimentBuildError(f"environment variable names {bad} must match {ENV_NAME.pattern}")
    template = (result.get("spec") or {}).get("trialTemplate") or {}
    trial_spec, primary = template.get("trialSpec"), template.get("primaryContainerName")
    if not isinstance(trial_spec, Mapping):
        raise ExperimentBuildError(
            "cannot add trial environment variables: the trial template has no inline trialSpec "
            "(a configMap template must set them itself)"
        )
    containers = [
        c
        for _, pod in pod_specs(trial_spec)
        for c in pod.get("containers") or []
        if isinstance(c, dict) and c.get("name") == primary
    ]
    if not containers:
        raise ExperimentBuildError(
            f"cannot add trial environment variables: no pod of the {trial_spec.get('kind')} trial spec "
            f"has a container named {primary!r} (primaryContainerName)"
        )
    for container in containers:
        _add_env(container, entries)
    return result


def _secret_entry(name: str, ref: str) -> dict[str, Any]:
    secret, _, key = str(ref).partition("/")
    if not secret or not key:
        raise ExperimentBuildError(f"secret_env[{name!r}]={ref!r}: expected 'secret-name/key'")
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _add_env(container: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    current = container.get("env") or []
    container["env"] = current
    by_name = {e.get("name"): e for e in current if isinstance(e, Mapping)}
    for entry in entries:
        existing = by_name.get(entry["name"])
        if existing is None:
            current.append(dict(entry))
        elif existing != entry:
            raise ExperimentBuildError(
                f"container {container.get('name')!r} already sets {entry['name']} to {existing}; "
                f"refusing to replace it with {entry}"
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
