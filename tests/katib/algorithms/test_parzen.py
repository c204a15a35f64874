"""Parzen estimators: proper densities on the feasible range, samples inside it, observations favoured."""

from __future__ import annotations

import math
import random

from katib.algorithms.parzen import CategoricalParzen, NumericParzen
from katib.space import categorical, double, integer


def _integral(estimator: NumericParzen, points: int = 4000) -> float:
    width = (estimator.high - estimator.low) / points
    return sum(math.exp(estimator.log_pdf(estimator.low + (i + 0.5) * width)) for i in range(points)) * width


def test_truncated_mixture_integrates_to_one_on_linear_and_log_ranges():
    for parameter in (double("x", -2.0, 3.0), double("lr", 1e-4, 1.0, log=True), integer("n", 1, 10)):
        observations = [parameter.low + 0.1 * (parameter.high - parameter.low), parameter.high]
        estimator = NumericParzen(parameter, observations, prior_weight=1.0)
        assert abs(_integral(estimator) - 1.0) < 1e-3, parameter.name


def test_samples_stay_in_range_and_concentrate_near_observations():
    parameter = double("lr", 1e-4, 1.0, log=True)
    estimator = NumericParzen(parameter, [1e-3] * 10, prior_weight=1.0)
    rng = random.Random(0)
    values = [estimator.to_value(estimator.sample(rng)) for _ in range(500)]
    assert all(1e-4 <= v <= 1.0 for v in values)
    assert sum(3e-4 < v < 3e-3 for v in values) > 300
    assert estimator.log_pdf(math.log(1e-3)) > estimator.log_pdf(math.log(0.5))


def test_integers_snap_to_integers_at_both_ends():
    estimator = NumericParzen(integer("n", 1, 3), [1, 3], prior_weight=1.0)
    rng = random.Random(1)
    assert {estimator.to_value(estimator.sample(rng)) for _ in range(300)} == {1, 2, 3}


def test_categorical_probabilities_are_smoothed_counts():
    estimator = CategoricalParzen(categorical("act", ["relu", "tanh", "gelu"]), ["relu", "relu", "gelu"], 1.0)
    assert [round(p, 3) for p in estimator.probabilities] == [0.5, 0.167, 0.333]
    assert estimator.to_value(0) == "relu"
