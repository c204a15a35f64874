"""Random search: independent draws from each parameter's distribution (log-uniform where asked).

Stateless and seeded: the draws for a call depend only on the seed (``random_state`` in Katib's
settings) and the number of trials so far, so the same experiment gives the same assignments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from katib.algorithms.base import SearchAlgorithm, Suggestion, Trial, parse_settings, seeded_rng
from katib.space import SearchSpace


class RandomSearch(SearchAlgorithm):
    name = "random"

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        values = parse_settings(settings, {"random_state": int}, self.name)
        self.random_state = values.get("random_state")

    def suggest(
        self, space: SearchSpace, trials: Sequence[Trial], count: int, minimize: bool, seed: int = 0
    ) -> list[Suggestion]:
        seed = seed if self.random_state is None else int(self.random_state)
        rng = seeded_rng(seed, "random", len(trials))
        return [Suggestion(space.sample(rng)) for _ in range(count)]
