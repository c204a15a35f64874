"""Katib's admission-webhook rules for Experiments, checked before anything reaches a cluster.

The Experiment CRD carries no schema: Katib validates in a webhook (``validator.go``, v0.19) after a
defaulting webhook (``experiment_defaults.go``) has filled success/failure conditions for Jobs and
Kubeflow jobs and the StdOut collector. This module applies the same defaults to a copy and then the
same rules, plus the checks each algorithm's ``ValidateAlgorithmSettings`` makes, and reports every
problem at once with its field path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from katib.experiments.errors import ExperimentValidationError, Issue
from katib.experiments.settings import check_algorithm
from katib.metrics import OBJECTIVE_TYPES, STRATEGIES, MetricsFormatError, compile_filter
from katib.space import PARAMETER_TYPES, SearchSpace, SearchSpaceError

NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TRIAL_PARAMETER = re.compile(r"\$\{trialParameters\.(.+?)\}")
META_REFERENCE = re.compile(
    r"^\$\{trialSpec\.(Name|Namespace|Kind|APIVersion|Labels\[.+\]|Annotations\[.+\])\}$"
)
RESUME_POLICIES = ("", "Never", "LongRunning", "FromVolume")
COLLECTOR_KINDS = ("StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None", "Push")
DISTRIBUTIONS = ("", "uniform", "logUniform", "normal", "logNormal")
KUBEFLOW_KINDS = ("TFJob", "PyTorchJob", "XGBoostJob", "MPIJob")


def validate_experiment(experiment: Mapping[str, Any]) -> None:
    """Raise :class:`ExperimentValidationError` listing every rule the Experiment breaks."""
    issues = experiment_issues(experiment)
    if issues:
        name = (experiment.get("metadata") or {}).get("name", "")
        raise ExperimentValidationError(str(name), issues)


def experiment_issues(experiment: Mapping[str, Any]) -> list[Issue]:
    """Every problem, in the order Katib's webhook checks them (empty when valid)."""
    if not isinstance(experiment, Mapping) or not isinstance(experiment.get("spec"), Mapping):
        return [Issue("spec", "must be specified (the Experiment has no spec mapping)")]
    issues: list[Issue] = []
    name = (experiment.get("metadata") or {}).get("name", "")
    if not isinstance(name, str) or not NAME.match(name):
        issues.append(
            Issue("metadata.name", f"{name!r} must be lower-case alphanumerics or '-', start with a letter")
        )
    spec = apply_defaults(experiment["spec"])
    issues += _counts(spec)
    objective_issues = _objective(spec.get("objective"))
    if objective_issues:
        return issues + objective_issues
    issues += _algorithm(spec)
    if spec.get("resumePolicy", "") not in RESUME_POLICIES:
        issues.append(
            Issue("spec.resumePolicy", f"{spec['resumePolicy']!r} is not one of {RESUME_POLICIES[1:]}")
        )
    issues += _trial_template(spec)
    issues += _parameters(spec)
    issues += _metrics_collector(spec)
    return issues


def apply_defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with Katib's defaults: parallelTrialCount 3, StdOut, job conditions."""
    spec = dict(spec)
    spec.setdefault("parallelTrialCount", 3)
    collector = dict(spec.get("metricsCollectorSpec") or {})
    collector.setdefault("collector", {"kind": "StdOut"})
    spec["metricsCollectorSpec"] = collector
    template = spec.get("trialTemplate")
    if isinstance(template, Mapping) and isinstance(template.get("trialSpec"), Mapping):
        template = dict(template)
        kind = template["trialSpec"].get("kind")
        if kind == "Job":
            template.setdefault(
                "successCondition", 'status.conditions.#(type=="Complete")#|#(status=="True")#'
            )
            template.setdefault("failureCondition", 'status.conditions.#(type=="Failed")#|#(status=="True")#')
        elif kind in KUBEFLOW_KINDS:
            template.setdefault(
                "successCondition", 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
            )
            template.setdefault("failureCondition", 'status.conditions.#(type=="Failed")#|#(status=="True")#')
            template.setdefault("primaryPodLabels", {"training.kubeflow.org/job-role": "master"})
        spec["trialTemplate"] = template
    return spec


def _counts(spec: Mapping[str, Any]) -> list[Issue]:
    issues = []
    counts = {k: spec.get(k) for k in ("maxFailedTrialCount", "maxTrialCount", "parallelTrialCount")}
    for key, value in counts.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            issues.append(Issue(f"spec.{key}", f"{value!r} must be an integer"))
    if issues:
        return issues
    failed, total, parallel = counts.values()
    if failed is not None and failed < 0:
        issues.append(Issue("spec.maxFailedTrialCount", f"{failed} should not be less than 0"))
    if total is not None and total <= 0:
        issues.append(Issue("spec.maxTrialCount", f"{total} must be greater than 0"))
    if parallel is not None and parallel <= 0:
        issues.append(Issue("spec.parallelTrialCount", f"{parallel} must be greater than 0"))
    if failed is not None and total is not None and failed > total:
        issues.append(
            Issue("spec.maxFailedTrialCount", f"{failed} should be <= spec.maxTrialCount ({total})")
        )
    if parallel is not None and total is not None and parallel > total:
        issues.append(
            Issue("spec.parallelTrialCount", f"{parallel} should be <= spec.maxTrialCount ({total})")
        )
    return issues


def _objective(objective: Any) -> list[Issue]:
    if not isinstance(objective, Mapping):
        return [Issue("spec.objective", "must be specified")]
    issues = []
    if objective.get("type") not in OBJECTIVE_TYPES:
        issues.append(Issue("spec.objective.type", f"{objective.get('type')!r} must be minimize or maximize"))
    metric = objective.get("objectiveMetricName")
    if not metric:
        issues.append(Issue("spec.objective.objectiveMetricName", "must be specified"))
    if metric and metric in (objective.get("additionalMetricNames") or []):
        issues.append(
            Issue("spec.objective.additionalMetricNames", f"should not contain the objective {metric!r}")
        )
    goal = objective.get("goal")
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, int | float)):
        issues.append(Issue("spec.objective.goal", f"{goal!r} must be a number"))
    for i, item in enumerate(objective.get("metricStrategies") or []):
        if (item or {}).get("value") not in STRATEGIES:
            issues.append(
                Issue(f"spec.objective.metricStrategies[{i}].value", f"must be one of {STRATEGIES}")
            )
    return issues


def _algorithm(spec: Mapping[str, Any]) -> list[Issue]:
    algorithm = spec.get("algorithm")
    if not isinstance(algorithm, Mapping):
        return [Issue("spec.algorithm", "must be specified")]
    return [Issue(path, message) for path, message in check_algorithm(algorithm, spec)]


def _parameters(spec: Mapping[str, Any]) -> list[Issue]:
    parameters = spec.get("parameters") or []
    nas = spec.get("nasConfig")
    if not parameters and not nas:
        return [Issue("spec", "spec.parameters or spec.nasConfig must be specified")]
    if parameters and nas:
        return [Issue("spec", "only one of spec.parameters and spec.nasConfig can be specified")]
    issues = []
    for i, param in enumerate(parameters):
        issues += _parameter(f"spec.parameters[{i}]", param)
    if parameters and not issues:
        try:
            SearchSpace.from_katib(parameters)
        except SearchSpaceError as err:
            issues.append(Issue("spec.parameters", str(err)))
    return issues


def _parameter(path: str, param: Any) -> list[Issue]:
    if not isinstance(param, Mapping):
        return [Issue(path, f"must be a mapping, got {param!r}")]
    ptype = param.get("parameterType")
    space = param.get("feasibleSpace") or {}
    issues = []
    if ptype not in PARAMETER_TYPES:
        issues.append(Issue(f"{path}.parameterType", f"{ptype!r} is not supported; valid: {PARAMETER_TYPES}"))
    if space.get("distribution", "") not in DISTRIBUTIONS:
        issues.append(
            Issue(f"{path}.feasibleSpace.distribution", f"{space['distribution']!r} is not supported")
        )
    if not space:
        issues.append(Issue(f"{path}.feasibleSpace", "feasibleSpace must be specified"))
    elif ptype in ("double", "int"):
        if space.get("list"):
            issues.append(Issue(f"{path}.feasibleSpace.list", f"is not supported for parameterType {ptype}"))
        if space.get("min") in (None, "") or space.get("max") in (None, ""):
            issues.append(Issue(f"{path}.feasibleSpace.max", f"min and max must be specified for {ptype}"))
    elif ptype in ("categorical", "discrete") and any(
        space.get(k) not in (None, "") for k in ("min", "max", "step")
    ):
        issues.append(Issue(f"{path}.feasibleSpace", f"min, max and step are not supported for {ptype}"))
    return issues


def _trial_template(spec: Mapping[str, Any]) -> list[Issue]:
    from katib.experiments.trial_template import template_issues

    return template_issues(spec)


def _metrics_collector(spec: Mapping[str, Any]) -> list[Issue]:
    mc = spec.get("metricsCollectorSpec") or {}
    kind = (mc.get("collector") or {}).get("kind")
    issues = []
    if kind not in COLLECTOR_KINDS:
        issues.append(
            Issue("spec.metricsCollectorSpec.collector.kind", f"{kind!r} is not one of {COLLECTOR_KINDS}")
        )
    filters = ((mc.get("source") or {}).get("filter") or {}).get("metricsFormat") or []
    for i, pattern in enumerate(filters):
        try:
            compile_filter(pattern)
        except MetricsFormatError as err:
            issues.append(Issue(f"spec.metricsCollectorSpec.source.filter.metricsFormat[{i}]", str(err)))
    return issues
