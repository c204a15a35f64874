"""Hyperband through the local adapter: the core's schedule, labels carried, statuses translated."""

from __future__ import annotations

import pytest

from katib.algorithms import FAILED, METRICS_UNAVAILABLE, SUCCEEDED, AlgorithmError, Trial, make_algorithm
from katib.hyperband import BRACKET_LABEL, RUNG_LABEL, brackets
from katib.space import SearchSpace, double, integer

SPACE = SearchSpace.of([double("x", -1.0, 1.0), integer("epochs", 1, 9)])
SETTINGS = {"resource_name": "epochs", "r_l": "9", "eta": "3"}


def _loss(p) -> float:
    return (p["x"] - 0.3) ** 2 + 1.0 / p["epochs"]


def test_a_full_iteration_follows_the_bracket_table():
    algorithm = make_algorithm("kwp-hyperband", SETTINGS, SPACE)
    trials: list[Trial] = []
    total = sum(b.trial_count for b in brackets(9, 3))
    while len(trials) < total:
        batch = algorithm.suggest(SPACE, trials, 2, minimize=True, seed=1)
        assert len(batch) == 2  # always exactly the count asked for
        for s in batch:
            trials.append(
                Trial(f"t{len(trials):03d}", s.parameters, SUCCEEDED, _loss(s.parameters), s.labels)
            )
    by_bracket: dict[str, list[int]] = {}
    for t in trials[:total]:
        assert BRACKET_LABEL in t.labels and RUNG_LABEL in t.labels
        by_bracket.setdefault(t.labels[BRACKET_LABEL], []).append(t.parameters["epochs"])
    expected = {
        str(b.s): sorted(int(r.resource) for r in b.rungs for _ in range(r.n)) for b in brackets(9, 3)
    }
    assert {k: sorted(v) for k, v in by_bracket.items()} == expected


def test_failed_and_metricless_trials_are_never_promoted():
    algorithm = make_algorithm("kwp-hyperband", SETTINGS, SPACE)
    first = algorithm.suggest(SPACE, [], 9, minimize=True, seed=0)  # bracket s=2, rung 0: 9 configurations
    states = [FAILED, METRICS_UNAVAILABLE] + [SUCCEEDED] * 7
    trials = [
        Trial(f"t{i}", s.parameters, state, None if state != SUCCEEDED else float(i), s.labels)
        for i, (s, state) in enumerate(zip(first, states, strict=True))
    ]
    promoted = [
        s for s in algorithm.suggest(SPACE, trials, 3, minimize=True, seed=0) if s.labels[RUNG_LABEL] == "1"
    ]
    assert promoted, "rung 0 is complete, so rung 1 must start"
    bad = {trials[0].parameters["x"], trials[1].parameters["x"]}
    assert all(s.parameters["x"] not in bad for s in promoted)


def test_katib_hyperband_name_runs_through_the_same_core():
    a = make_algorithm("hyperband", SETTINGS, SPACE).suggest(SPACE, [], 3, True, 0)
    b = make_algorithm("kwp-hyperband", SETTINGS, SPACE).suggest(SPACE, [], 3, True, 0)
    assert a == b


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"r_l": "9"}, "resource_name"),
        ({"resource_name": "x", "r_l": "9"}, "categorical|range|resource"),
        ({"resource_name": "epochs", "r_l": "9", "eta": "1"}, "eta"),
    ],
)
def test_bad_settings_raise_algorithm_error(settings, message):
    with pytest.raises(AlgorithmError, match=message):
        make_algorithm("kwp-hyperband", settings, SPACE)
