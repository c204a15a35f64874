"""Random search: seeded, deterministic, covering the space; ``random_state`` overrides the seed."""

from __future__ import annotations

import math

import pytest

from katib.algorithms import AlgorithmError, RandomSearch, Trial, make_algorithm
from katib.space import SearchSpace, double


def test_deterministic_per_seed_and_per_history(mixed_space):
    a = RandomSearch().suggest(mixed_space, [], 4, True, seed=7)
    b = RandomSearch().suggest(mixed_space, [], 4, True, seed=7)
    c = RandomSearch().suggest(mixed_space, [], 4, True, seed=8)
    assert a == b and a != c
    later = RandomSearch().suggest(mixed_space, [Trial("t0", a[0].parameters)], 1, True, seed=7)
    assert later[0] not in a  # the history length is part of the seed: no repeats across calls


def test_random_state_setting_overrides_the_runner_seed(mixed_space):
    algorithm = make_algorithm("random", {"random_state": "3"}, mixed_space)
    assert algorithm.suggest(mixed_space, [], 2, True, seed=1) == algorithm.suggest(
        mixed_space, [], 2, True, seed=9
    )


def test_log_scale_samples_are_uniform_in_log_space():
    space = SearchSpace.of([double("lr", 1e-4, 1.0, log=True)])
    values = [s.parameters["lr"] for s in RandomSearch().suggest(space, [], 2000, True, seed=0)]
    below = sum(v < 1e-2 for v in values) / len(values)  # half of the log range
    assert 0.45 < below < 0.55
    assert min(values) >= 1e-4 and max(values) <= 1.0
    assert math.log10(min(values)) < -3.8


@pytest.mark.parametrize("settings", [{"random_state": "x"}, {"gamma": "0.2"}])
def test_bad_settings_are_named(settings):
    with pytest.raises(AlgorithmError, match="random"):
        make_algorithm("random", settings)
