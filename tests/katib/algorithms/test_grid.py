"""Grid search visits the whole grid exactly once, in a fixed order, then stops."""

from __future__ import annotations

import pytest

from katib.algorithms import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AlgorithmError,
    GridSearch,
    Trial,
    grid_size,
    make_algorithm,
)
from katib.algorithms.grid import grid_values
from katib.space import SearchSpace, categorical, discrete, double, integer


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace.of(
        [
            double("lr", 0.1, 0.3, step=0.1),
            integer("layers", 1, 3),
            discrete("m", [0.5, 0.9]),
            categorical("c", ["a", "b"]),
        ]
    )


def test_exhausts_the_space_exactly_once_in_product_order(space):
    grid = GridSearch()
    trials: list[Trial] = []
    while True:
        batch = grid.suggest(space, trials, 5, minimize=True)
        trials += [Trial(f"t{len(trials) + i}", s.parameters, SUCCEEDED, 0.0) for i, s in enumerate(batch)]
        if len(batch) < 5:
            break
    assert grid_size(space) == 3 * 3 * 2 * 2 == len(trials)
    keys = [tuple(t.parameters.values()) for t in trials]
    assert len(set(keys)) == len(keys)
    assert keys[0] == (0.1, 1, 0.5, "a") and keys[1] == (0.1, 1, 0.5, "b") and keys[-1] == (0.3, 3, 0.9, "b")
    assert grid.suggest(space, trials, 3, minimize=True) == []


def test_running_and_failed_assignments_are_not_repeated(space):
    first = GridSearch().suggest(space, [], 2, minimize=True)
    trials = [Trial("a", first[0].parameters, RUNNING), Trial("b", first[1].parameters, FAILED)]
    following = GridSearch().suggest(space, trials, 1, minimize=True)[0]
    assert following.parameters not in [s.parameters for s in first]


def test_int_without_step_visits_every_integer_and_double_needs_a_step():
    assert grid_values(integer("n", 2, 9)) == list(range(2, 10))
    with pytest.raises(AlgorithmError, match="step for double parameter 'lr'"):
        make_algorithm("grid", {}, SearchSpace.of([double("lr", 0.1, 0.5)]))


def test_grid_takes_no_settings():
    with pytest.raises(AlgorithmError, match="unknown setting 'random_state' for algorithm grid"):
        make_algorithm("grid", {"random_state": "1"}, None)
