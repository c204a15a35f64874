"""An Experiment prepared for local execution: validated, data bound, and read into plain settings.

Everything that can be wrong with an Experiment is reported here, before the first trial starts: the
webhook rules, unbound ``${kwp.*}`` data, a metrics collector or trial source we cannot run locally,
an algorithm with no local implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from katib.algorithms import AlgorithmError, SearchAlgorithm, make_algorithm
from katib.experiments import ExperimentError, bind, load_experiment, require_bound, validate_experiment
from katib.experiments.settings import settings_of
from katib.experiments.trial_template import primary_container
from katib.metrics import MetricsCollector, metric_strategies
from katib.space import SearchSpace

OPEN_ENDED = ("random", "tpe", "kwp-hyperband", "hyperband")


class LocalRunError(ExperimentError):
    """An Experiment that is valid for Katib but cannot run on this machine, with the reason."""


@dataclass(frozen=True)
class LocalExperiment:
    """What the runner needs from an Experiment document."""

    document: dict[str, Any]
    name: str
    space: SearchSpace | None
    algorithm_name: str
    algorithm: SearchAlgorithm
    objective_metric: str
    minimize: bool
    goal: float | None
    strategies: dict[str, str]
    collector: MetricsCollector
    parallel: int
    max_trials: int | None
    max_failed: int | None

    @property
    def spec(self) -> dict[str, Any]:
        return self.document["spec"]

    @property
    def trial_template(self) -> dict[str, Any]:
        return self.spec["trialTemplate"]

    @property
    def metric_names(self) -> list[str]:
        return list(self.collector.metric_names)


def prepare(source: str | Path | Mapping[str, Any], data: Mapping[str, str] | None = None) -> LocalExperiment:
    """Load, bind ``data`` into ``${kwp.*}``, validate, and check that it can run locally."""
    document = load_experiment(source)
    if data:
        document = bind(document, {k: _absolute(v) for k, v in data.items()})
    validate_experiment(document)
    require_bound(document)
    spec = document["spec"]
    objective = spec["objective"]
    _check_local(spec)
    space = SearchSpace.from_katib(spec["parameters"]) if spec.get("parameters") else None
    name = spec["algorithm"]["algorithmName"]
    max_trials = spec.get("maxTrialCount")
    if max_trials is None and name in OPEN_ENDED:
        raise LocalRunError(f"algorithm {name} never runs out of suggestions: set spec.maxTrialCount")
    parallel = spec.get("parallelTrialCount", 3)
    startup = max(parallel, min(10, (max_trials or 20) // 2))
    try:
        algorithm = make_algorithm(
            name,
            settings_of(spec["algorithm"]),
            space,
            nas_config=spec.get("nasConfig"),
            n_startup_trials=startup,
        )
    except AlgorithmError as err:
        raise LocalRunError(str(err)) from None
    return LocalExperiment(
        document=document,
        name=document["metadata"]["name"],
        space=space,
        algorithm_name=name,
        algorithm=algorithm,
        objective_metric=objective["objectiveMetricName"],
        minimize=objective["type"] == "minimize",
        goal=objective.get("goal"),
        strategies=metric_strategies(objective),
        collector=MetricsCollector.for_experiment(document),
        parallel=parallel,
        max_trials=max_trials,
        max_failed=spec.get("maxFailedTrialCount"),
    )


def _check_local(spec: Mapping[str, Any]) -> None:
    kind = ((spec.get("metricsCollectorSpec") or {}).get("collector") or {}).get("kind", "StdOut")
    if kind != "StdOut":
        raise LocalRunError(
            f"metrics collector {kind!r} cannot run locally; the local runner reads StdOut only"
        )
    template = spec["trialTemplate"]
    if template.get("trialSpec") is None:
        raise LocalRunError(
            "trialTemplate.configMap cannot be read locally; inline the template as trialSpec"
        )
    trial_spec = template["trialSpec"]
    container = primary_container(trial_spec, template["primaryContainerName"])
    if container is None:
        raise LocalRunError(
            f"no container {template['primaryContainerName']!r} in the primary pod of the "
            f"{trial_spec.get('kind')} template; the local runner supports batch/v1 Job and Kubeflow jobs "
            "(PyTorchJob Master)"
        )
    if not container.get("command") and not container.get("args"):
        raise LocalRunError(
            f"container {container.get('name')!r} has no command: the image's entrypoint is unknown locally"
        )


def _absolute(value: str) -> str:
    """Existing relative paths become absolute, since each trial runs in its own directory."""
    path = Path(value)
    return str(path.resolve()) if not path.is_absolute() and path.exists() else value
