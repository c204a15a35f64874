"""The pieces of an Experiment as small typed values: objective, algorithm, trial template.

Each converts to the Katib API model of the same name (``kubeflow_katib_api``), so what we build is
exactly what Katib's SDK would send. Algorithm settings are strings, as Katib stores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeflow_katib_api.models import (
    V1beta1AlgorithmSetting,
    V1beta1AlgorithmSpec,
    V1beta1MetricStrategy,
    V1beta1ObjectiveSpec,
    V1beta1TrialParameterSpec,
    V1beta1TrialTemplate,
)

from katib.experiments.errors import ExperimentBuildError
from katib.metrics import OBJECTIVE_TYPES, STRATEGIES

HYPERBAND_ALGORITHM = "kwp-hyperband"
DARTS_DEFAULTS: dict[str, str] = {
    "num_epochs": "50", "w_lr": "0.025", "w_lr_min": "0.001", "w_momentum": "0.9", "w_weight_decay": "3e-4",
    "w_grad_clip": "5.0", "alpha_lr": "3e-4", "alpha_weight_decay": "1e-3", "batch_size": "128",
    "num_workers": "4", "init_channels": "16", "print_step": "50", "num_nodes": "4", "stem_multiplier": "3",
}  # fmt: skip


@dataclass(frozen=True)
class Objective:
    """What to optimise: one metric, its direction, an optional goal and metrics to record alongside."""

    metric: str
    type: str = "minimize"
    goal: float | None = None
    additional_metrics: tuple[str, ...] = ()
    strategies: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.metric:
            raise ExperimentBuildError("objective metric name is empty; name the metric the trial prints")
        if self.type not in OBJECTIVE_TYPES:
            raise ExperimentBuildError(
                f"objective type {self.type!r} is not one of {', '.join(OBJECTIVE_TYPES)}"
            )
        if self.metric in self.additional_metrics:
            raise ExperimentBuildError(
                f"additional metrics {list(self.additional_metrics)} repeat the objective"
            )
        for name, strategy in self.strategies.items():
            if strategy not in STRATEGIES:
                raise ExperimentBuildError(
                    f"strategy {strategy!r} for {name!r} is not one of {', '.join(STRATEGIES)}"
                )

    def to_model(self) -> V1beta1ObjectiveSpec:
        strategies = [V1beta1MetricStrategy(name=n, value=v) for n, v in self.strategies.items()]
        return V1beta1ObjectiveSpec(
            type=self.type,
            objective_metric_name=self.metric,
            goal=self.goal,
            additional_metric_names=list(self.additional_metrics) or None,
            metric_strategies=strategies or None,
        )


@dataclass(frozen=True)
class Algorithm:
    """A Katib ``algorithmName`` with its settings; use the constructors below for the common ones."""

    name: str
    settings: tuple[tuple[str, str], ...] = ()

    def to_model(self) -> V1beta1AlgorithmSpec:
        settings = [V1beta1AlgorithmSetting(name=n, value=v) for n, v in self.settings]
        return V1beta1AlgorithmSpec(algorithm_name=self.name, algorithm_settings=settings or None)

    @classmethod
    def hyperband(cls, resource: str, max_resource: float, eta: float = 3, **extra: object) -> Algorithm:
        """Our Hyperband service ``kwp-hyperband``: ``resource`` is the budget parameter, R = max_resource."""
        pairs = [("resource_name", resource), ("r_l", _text(max_resource)), ("eta", _text(eta))]
        return cls(HYPERBAND_ALGORITHM, tuple(pairs + _pairs(extra)))

    @classmethod
    def darts(cls, **settings: object) -> Algorithm:
        """Katib's DARTS with the given settings (the rest keep Katib's defaults, see ``DARTS_DEFAULTS``)."""
        valid = [*DARTS_DEFAULTS, "unrolled"]  # unrolled: ours, passed through by Katib's service
        unknown = sorted(set(settings) - set(valid))
        if unknown:
            raise ExperimentBuildError(f"unknown DARTS settings {unknown}; valid: {', '.join(valid)}")
        return cls("darts", tuple(_pairs(settings)))

    @classmethod
    def grid(cls) -> Algorithm:
        return cls("grid")

    @classmethod
    def random(cls, seed: int | None = None) -> Algorithm:
        return cls("random", (("random_state", str(seed)),) if seed is not None else ())

    @classmethod
    def tpe(cls, seed: int | None = None, **settings: object) -> Algorithm:
        """Katib's ``tpe`` settings: gamma, prior_weight, n_EI_candidates; ``seed`` is random_state."""
        pairs = _pairs(settings) + ([("random_state", str(seed))] if seed is not None else [])
        return cls("tpe", tuple(pairs))


@dataclass(frozen=True)
class TrialParameter:
    """``${trialParameters.<name>}`` in the template takes the value of search parameter ``reference``."""

    name: str
    reference: str
    description: str = ""

    def to_model(self) -> V1beta1TrialParameterSpec:
        return V1beta1TrialParameterSpec(
            name=self.name, reference=self.reference, description=self.description or None
        )


@dataclass(frozen=True)
class TrialTemplate:
    """A trial's Kubernetes object (no name, no namespace) and how Katib tells when it is done."""

    trial_spec: Mapping[str, Any]
    primary_container_name: str
    trial_parameters: tuple[TrialParameter, ...]
    success_condition: str
    failure_condition: str
    primary_pod_labels: Mapping[str, str] | None = None

    def to_model(self) -> V1beta1TrialTemplate:
        return V1beta1TrialTemplate(
            trial_spec=dict(self.trial_spec),
            primary_container_name=self.primary_container_name,
            trial_parameters=[p.to_model() for p in self.trial_parameters],
            success_condition=self.success_condition,
            failure_condition=self.failure_condition,
            primary_pod_labels=dict(self.primary_pod_labels) if self.primary_pod_labels else None,
        )


def trial_parameters(references: Sequence[str] | Mapping[str, str]) -> tuple[TrialParameter, ...]:
    """Trial parameters named after their references, or ``{name: reference}`` when names differ."""
    if isinstance(references, Mapping):
        return tuple(TrialParameter(name, ref) for name, ref in references.items())
    return tuple(TrialParameter(ref, ref) for ref in references)


def _pairs(settings: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(name, _text(value)) for name, value in settings.items()]


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
