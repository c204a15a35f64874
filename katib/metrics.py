"""Metrics from a trial's standard output, read the way Katib's StdOut collector reads them.

Katib's collector (``file-metricscollector.go``, v0.19) keeps a line only when it contains one of the
metric names, applies every ``metricsFormat`` regular expression (its default: ``name=value``), and
takes the first group as the name and the second as the value, keeping the pair only when the name is
one of the experiment's metrics exactly. An observation then records ``min``, ``max`` and ``latest``
per metric, and the objective value is extracted with the metric's strategy. When an experiment does
not name a strategy, Katib's defaulting webhook picks ``min`` for a ``minimize`` objective and ``max``
for ``maximize`` (``experiment_defaults.go``), for the objective and for the additional metrics alike;
``latest`` is used only when asked for.

Values that are not numbers (DARTS's ``Best-Genotype=Genotype(...)``) are kept as strings: their
``min``/``max`` are undefined and every strategy falls back to the latest value, as in Katib.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_METRICS_FORMAT = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
STRATEGIES: tuple[str, ...] = ("min", "max", "latest")
OBJECTIVE_TYPES: tuple[str, ...] = ("minimize", "maximize")


class MetricsFormatError(ValueError):
    """A ``metricsFormat`` filter that cannot be used to read metrics."""


@dataclass(frozen=True)
class MetricLog:
    """One reported value: the metric's name and its text exactly as printed."""

    name: str
    value: str


@dataclass
class MetricSummary:
    """What Katib stores per metric: the latest value, and min/max over the numeric values."""

    name: str
    latest: str
    min: float | None = None
    max: float | None = None
    count: int = 0

    def add(self, value: str) -> None:
        self.latest = value
        self.count += 1
        number = as_number(value)
        if number is None or not math.isfinite(number):
            return
        self.min = number if self.min is None else min(self.min, number)
        self.max = number if self.max is None else max(self.max, number)

    def extract(self, strategy: str) -> float | str:
        """The value under ``strategy``; non-numeric metrics always give their latest text."""
        if strategy == "min" and self.min is not None:
            return self.min
        if strategy == "max" and self.max is not None:
            return self.max
        number = as_number(self.latest)
        return self.latest if number is None else number

    def to_dict(self) -> dict[str, Any]:
        return {"latest": self.latest, "min": self.min, "max": self.max, "count": self.count}


@dataclass
class Observation:
    """All metrics a trial reported, in the order their names were first seen."""

    metrics: dict[str, MetricSummary] = field(default_factory=dict)

    @classmethod
    def from_logs(cls, logs: Iterable[MetricLog]) -> Observation:
        observation = cls()
        for log in logs:
            summary = observation.metrics.get(log.name)
            if summary is None:
                summary = observation.metrics[log.name] = MetricSummary(log.name, log.value)
            summary.add(log.value)
        return observation

    def __contains__(self, name: object) -> bool:
        return name in self.metrics

    def value(self, name: str, strategy: str = "latest") -> float | str | None:
        summary = self.metrics.get(name)
        return None if summary is None else summary.extract(strategy)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: summary.to_dict() for name, summary in self.metrics.items()}


class MetricsCollector:
    """Parses trial output with an experiment's metric names and ``metricsFormat`` filters."""

    def __init__(self, metric_names: Sequence[str], filters: Sequence[str] = ()) -> None:
        if not metric_names:
            raise MetricsFormatError("at least one metric name (the objective) is needed to collect metrics")
        self.metric_names = tuple(metric_names)
        self.filters = tuple(filters) or (DEFAULT_METRICS_FORMAT,)
        self._regexes = [compile_filter(f) for f in self.filters]

    @classmethod
    def for_experiment(cls, experiment: Mapping[str, Any]) -> MetricsCollector:
        """The collector an Experiment dictionary (camelCase) describes."""
        spec = experiment.get("spec") or {}
        objective = spec.get("objective") or {}
        names = [
            objective.get("objectiveMetricName", ""),
            *list(objective.get("additionalMetricNames") or []),
        ]
        source = (spec.get("metricsCollectorSpec") or {}).get("source") or {}
        filters = (source.get("filter") or {}).get("metricsFormat") or []
        return cls([n for n in names if n], filters)

    def parse_lines(self, lines: Iterable[str]) -> list[MetricLog]:
        logs: list[MetricLog] = []
        for line in lines:
            if not any(name in line for name in self.metric_names):
                continue
            for regex in self._regexes:
                for match in regex.finditer(line):
                    name, value = match.group(1).strip(), match.group(2).strip()
                    if name in self.metric_names and value:
                        logs.append(MetricLog(name, value))
        return logs

    def parse(self, text: str) -> Observation:
        return Observation.from_logs(self.parse_lines(text.splitlines()))


def compile_filter(pattern: str) -> re.Pattern[str]:
    """Compile a ``metricsFormat`` filter; Katib requires two top-level groups (name, value)."""
    try:
        regex = re.compile(pattern, re.ASCII)
    except re.error as err:
        raise MetricsFormatError(
            f"metricsFormat {pattern!r} is not a valid regular expression: {err}"
        ) from None
    if regex.groups < 2 or not re.fullmatch(r".*\(.*\).*\(.*\).*", pattern):
        raise MetricsFormatError(
            f"metricsFormat {pattern!r} needs two groups: the first captures the metric name, "
            "the second its value (e.g. '([\\w-]+)=([+-]?\\d+(\\.\\d+)?)')"
        )
    return regex


def metric_strategies(objective: Mapping[str, Any]) -> dict[str, str]:
    """Strategy per metric after Katib's defaulting: explicit ones, else min/max by objective type."""
    objective_type = objective.get("type", "")
    default = {"minimize": "min", "maximize": "max"}.get(objective_type, "latest")
    names = [objective.get("objectiveMetricName", ""), *list(objective.get("additionalMetricNames") or [])]
    strategies = {name: default for name in names if name}
    for item in objective.get("metricStrategies") or []:
        strategy = item.get("value", "")
        if strategy not in STRATEGIES:
            raise MetricsFormatError(
                f"metric strategy {strategy!r} for metric {item.get('name')!r} is not one of "
                f"{', '.join(STRATEGIES)}"
            )
        strategies[item.get("name", "")] = strategy
    return strategies


def as_number(text: str) -> float | None:
    """``text`` as a float (``nan`` included), or None when it is not a number (e.g. a genotype)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def is_usable(value: float | str | None) -> bool:
    """A value that can rank a trial: a finite number or a string metric (never NaN or missing)."""
    if value is None:
        return False
    return isinstance(value, str) or math.isfinite(value)


def is_better(candidate: float | str, incumbent: float | str | None, minimize: bool) -> bool:
    """Katib's comparison for the best trial: numbers by direction, a string metric is always newer."""
    if not is_usable(candidate):
        return False
    if incumbent is None:
        return True
    if isinstance(candidate, str) or isinstance(incumbent, str):
        return True
    return candidate < incumbent if minimize else candidate > incumbent


def goal_reached(value: float | str | None, goal: float | None, minimize: bool) -> bool:
    if goal is None or not is_usable(value) or isinstance(value, str):
        return False
    return value <= goal if minimize else value >= goal
