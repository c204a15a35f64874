"""Results of an experiment: one :class:`TrialOutcome` per trial and the :class:`ExperimentResult`.

The same types describe a local run and, in the ``tune`` component, the trials Katib ran on a
cluster, so the report and the best-trial file look the same either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from katib.algorithms import FAILED, KILLED, METRICS_UNAVAILABLE, RUNNING, SUCCEEDED
from katib.experiments import ExperimentError
from katib.metrics import is_better, is_usable
from katib.space import Value, format_value

SUCCEEDED_EXPERIMENT = "Succeeded"
FAILED_EXPERIMENT = "Failed"
KILLED_EXPERIMENT = "Killed"
# Katib's reasons (experiment status util, v0.19).
GOAL_REACHED = "ExperimentGoalReached"
MAX_TRIALS_REACHED = "ExperimentMaxTrialsReached"
SUGGESTION_END_REACHED = "ExperimentSuggestionEndReached"
MAX_FAILED_REACHED = "ExperimentFailed"
INTERRUPTED = "ExperimentInterrupted"


class ExperimentFailedError(ExperimentError):
    """The experiment ended in the Failed state (e.g. too many failed trials)."""


@dataclass
class TrialOutcome:
    """A trial's assignment, state and metrics. ``metrics`` hold each metric's value by its strategy."""

    name: str
    parameters: dict[str, Value]
    labels: dict[str, str] = field(default_factory=dict)
    status: str = RUNNING
    objective: float | str | None = None
    metrics: dict[str, float | str] = field(default_factory=dict)
    observation: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_code: int | None = None
    duration_s: float | None = None
    message: str = ""
    workdir: str | None = None

    @property
    def failed(self) -> bool:
        """Counts against maxFailedTrialCount (Katib counts MetricsUnavailable as failed)."""
        return self.status in (FAILED, METRICS_UNAVAILABLE)

    @property
    def completed(self) -> bool:
        return self.status != RUNNING

    def parameter_text(self) -> dict[str, str]:
        """The parameters exactly as the trial received them."""
        return {k: format_value(v) for k, v in self.parameters.items()}

    def to_dict(self, objective_metric: str = "", strategy: str = "") -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "parameters": self.parameter_text(),
            "objective": {"name": objective_metric, "value": self.objective, "strategy": strategy},
            "metrics": self.observation or {k: {"value": v} for k, v in self.metrics.items()},
            "labels": dict(self.labels),
            "exit_code": self.exit_code,
            "duration_s": self.duration_s,
            "message": self.message,
            "workdir": self.workdir,
        }


@dataclass
class ExperimentResult:
    """How an experiment ended, every trial, and the best one (Katib's ``currentOptimalTrial``)."""

    name: str
    status: str
    reason: str
    message: str
    objective_metric: str
    minimize: bool
    trials: list[TrialOutcome]
    strategy: str = "latest"
    goal: float | None = None
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    reported_best: str | None = None  # on a cluster: Katib's currentOptimalTrial.bestTrialName

    @property
    def best(self) -> TrialOutcome | None:
        if self.reported_best:
            named = [t for t in self.trials if t.name == self.reported_best]
            if named:
                return named[0]
        return best_trial(self.trials, self.minimize)

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED_EXPERIMENT

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts

    def best_parameters(self) -> dict[str, str]:
        best = self.best
        return best.parameter_text() if best else {}

    def raise_for_status(self) -> ExperimentResult:
        if self.status != SUCCEEDED_EXPERIMENT:
            raise ExperimentFailedError(f"experiment {self.name!r} {self.status.lower()}: {self.message}")
        return self

    def best_trial_dict(self) -> dict[str, Any] | None:
        best = self.best
        return best.to_dict(self.objective_metric, self.strategy) if best else None

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "objective": {
                "name": self.objective_metric,
                "type": "minimize" if self.minimize else "maximize",
                "goal": self.goal,
                "strategy": self.strategy,
            },
            "trial_counts": self.counts(),
            "best_trial": self.best_trial_dict(),
        }


def best_trial(trials: list[TrialOutcome], minimize: bool) -> TrialOutcome | None:
    """Katib's rule over succeeded trials: best objective in trial order; for a string metric, the latest."""
    best: TrialOutcome | None = None
    for trial in trials:
        if trial.status != SUCCEEDED or not is_usable(trial.objective):
            continue
        if best is None or is_better(trial.objective, best.objective, minimize):  # type: ignore[arg-type]
            best = trial
    return best


def outcome_from_katib_trial(trial: Mapping[str, Any], strategies: Mapping[str, str]) -> TrialOutcome:
    """A TrialOutcome from a ``kubeflow.org/v1beta1`` Trial object as the API server returns it."""
    from katib.metrics import as_number

    metadata, spec, status = trial.get("metadata") or {}, trial.get("spec") or {}, trial.get("status") or {}
    objective_name = (spec.get("objective") or {}).get("objectiveMetricName", "")
    observation: dict[str, dict[str, Any]] = {}
    metrics: dict[str, float | str] = {}
    for metric in (status.get("observation") or {}).get("metrics") or []:
        name = metric.get("name", "")
        observation[name] = {k: metric.get(k) for k in ("latest", "min", "max")}
        raw = metric.get(strategies.get(name, "latest")) or metric.get("latest")
        if raw in (None, "unavailable"):
            continue
        number = as_number(str(raw))
        metrics[name] = str(raw) if number is None else number
    return TrialOutcome(
        name=metadata.get("name", ""),
        parameters={a.get("name", ""): a.get("value", "") for a in spec.get("parameterAssignments") or []},
        labels=dict(spec.get("labels") or metadata.get("labels") or {}),
        status=_katib_trial_status(status),
        objective=metrics.get(objective_name),
        metrics=metrics,
        observation=observation,
        message=_last_message(status),
    )


def _katib_trial_status(status: Mapping[str, Any]) -> str:
    true = [c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"]
    for state in (KILLED, FAILED, METRICS_UNAVAILABLE, SUCCEEDED, "EarlyStopped"):
        if state in true:
            return state
    succeeded_false = any(
        c.get("type") == SUCCEEDED
        and c.get("status") == "False"
        and "MetricsUnavailable" in (c.get("reason") or "")
        for c in status.get("conditions") or []
    )
    return METRICS_UNAVAILABLE if succeeded_false else RUNNING


def _last_message(status: Mapping[str, Any]) -> str:
    conditions = status.get("conditions") or []
    return str(conditions[-1].get("message", "")) if conditions else ""
