"""Katib's gRPC messages to and from the Hyperband core's plain types.

Katib sends enums as numbers and every value as a string; the search space goes through
:meth:`katib.space.SearchSpace.from_katib`, so it is read exactly like an Experiment YAML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib.hyperband import Assignment, HyperbandSettings, TrialRecord
from katib.space import SearchSpace

_PARAMETER_TYPES = {
    pb.DOUBLE: "double",
    pb.INT: "int",
    pb.DISCRETE: "discrete",
    pb.CATEGORICAL: "categorical",
}
_DISTRIBUTIONS = {
    pb.DISTRIBUTION_UNSPECIFIED: "",
    pb.UNIFORM: "uniform",
    pb.LOG_UNIFORM: "logUniform",
    pb.NORMAL: "normal",
    pb.LOG_NORMAL: "logNormal",
}
_CONDITIONS = {
    pb.TrialStatus.CREATED: "running",
    pb.TrialStatus.RUNNING: "running",
    pb.TrialStatus.UNKNOWN: "running",
    pb.TrialStatus.SUCCEEDED: "succeeded",
    pb.TrialStatus.FAILED: "failed",
    pb.TrialStatus.METRICSUNAVAILABLE: "failed",
    pb.TrialStatus.EARLYSTOPPED: "early_stopped",
    pb.TrialStatus.KILLED: "killed",
}


class RequestError(ValueError):
    """A request the service cannot act on (answered with INVALID_ARGUMENT)."""


def search_space(experiment: Any) -> SearchSpace:
    """The experiment's parameters as a typed :class:`SearchSpace`."""
    specs = []
    for spec in experiment.spec.parameter_specs.parameters:
        if spec.parameter_type not in _PARAMETER_TYPES:
            raise RequestError(
                f"parameter {spec.name!r} has no parameter type (double, int, discrete or categorical)"
            )
        space = spec.feasible_space
        specs.append(
            {
                "name": spec.name,
                "parameterType": _PARAMETER_TYPES[spec.parameter_type],
                "feasibleSpace": {
                    "min": space.min,
                    "max": space.max,
                    "step": space.step,
                    "list": list(space.list),
                    "distribution": _DISTRIBUTIONS.get(space.distribution, str(space.distribution)),
                },
            }
        )
    return SearchSpace.from_katib(specs)


def settings(experiment: Any, space: SearchSpace) -> HyperbandSettings:
    pairs = [(s.name, s.value) for s in experiment.spec.algorithm.algorithm_settings]
    return HyperbandSettings.from_katib(pairs, space)


def minimize(experiment: Any) -> bool:
    objective = experiment.spec.objective
    if objective.type not in (pb.MINIMIZE, pb.MAXIMIZE):
        raise RequestError("the objective type must be minimize or maximize")
    return objective.type == pb.MINIMIZE


def objective_name(experiment: Any) -> str:
    name = experiment.spec.objective.objective_metric_name
    if not name:
        raise RequestError("the objective has no objectiveMetricName")
    return name


def trial_records(trials: Sequence[Any], metric: str) -> list[TrialRecord]:
    """Katib trials as the core's records; the objective is the named metric's value when numeric."""
    return [
        TrialRecord(
            name=trial.name,
            parameters={a.name: a.value for a in trial.spec.parameter_assignments.assignments},
            labels=dict(trial.spec.labels),
            status=_CONDITIONS.get(trial.status.condition, "running"),
            objective=_metric(trial, metric),
        )
        for trial in trials
    ]


def reply(assignments: Sequence[Assignment]) -> Any:
    """A ``GetSuggestionsReply`` with one ParameterAssignments (values and labels) per assignment."""
    return pb.GetSuggestionsReply(
        parameter_assignments=[
            pb.GetSuggestionsReply.ParameterAssignments(
                assignments=[pb.ParameterAssignment(name=n, value=v) for n, v in a.parameters.items()],
                labels=a.labels,
            )
            for a in assignments
        ]
    )


def _metric(trial: Any, name: str) -> float | None:
    for metric in trial.status.observation.metrics:
        if metric.name == name:
            try:
                value = float(metric.value)
            except ValueError:
                return None  # Katib reports "unavailable" when the collector found nothing
            return value if math.isfinite(value) else None
    return None
