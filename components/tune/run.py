"""The ``tune`` step without KFP: run an Experiment on Katib (``kubernetes``) or on this machine (``local``).

Both modes take the same Experiment (YAML or JSON text), bind ``${kwp.*}`` data placeholders to the
step's inputs, and return the same :class:`~katib.local.ExperimentResult`, so the component's
outputs do not depend on where the trials ran.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.tune import cluster
from katib.experiments import bind, load_experiment, require_bound, validate_experiment
from katib.local import ExperimentResult, outcome_from_katib_trial, run_experiment
from katib.metrics import metric_strategies

MODES = ("kubernetes", "local")
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class TuneRequest:
    """Everything the step needs; ``data`` maps ``${kwp.<name>}`` to a path or URI."""

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

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        cluster.should_delete(self.delete_after, True)  # checks the policy name
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


def data_bindings(mode: str, artifacts: Mapping[str, Any], extra_data: str = "") -> dict[str, str]:
    """``${kwp.<name>}`` values: each input artifact's URI on a cluster (trial pods read it there),
    its local path in ``local`` mode; ``extra_data`` is a JSON object of more name -> URI pairs."""
    data = {k: (a.uri if mode == "kubernetes" else a.path) for k, a in artifacts.items() if a is not None}
    try:
        extra = json.loads(extra_data or "{}")
    except json.JSONDecodeError as err:
        raise ValueError(
            f"extra_data must be a JSON object of name -> URI, got {extra_data!r}: {err}"
        ) from None
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise ValueError(f"extra_data must be a JSON object of name -> URI strings, got {extra_data!r}")
    return data | extra


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
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


def current_namespace() -> str:
    """The pod's namespace (a Kubeflow profile's namespace in multi-user installs), else ``kubeflow``."""
    if os.environ.get("KWP_NAMESPACE"):
        return os.environ["KWP_NAMESPACE"]
    try:
        return NAMESPACE_FILE.read_text().strip() or "kubeflow"
    except OSError:
        return "kubeflow"
