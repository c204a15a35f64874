"""TPE: the good/bad split, Katib's settings, and that it beats random search on a synthetic function."""

from __future__ import annotations

import math
import statistics

import pytest

from katib.algorithms import SUCCEEDED, TPE, AlgorithmError, RandomSearch, Trial, make_algorithm
from katib.space import SearchSpace, categorical, double, integer

SPACE = SearchSpace.of(
    [
        double("lr", 1e-5, 1.0, log=True),
        double("x", -5.0, 5.0),
        integer("n", 1, 64),
        categorical("act", ["relu", "tanh", "gelu", "elu"]),
    ]
)


def _loss(p) -> float:
    choice = {"relu": 0.0, "tanh": 0.5, "gelu": 0.2, "elu": 0.8}[p["act"]]
    return (math.log10(p["lr"]) + 2.5) ** 2 + (p["x"] - 1.3) ** 2 + ((p["n"] - 40) / 16) ** 2 + choice


def _best_after(algorithm, seed: int, budget: int, maximize: bool = False) -> float:
    trials: list[Trial] = []
    for i in range(budget):
        s = algorithm.suggest(SPACE, trials, 1, not maximize, seed)[0]
        value = _loss(s.parameters)
        trials.append(Trial(f"t{i:03d}", s.parameters, SUCCEEDED, -value if maximize else value))
    return min(_loss(t.parameters) for t in trials)


def test_beats_random_search_over_several_seeds():
    seeds = range(8)
    tpe = [_best_after(TPE(n_startup_trials=10), s, 40) for s in seeds]
    rnd = [_best_after(RandomSearch(), s, 40) for s in seeds]
    wins = sum(t < r for t, r in zip(tpe, rnd, strict=True))
    assert wins >= 6, (tpe, rnd)
    assert statistics.mean(tpe) < 0.75 * statistics.mean(rnd), (tpe, rnd)


def test_maximising_works_through_the_same_split():
    # The objective is negated and the direction flipped: TPE must still find the same region.
    seeds = range(4)
    tpe = statistics.mean(_best_after(TPE(n_startup_trials=10), s, 40, maximize=True) for s in seeds)
    rnd = statistics.mean(_best_after(RandomSearch(), s, 40, maximize=True) for s in seeds)
    assert tpe < rnd


def test_split_takes_the_gamma_quantile_and_ignores_unfinished_trials():
    trials = [Trial(f"t{i}", {"x": float(i)}, SUCCEEDED, float(i)) for i in range(8)]
    good, bad = TPE({"gamma": "0.25"}).split(trials, minimize=True)
    assert [t.name for t in good] == ["t0", "t1"] and len(bad) == 6
    good, _ = TPE().split(trials, minimize=False)
    assert [t.name for t in good] == ["t7", "t6"]
    assert len(TPE({"gamma": "0.99"}).split(trials, True)[1]) == 1  # never all trials in the good set


def test_startup_trials_are_random_then_model_based():
    space = SearchSpace.of([double("x", 0.0, 1.0)])
    tpe = TPE(n_startup_trials=5)
    few = [Trial(f"t{i}", {"x": i / 10}, SUCCEEDED, abs(i / 10 - 0.2)) for i in range(4)]
    other = [Trial(t.name, t.parameters, SUCCEEDED, -t.objective) for t in few]
    # Before n_startup_trials results the objective values play no part.
    assert tpe.suggest(space, few, 3, True, 0) == tpe.suggest(space, other, 3, True, 0)
    many = [Trial(f"t{i}", {"x": i / 20}, SUCCEEDED, abs(i / 20 - 0.8)) for i in range(20)]
    picks = [s.parameters["x"] for s in tpe.suggest(space, many, 20, True, 0)]
    assert sum(abs(x - 0.8) < 0.2 for x in picks) >= 15  # concentrated around the good region


def test_failed_and_running_trials_do_not_enter_the_model():
    space = SearchSpace.of([double("x", 0.0, 1.0)])
    trials = [Trial(f"t{i}", {"x": i / 20}, "Failed") for i in range(20)]
    # No finished trial: still in the random start-up phase, whatever the history length.
    assert len(TPE(n_startup_trials=2).suggest(space, trials, 2, True, 0)) == 2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"gamma": "1.5"}, "gamma"),
        ({"prior_weight": "0"}, "prior_weight"),
        ({"n_EI_candidates": "0"}, "n_EI"),
        ({"random_state": "-1"}, "random_state"),
        ({"n_startup_jobs": "5"}, "unknown setting"),
    ],
)
def test_katib_settings_are_checked(settings, message):
    with pytest.raises(AlgorithmError, match=message):
        make_algorithm("tpe", settings)
