"""A small valid Experiment to break in different ways."""

from __future__ import annotations

import copy

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


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace.of(
        [double("lr", 1e-4, 1e-1, log=True), integer("epochs", 1, 9), categorical("opt", ["sgd", "adam"])]
    )


@pytest.fixture
def valid(space) -> dict:
    """A valid random-search Experiment as a plain dictionary (a fresh deep copy per test)."""
    command = ["python", "train.py", *parameter_args(space)]
    experiment = build_experiment(
        "small",
        objective=Objective("loss", goal=0.01, additional_metrics=("accuracy",)),
        algorithm=Algorithm.random(seed=1),
        trial_template=job_template("busybox", command, space.names),
        space=space,
        parallel_trial_count=2,
        max_trial_count=4,
        max_failed_trial_count=1,
    )
    return copy.deepcopy(experiment_to_dict(experiment))
