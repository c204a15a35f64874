"""The tune step's outputs: best parameters as JSON, KFP Metrics, a Markdown report, the best trial."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from katib.local import ExperimentResult, markdown_report


def publish(
    result: ExperimentResult, metrics: Any, report: Any, best_trial: Any, schedule: Any = None
) -> tuple[str, str, str]:
    """Fill the output artifacts; returns (best_parameters JSON, best objective text, name)."""
    log_metrics(metrics, result)
    write_report(report, result)
    write_best_trial(best_trial, result)
    if schedule is not None:
        from katib.local.charts import schedule_html

        Path(schedule.path).write_text(schedule_html(result))
    return best_parameters_json(result), best_objective_text(result), result.name


def best_parameters_json(result: ExperimentResult) -> str:
    """``{"lr": "0.01", ...}``: the values exactly as the best trial received them."""
    return json.dumps(result.best_parameters(), sort_keys=True)


def best_objective_text(result: ExperimentResult) -> str:
    best = result.best
    return "" if best is None or best.objective is None else str(best.objective)


def log_metrics(metrics: Any, result: ExperimentResult) -> None:
    """The best trial's numeric metrics (by their strategies) and the trial counts."""
    best = result.best
    for name, value in (best.metrics if best else {}).items():
        if isinstance(value, float) and math.isfinite(value):
            metrics.log_metric(name, value)
    counts = result.counts()
    metrics.log_metric("trials", float(len(result.trials)))
    for status in ("Succeeded", "Failed", "MetricsUnavailable", "Killed"):
        metrics.log_metric(f"trials_{status.lower()}", float(counts.get(status, 0)))


def write_report(report: Any, result: ExperimentResult) -> None:
    Path(report.path).write_text(markdown_report(result))
    report.metadata.update({"experiment": result.name, "status": result.status, "trials": len(result.trials)})


def write_best_trial(artifact: Any, result: ExperimentResult) -> None:
    Path(artifact.path).write_text(json.dumps(result.best_trial_dict(), indent=2, default=str) + "\n")
    best = result.best
    artifact.metadata.update({
        "experiment": result.name,
        "trial": best.name if best else "",
        "objective_metric": result.objective_metric,
        "objective": best_objective_text(result),
        "parameters": result.best_parameters(),
    })  # fmt: skip
