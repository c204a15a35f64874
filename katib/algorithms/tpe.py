"""Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011), our own code.

TPE models p(x | y) instead of p(y | x): the finished trials are split at the gamma-quantile of their
loss into a "good" set and a "bad" set, each parameter gets a Parzen estimator per set, l(x) and
g(x), and the next value is the candidate drawn from l that maximises l(x) / g(x) — which maximises
expected improvement under the paper's model (section 4.1, eq. 4). Parameters are modelled
independently, as in the paper and in hyperopt, so the ratio is maximised per parameter.

Katib's ``tpe`` settings are honoured: ``gamma`` (default 0.25), ``prior_weight`` (1.0),
``n_EI_candidates`` (24) and ``random_state``. The first ``n_startup_trials`` trials are random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from katib.algorithms.base import (
    AlgorithmError,
    SearchAlgorithm,
    Suggestion,
    Trial,
    parse_settings,
    seeded_rng,
)
from katib.algorithms.parzen import CategoricalParzen, NumericParzen
from katib.space import Parameter, SearchSpace, Value

SETTINGS: dict[str, type] = {
    "gamma": float,
    "prior_weight": float,
    "n_EI_candidates": int,
    "random_state": int,
}


class TPE(SearchAlgorithm):
    name = "tpe"

    def __init__(self, settings: Mapping[str, str] | None = None, *, n_startup_trials: int = 10) -> None:
        values = parse_settings(settings, SETTINGS, self.name)
        self.gamma = float(values.get("gamma", 0.25))
        self.prior_weight = float(values.get("prior_weight", 1.0))
        self.n_candidates = int(values.get("n_EI_candidates", 24))
        self.random_state = values.get("random_state")
        self.n_startup_trials = n_startup_trials
        _check(self.gamma, self.prior_weight, self.n_candidates, self.random_state, n_startup_trials)

    def suggest(
        self, space: SearchSpace, trials: Sequence[Trial], count: int, minimize: bool, seed: int = 0
    ) -> list[Suggestion]:
        seed = seed if self.random_state is None else int(self.random_state)
        rng = seeded_rng(seed, "tpe", len(trials))
        observed = [t for t in trials if t.completed_with_objective]
        if len(observed) < max(self.n_startup_trials, 2):
            return [Suggestion(space.sample(rng)) for _ in range(count)]
        good, bad = self.split(observed, minimize)
        return [Suggestion(self._draw(space, good, bad, rng)) for _ in range(count)]

    def split(self, observed: Sequence[Trial], minimize: bool) -> tuple[list[Trial], list[Trial]]:
        """The best ceil(gamma * n) trials (at least one, never all) and the rest."""
        sign = 1.0 if minimize else -1.0
        ranked = sorted(observed, key=lambda t: (sign * float(t.objective), t.name))  # type: ignore[arg-type]
        n_good = min(max(1, math.ceil(self.gamma * len(ranked))), len(ranked) - 1)
        return ranked[:n_good], ranked[n_good:]

    def _draw(
        self, space: SearchSpace, good: Sequence[Trial], bad: Sequence[Trial], rng: random.Random
    ) -> dict[str, Value]:
        return {p.name: self._draw_one(p, good, bad, rng) for p in space}

    def _draw_one(
        self, parameter: Parameter, good: Sequence[Trial], bad: Sequence[Trial], rng: random.Random
    ) -> Value:
        below = _values(parameter, good)
        above = _values(parameter, bad)
        if parameter.is_numeric_range:
            l_est = NumericParzen(parameter, below, self.prior_weight)
            g_est = NumericParzen(parameter, above, self.prior_weight)
        else:
            l_est = CategoricalParzen(parameter, below, self.prior_weight)
            g_est = CategoricalParzen(parameter, above, self.prior_weight)
        candidates = [l_est.sample(rng) for _ in range(self.n_candidates)]
        best = max(candidates, key=lambda x: l_est.log_pdf(x) - g_est.log_pdf(x))
        return l_est.to_value(best)


def _values(parameter: Parameter, trials: Sequence[Trial]) -> list[Value]:
    """The parameter's values in ``trials``, skipping trials that lack it or hold a foreign value."""
    values: list[Value] = []
    for trial in trials:
        if parameter.name not in trial.parameters:
            continue
        value = trial.parameters[parameter.name]
        if parameter.is_numeric_range:
            values.append(float(value))
        elif str(value) in [str(v) for v in parameter.values]:
            values.append(str(value))
    return values


def _check(
    gamma: float, prior_weight: float, n_candidates: int, random_state: object, n_startup: int
) -> None:
    if not 0 < gamma < 1:
        raise AlgorithmError(f"tpe setting gamma must be in (0, 1), got {gamma}")
    if not prior_weight > 0:
        raise AlgorithmError(f"tpe setting prior_weight must be > 0, got {prior_weight}")
    if n_candidates < 1:
        raise AlgorithmError(f"tpe setting n_EI_candidates must be >= 1, got {n_candidates}")
    if random_state is not None and int(random_state) < 0:  # type: ignore[call-overload]
        raise AlgorithmError(f"tpe setting random_state must be >= 0, got {random_state}")
    if n_startup < 0:
        raise AlgorithmError(f"n_startup_trials must be >= 0, got {n_startup}")
