"""What every local algorithm must do: respect the space, honour ``count``, be deterministic per seed."""

from __future__ import annotations

import pytest

from katib.algorithms import SUCCEEDED, Trial, make_algorithm
from katib.space import SearchSpace, categorical, double, integer

ALGORITHMS = ["random", "tpe"]


def _grid_space() -> SearchSpace:
    return SearchSpace.of([double("a", 0.0, 1.0, step=0.5), integer("b", 1, 2), categorical("c", ["x", "y"])])


def _history(space, algorithm, rounds: int, count: int, seed: int):
    trials = []
    for r in range(rounds):
        for s in algorithm.suggest(space, trials, count, True, seed):
            value = sum(float(v) for v in s.parameters.values() if not isinstance(v, str))
            trials.append(Trial(f"t{len(trials):03d}", s.parameters, SUCCEEDED, value))
        assert len(trials) == (r + 1) * count
    return trials


@pytest.mark.parametrize("name", ALGORITHMS)
def test_suggestions_respect_types_and_bounds(name, mixed_space, assert_in_space):
    algorithm = make_algorithm(name, {}, mixed_space, n_startup_trials=4)
    for trial in _history(mixed_space, algorithm, rounds=6, count=3, seed=5):
        assert_in_space(mixed_space, trial.parameters)


def test_grid_respects_types_and_bounds(assert_in_space):
    space = _grid_space()
    for trial in _history(space, make_algorithm("grid", {}, space), rounds=4, count=2, seed=0):
        assert_in_space(space, trial.parameters)


@pytest.mark.parametrize("name", [*ALGORITHMS, "grid"])
def test_same_seed_same_history_other_seed_other_history(name, mixed_space):
    space = _grid_space() if name == "grid" else mixed_space

    def params(seed):
        algorithm = make_algorithm(name, {}, space, n_startup_trials=3)
        return [dict(t.parameters) for t in _history(space, algorithm, rounds=3, count=2, seed=seed)]

    assert params(1) == params(1)
    if name != "grid":
        assert params(1) != params(2)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_zero_count_gives_nothing(name, mixed_space):
    assert make_algorithm(name, {}, mixed_space).suggest(mixed_space, [], 0, True) == []
