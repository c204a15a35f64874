"""Build, serialise and read ``kubeflow.org/v1beta1`` Experiments.

:func:`build_experiment` assembles the Katib API models and checks the result with the same rules as
Katib's admission webhook (:mod:`katib.experiments.validation`), so a mistake surfaces here rather
than as a rejected ``kubectl apply``. :func:`load_experiment` reads what a user wrote (a path, YAML or
JSON text, or a dictionary) into the plain camelCase dictionary the validator and the runner use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubeflow_katib_api.models import (
    IoK8sApimachineryPkgApisMetaV1ObjectMeta,
    V1beta1CollectorSpec,
    V1beta1Experiment,
    V1beta1ExperimentSpec,
    V1beta1FilterSpec,
    V1beta1MetricsCollectorSpec,
    V1beta1NasConfig,
    V1beta1ParameterSpec,
    V1beta1SourceSpec,
)

from katib.experiments.errors import ExperimentBuildError, ExperimentLoadError
from katib.experiments.model import Algorithm, Objective, TrialTemplate
from katib.experiments.validation import validate_experiment
from katib.space import SearchSpace

API_VERSION = "kubeflow.org/v1beta1"
KIND = "Experiment"


def build_experiment(
    name: str,
    *,
    objective: Objective,
    algorithm: Algorithm,
    trial_template: TrialTemplate,
    space: SearchSpace | None = None,
    nas_config: Mapping[str, Any] | None = None,
    parallel_trial_count: int = 3,
    max_trial_count: int = 12,
    max_failed_trial_count: int = 3,
    namespace: str | None = None,
    metrics_format: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> V1beta1Experiment:
    """An Experiment with the StdOut metrics collector, validated as Katib's webhook would."""
    if (space is None) == (nas_config is None):
        raise ExperimentBuildError("give exactly one of space (hyperparameter search) or nas_config (DARTS)")
    source = (
        V1beta1SourceSpec(filter=V1beta1FilterSpec(metrics_format=list(metrics_format)))
        if metrics_format
        else None
    )
    spec = V1beta1ExperimentSpec(
        objective=objective.to_model(),
        algorithm=algorithm.to_model(),
        parameters=[V1beta1ParameterSpec.from_dict(p) for p in space.to_katib()] if space else None,
        nas_config=V1beta1NasConfig.from_dict(dict(nas_config)) if nas_config else None,
        parallel_trial_count=parallel_trial_count,
        max_trial_count=max_trial_count,
        max_failed_trial_count=max_failed_trial_count,
        metrics_collector_spec=V1beta1MetricsCollectorSpec(
            collector=V1beta1CollectorSpec(kind="StdOut"), source=source
        ),
        trial_template=trial_template.to_model(),
    )
    metadata = IoK8sApimachineryPkgApisMetaV1ObjectMeta(
        name=name, namespace=namespace, labels=dict(labels) if labels else None,
        annotations=dict(annotations) if annotations else None,
    )  # fmt: skip
    experiment = V1beta1Experiment(api_version=API_VERSION, kind=KIND, metadata=metadata, spec=spec)
    validate_experiment(experiment.to_dict())
    return experiment


def nas_config(num_layers: int, operations: Sequence[str]) -> dict[str, Any]:
    """Katib's ``nasConfig`` for DARTS from operation names such as ``separable_convolution_3x3``.

    Katib's DARTS suggestion rebuilds the names as ``<operationType>_<k>x<k>`` from a categorical
    ``filter_size`` parameter; ``skip_connection`` has no parameter.
    """
    if num_layers < 1 or not operations:
        raise ExperimentBuildError(
            f"DARTS needs num_layers >= 1 and operations, got {num_layers}, {list(operations)}"
        )
    sizes: dict[str, list[str]] = {}
    for op in operations:
        if op == "skip_connection":
            sizes.setdefault(op, [])
            continue
        base, _, kernel = op.rpartition("_")
        size = kernel.split("x")
        if not base or len(size) != 2 or size[0] != size[1] or not size[0].isdigit():
            raise ExperimentBuildError(f"operation {op!r} is not '<type>_<k>x<k>' or 'skip_connection'")
        sizes.setdefault(base, []).append(size[0])
    operations_spec = []
    for op_type, filter_sizes in sizes.items():
        entry: dict[str, Any] = {"operationType": op_type}
        if filter_sizes:
            entry["parameters"] = [
                {
                    "name": "filter_size",
                    "parameterType": "categorical",
                    "feasibleSpace": {"list": filter_sizes},
                }
            ]
        operations_spec.append(entry)
    return {"graphConfig": {"numLayers": num_layers}, "operations": operations_spec}


def experiment_to_dict(experiment: V1beta1Experiment | Mapping[str, Any]) -> dict[str, Any]:
    """The camelCase dictionary, keys in a stable, readable order (apiVersion, kind, metadata, spec)."""
    doc = experiment.to_dict() if isinstance(experiment, V1beta1Experiment) else dict(experiment)
    order = ["apiVersion", "kind", "metadata", "spec", "status"]
    return {key: doc[key] for key in order if key in doc} | {k: v for k, v in doc.items() if k not in order}


def experiment_to_yaml(experiment: V1beta1Experiment | Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        experiment_to_dict(experiment), sort_keys=False, default_flow_style=False, width=110
    )


def load_experiment(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """An Experiment dictionary from a file path, YAML/JSON text, a mapping or a V1beta1Experiment."""
    if isinstance(source, V1beta1Experiment):
        return experiment_to_dict(source)
    if isinstance(source, Mapping):
        return json.loads(json.dumps(source))  # a deep, plain copy
    text, origin = _read_text(source)
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise ExperimentLoadError(f"{origin} is not valid YAML: {err}") from None
    experiments = [d for d in documents if isinstance(d, dict) and d.get("kind") == KIND]
    if len(experiments) != 1:
        kinds = [d.get("kind") if isinstance(d, dict) else type(d).__name__ for d in documents]
        raise ExperimentLoadError(
            f"{origin} must hold exactly one document of kind Experiment; found {kinds}"
        )
    return experiments[0]


def _read_text(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and not source.lstrip().startswith("{")
    ):
        path = Path(source)
        if not path.is_file():
            raise ExperimentLoadError(f"experiment file {str(path)!r} does not exist")
        return path.read_text(), str(path)
    return source, "the experiment text"
