"""Launch a Katib Experiment on a cluster, wait for it, and read its trials: plain Kubernetes API calls.

The launcher is safe to restart: the Experiment's name is derived from the pipeline run and task, so a
restarted launcher asks for the same name, gets 409 AlreadyExists and re-attaches to the Experiment
it created before (after checking, through a hash of the spec kept in an annotation, that it is the
same Experiment and not a name collision). ``api`` is a ``kubernetes.client.CustomObjectsApi`` or
anything with the same methods (the tests use a fake).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

GROUP, VERSION = "kubeflow.org", "v1beta1"
EXPERIMENTS, TRIALS = "experiments", "trials"
SPEC_HASH = "kwp.dev/spec-sha256"
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
DELETE_POLICIES = ("never", "on_success", "always")
_RETRYABLE = {429, 500, 502, 503, 504}


class TuneError(RuntimeError):
    """The Experiment could not be created, failed, vanished, or collided with another one."""


class TuneTimeout(TuneError):
    """The Experiment did not finish within the allowed time."""


@dataclass(frozen=True)
class Completion:
    """How an Experiment ended: ``Succeeded`` or ``Failed``, with Katib's reason and message."""

    status: str
    reason: str
    message: str


def experiment_name(base: str, run_id: str, task_id: str, max_length: int = 40) -> str:
    """A DNS-1123 name, stable for one pipeline task: ``<base>-<sha256(run/task)[:10]>``.

    Katib names trials ``<experiment>-<8 chars>`` and pods add more, so the name is kept short.
    """
    digest = hashlib.sha256(f"{run_id}/{task_id}".encode()).hexdigest()[:10]
    stem = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-") or "kwp-tune"
    stem = stem[: max_length - len(digest) - 1].rstrip("-")
    if not stem[0].isalpha():
        stem = "x" + stem[: max_length - len(digest) - 2]
    return f"{stem}-{digest}"


def spec_hash(experiment: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(experiment.get("spec", {}), sort_keys=True).encode()).hexdigest()


def launch(api: Any, experiment: Mapping[str, Any], name: str, namespace: str) -> tuple[dict[str, Any], bool]:
    """Create the Experiment, or re-attach to the one with this name; returns (object, created)."""
    body = copy.deepcopy(dict(experiment))
    metadata = body.setdefault("metadata", {})
    metadata.update(name=name, namespace=namespace)
    metadata.setdefault("annotations", {})[SPEC_HASH] = spec_hash(body)
    try:
        return api.create_namespaced_custom_object(GROUP, VERSION, namespace, EXPERIMENTS, body), True
    except Exception as err:
        if _status(err) != 409:
            raise TuneError(f"creating Experiment {namespace}/{name} failed: {_reason(err)}") from err
    existing = api.get_namespaced_custom_object(GROUP, VERSION, namespace, EXPERIMENTS, name)
    theirs = ((existing.get("metadata") or {}).get("annotations") or {}).get(SPEC_HASH)
    if theirs != metadata["annotations"][SPEC_HASH]:
        raise TuneError(
            f"an Experiment {namespace}/{name} already exists with a different spec (hash {theirs}); "
            "it was not created by this task: delete it or pass another run_id/task_id"
        )
    return existing, False


def completion(experiment: Mapping[str, Any]) -> Completion | None:
    """``Succeeded``/``Failed`` from the status conditions, or None while the Experiment runs."""
    for condition in reversed((experiment.get("status") or {}).get("conditions") or []):
        if condition.get("type") in ("Succeeded", "Failed") and condition.get("status") == "True":
            return Completion(condition["type"], condition.get("reason", ""), condition.get("message", ""))
    return None


def wait(
    api: Any,
    name: str,
    namespace: str,
    timeout_s: float,
    *,
    poll_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = print,
) -> tuple[dict[str, Any], Completion]:
    """Poll the Experiment until it completes; raises :class:`TuneTimeout` after ``timeout_s``."""
    deadline = clock() + timeout_s
    last = ""
    while True:
        experiment = _get(api, name, namespace)
        if experiment is not None:
            done = completion(experiment)
            if done is not None:
                return experiment, done
            line = _progress_line(experiment)
            if line != last:
                progress(f"[{name}] {line}")
                last = line
        if clock() >= deadline:
            raise TuneTimeout(f"Experiment {namespace}/{name} did not finish within {timeout_s:g} s ({last})")
        sleep(poll_s)


def list_trials(api: Any, name: str, namespace: str) -> list[dict[str, Any]]:
    """The Experiment's Trial objects, sorted by name."""
    found = api.list_namespaced_custom_object(
        GROUP, VERSION, namespace, TRIALS, label_selector=f"{EXPERIMENT_LABEL}={name}"
    )
    return sorted(found.get("items") or [], key=lambda t: (t.get("metadata") or {}).get("name", ""))


def delete(api: Any, name: str, namespace: str) -> None:
    """Delete the Experiment (Katib deletes its trials with it); a missing one is fine."""
    try:
        api.delete_namespaced_custom_object(GROUP, VERSION, namespace, EXPERIMENTS, name)
    except Exception as err:
        if _status(err) != 404:
            raise TuneError(f"deleting Experiment {namespace}/{name} failed: {_reason(err)}") from err


def should_delete(policy: str, succeeded: bool) -> bool:
    if policy not in DELETE_POLICIES:
        raise ValueError(f"delete_after {policy!r} is not one of {', '.join(DELETE_POLICIES)}")
    return policy == "always" or (policy == "on_success" and succeeded)


def _get(api: Any, name: str, namespace: str) -> dict[str, Any] | None:
    """The Experiment, or None after a transient API error; a deleted Experiment is an error."""
    try:
        return api.get_namespaced_custom_object(GROUP, VERSION, namespace, EXPERIMENTS, name)
    except Exception as err:
        if _status(err) in _RETRYABLE or isinstance(err, ConnectionError | TimeoutError):
            return None
        if _status(err) == 404:
            raise TuneError(f"Experiment {namespace}/{name} disappeared while waiting for it") from err
        raise


def _progress_line(experiment: Mapping[str, Any]) -> str:
    status = experiment.get("status") or {}
    counts = ", ".join(
        f"{status[key]} {label}"
        for key, label in (
            ("trialsRunning", "running"),
            ("trialsSucceeded", "succeeded"),
            ("trialsFailed", "failed"),
        )
        if status.get(key)
    )
    best = (status.get("currentOptimalTrial") or {}).get("observation") or {}
    metrics = ", ".join(f"{m.get('name')}={m.get('latest')}" for m in best.get("metrics") or [])
    return f"trials: {counts or 'none yet'}" + (f"; best so far: {metrics}" if metrics else "")


def _status(err: Exception) -> int | None:
    return getattr(err, "status", None)


def _reason(err: Exception) -> str:
    body = getattr(err, "body", None)
    return f"HTTP {_status(err)}: {body or err}" if _status(err) else str(err)
