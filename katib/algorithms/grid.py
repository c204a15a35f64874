"""Grid search: every combination of the parameters' grid values, once each, in a fixed order.

The order is the product of the parameters in the search space's order, the last one varying fastest.
Like Katib's grid service, an ``int`` without a step visits every integer and a ``double`` needs a
step (a grid over a continuous range is otherwise undefined). Assignments already tried (running,
failed or finished) are skipped, so the search ends exactly when the grid is exhausted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

from katib.algorithms.base import (
    AlgorithmError,
    SearchAlgorithm,
    Suggestion,
    Trial,
    assignment_key,
    parse_settings,
)
from katib.space import Parameter, SearchSpace, Value


class GridSearch(SearchAlgorithm):
    name = "grid"

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        parse_settings(settings, {}, self.name)

    def suggest(
        self, space: SearchSpace, trials: Sequence[Trial], count: int, minimize: bool, seed: int = 0
    ) -> list[Suggestion]:
        tried = {assignment_key(t.parameters, space) for t in trials}
        chosen: list[Suggestion] = []
        for assignment in iterate_grid(space):
            if len(chosen) >= count:
                break
            if assignment_key(assignment, space) not in tried:
                chosen.append(Suggestion(assignment))
        return chosen


def grid_values(parameter: Parameter) -> list[Value]:
    """The values grid search visits for one parameter."""
    if parameter.type == "double" and not parameter.step:
        raise AlgorithmError(
            f"grid search needs feasibleSpace.step for double parameter {parameter.name!r} "
            f"(range {parameter.low}..{parameter.high}); add a step or use random/tpe"
        )
    if parameter.type == "int" and not parameter.step:
        assert parameter.low is not None and parameter.high is not None
        return parameter.grid(points=int(parameter.high - parameter.low) + 1)
    return parameter.grid()


def grid_size(space: SearchSpace) -> int:
    size = 1
    for parameter in space:
        size *= len(grid_values(parameter))
    return size


def iterate_grid(space: SearchSpace) -> Iterator[dict[str, Value]]:
    axes = [grid_values(p) for p in space]
    for combination in itertools.product(*axes):
        yield dict(zip(space.names, combination, strict=True))
