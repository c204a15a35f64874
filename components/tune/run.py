"""The ``tune`` step without KFP: run an Experiment on Katib (``kubernetes``) or on this machine (``local``).

Both modes take the same Experiment (YAML or JSON text), bind ``${kwp.*}`` data placeholders to the
step's inputs, and return the same :class:`~katib.local.ExperimentResult`, so the component's
outputs do not depend on where the trials ran.

On a cluster the trials get the artifacts' URIs, translated by the train launcher's rule
(:func:`~components.train.launchers.uris.pod_uri`): ``gs://`` and ``s3://`` as they are, MinIO's
``minio://bucket/key`` as ``s3://bucket/key``, which the trial pods reach through ``AWS_ENDPOINT_URL``
(``s3_endpoint``) with the keys from ``secret_env``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.train.launchers.errors import LauncherConfigError
from components.train.launchers.uris import check_endpoint, pod_uri
from components.tune import MODES, cluster
from katib.experiments import bind, load_experiment, require_bound, validate_experiment
from katib.experiments.bindings import with_trial_env
from katib.local import ExperimentResult, outcome_from_katib_trial, run_experiment
from katib.metrics import metric_strategies

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class TuneRequest:
    """Everything the step needs; ``data`` maps ``${kwp.<name>}`` to a path or URI.

    ``s3_endpoint`` (``http(s)://host:port``) becomes ``AWS_ENDPOINT_URL`` in the trial containers and
    ``secret_env`` (``{"VAR": "secret-name/key"}``) environment variables from Secrets there, so trials
    read ``s3://`` data on MinIO or another S3-compatible store the way the trainer does.
    """

    experiment_spec: str | Mapping[str, Any]
    mode: str = "kubernetes"
    data: Mapping[str, str] = field(default_factory=dict)
    namespace: str = ""
    timeout_s: float = 86400
    delete_after: str = "on_success"
    run_id: str = ""
    task_id: str = ""
    poll_s: float = 30.0
    max_parallel: int | None = None
    workdir: str | Path = ".kwp/tune"
    s3_endpoint: str = ""
    secret_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        cluster.should_delete(self.delete_after, True)  # checks the policy name
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.s3_endpoint:
            check_endpoint(self.s3_endpoint)

    def trial_env(self) -> dict[str, str]:
        """Plain variables every trial container gets (the S3 endpoint, when there is one)."""
        return {"AWS_ENDPOINT_URL": self.s3_endpoint} if self.s3_endpoint else {}


def data_bindings(
    mode: str, artifacts: Mapping[str, Any], extra_data: str = "", s3_endpoint: str = ""
) -> dict[str, str]:
    """``${kwp.<name>}`` values: each input artifact's URI as the trial pods can open it on a cluster,
    its local path in ``local`` mode; ``extra_data`` is a JSON object of more name -> URI pairs
    (on a cluster a ``minio://`` one is translated like the artifacts, the rest pass as given)."""
    extra = json_mapping("extra_data", extra_data, "name -> URI")
    if mode != "kubernetes":
        return {k: a.path for k, a in artifacts.items() if a is not None} | extra
    data = {k: _trial_uri(k, a.uri, s3_endpoint) for k, a in artifacts.items() if a is not None}
    for name, uri in extra.items():
        data[name] = _trial_uri(name, uri, s3_endpoint) if uri.startswith("minio://") else uri
    return data


def json_mapping(parameter: str, text: str, meaning: str) -> dict[str, str]:
    """A JSON object of strings from a component parameter, or ValueError naming the parameter."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as err:
        raise ValueError(f"{parameter} must be a JSON object of {meaning}, got {text!r}: {err}") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{parameter} must be a JSON object of {meaning} strings, got {text!r}")
    return value


def _trial_uri(name: str, uri: str, s3_endpoint: str) -> str:
    try:
        return pod_uri(uri, s3_endpoint or None)
    except LauncherConfigError as err:
        raise LauncherConfigError(f"tune input {name!r}: {err}") from None


def run_tune(
    request: TuneRequest,
    *,
    api: Any = None,
    progress: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExperimentResult:
    """Run the Experiment as requested and return its result (also when it failed).

    ``api`` defaults to a CustomObjectsApi from the pod's service account; ``clock``/``sleep`` pace
    the polling (tests pass a manual clock).
    """
    experiment = bind(load_experiment(request.experiment_spec), dict(request.data))
    require_bound(experiment)
    experiment = with_trial_env(experiment, request.trial_env(), request.secret_env)
    if request.mode == "local":
        return run_experiment(
            experiment, Path(request.workdir), max_parallel=request.max_parallel, overwrite=True, log=progress
        )
    validate_experiment(experiment)
    api = api if api is not None else default_api()
    return _on_cluster(experiment, request, api, progress, clock, sleep)


def _on_cluster(
    experiment: dict[str, Any],
    request: TuneRequest,
    api: Any,
    progress: Callable[[str], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> ExperimentResult:
    namespace = request.namespace or current_namespace()
    name = cluster.experiment_name(experiment["metadata"]["name"], request.run_id, request.task_id)
    _, created = cluster.launch(api, experiment, name, namespace)
    progress(f"{'created' if created else 're-attached to'} Experiment {namespace}/{name}")
    try:
        final, done = cluster.wait(
            api,
            name,
            namespace,
            request.timeout_s,
            poll_s=request.poll_s,
            clock=clock,
            sleep=sleep,
            progress=progress,
        )
    except cluster.TuneTimeout:
        if cluster.should_delete(request.delete_after, succeeded=False):
            cluster.delete(api, name, namespace)
        raise
    objective = experiment["spec"]["objective"]
    strategies = metric_strategies(objective)
    trials = [outcome_from_katib_trial(t, strategies) for t in cluster.list_trials(api, name, namespace)]
    optimal = (final.get("status") or {}).get("currentOptimalTrial") or {}
    result = ExperimentResult(
        name=name,
        status=done.status,
        reason=done.reason,
        message=done.message,
        objective_metric=objective["objectiveMetricName"],
        minimize=objective["type"] == "minimize",
        trials=trials,
        strategy=strategies[objective["objectiveMetricName"]],
        goal=objective.get("goal"),
        reported_best=optimal.get("bestTrialName"),
    )
    if cluster.should_delete(request.delete_after, succeeded=result.succeeded):
        cluster.delete(api, name, namespace)
        progress(f"deleted Experiment {namespace}/{name} (delete_after={request.delete_after})")
    return result


def default_api() -> Any:
    """A CustomObjectsApi from the in-cluster service account, else from the local kubeconfig."""
    from kubernetes import client

    from components.train.launchers.cluster import load_kubernetes_config

    load_kubernetes_config()
    return client.CustomObjectsApi()


def current_namespace() -> str:
    """The pod's namespace (a Kubeflow profile's namespace in multi-user installs), else ``kubeflow``."""
    if os.environ.get("KWP_NAMESPACE"):
        return os.environ["KWP_NAMESPACE"]
    try:
        return NAMESPACE_FILE.read_text().strip() or "kubeflow"
    except OSError:
        return "kubeflow"
