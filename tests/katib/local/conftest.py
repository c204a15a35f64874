"""Experiments whose trials run ``scripts/objective.py``: quick, deterministic, stdlib only."""

from __future__ import annotations

from pathlib import Path

import pytest

from katib.experiments import (
    Algorithm,
    Objective,
    build_experiment,
    experiment_to_dict,
    job_template,
    parameter_args,
)
from katib.space import SearchSpace, categorical, double, integer

SCRIPT = Path(__file__).resolve().parent / "scripts" / "objective.py"


@pytest.fixture
def objective_script() -> Path:
    return SCRIPT


@pytest.fixture
def make_experiment():
    """``make_experiment(algorithm, space=None, extra_args=(), parallel=, max=, failed=)`` -> a dict."""

    def build(
        algorithm: Algorithm,
        space: SearchSpace | None = None,
        extra_args: tuple[str, ...] = (),
        objective: Objective | None = None,
        name: str = "quad",
        **counts: int,
    ) -> dict:
        space = space or SearchSpace.of(
            [double("x", -1.0, 1.0), double("y", -1.0, 1.0), categorical("opt", ["a", "b"])]
        )
        command = ["python", str(SCRIPT), *parameter_args(space), *extra_args]
        names = {
            "parallel": "parallel_trial_count",
            "max": "max_trial_count",
            "failed": "max_failed_trial_count",
        }
        settings = {"parallel_trial_count": 2, "max_trial_count": 6, "max_failed_trial_count": 2}
        settings.update({names[k]: v for k, v in counts.items()})
        if "failed" not in counts:
            settings["max_failed_trial_count"] = min(2, settings["max_trial_count"])
        experiment = build_experiment(
            name,
            objective=objective or Objective("loss", additional_metrics=("accuracy",)),
            algorithm=algorithm,
            trial_template=job_template("python:3.11", command, space.names),
            space=space,
            **settings,
        )
        return experiment_to_dict(experiment)

    return build


@pytest.fixture
def epochs_space() -> SearchSpace:
    return SearchSpace.of([double("x", -1.0, 1.0), integer("epochs", 1, 9)])
