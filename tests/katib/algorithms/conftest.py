"""Spaces and a synthetic objective shared by the algorithm tests."""

from __future__ import annotations

import pytest

from katib.space import SearchSpace, categorical, discrete, double, integer


@pytest.fixture
def mixed_space() -> SearchSpace:
    """Every parameter type and scale, with steps so that grid search can run on it too."""
    return SearchSpace.of(
        [
            double("lr", 1e-4, 1e-1, log=True, step=None),
            double("dropout", 0.0, 0.5, step=0.1),
            integer("width", 8, 64, log=True),
            integer("layers", 1, 3),
            discrete("momentum", [0.0, 0.5, 0.9]),
            categorical("act", ["relu", "tanh"]),
        ]
    )


@pytest.fixture
def assert_in_space():
    """A checker: every parameter present, of its type, inside its bounds and on its step."""
    return _assert_in_space


def _assert_in_space(space: SearchSpace, parameters) -> None:
    assert set(parameters) == set(space.names)
    for p in space:
        value = parameters[p.name]
        if p.type == "double":
            assert isinstance(value, float) and p.low <= value <= p.high
        elif p.type == "int":
            assert isinstance(value, int) and p.low <= value <= p.high
        else:
            assert value in p.values
        if p.step and p.is_numeric_range:
            steps = (value - p.low) / p.step
            assert abs(steps - round(steps)) < 1e-9
