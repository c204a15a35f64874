"""``suggest``: exact counts, promotions of the top 1/eta, failures, determinism, both variants."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from katib.hyperband import (
    BRACKET_LABEL,
    CONFIG_LABEL,
    ITERATION_LABEL,
    RESOURCE_LABEL,
    RUNG_LABEL,
    HyperbandSettings,
    TrialRecord,
    brackets,
    suggest,
)
from katib.space import SearchSpace, categorical, double, integer


@pytest.fixture
def space():
    return SearchSpace.of(
        [double("lr", 1e-4, 1.0, log=True), integer("epochs", 1, 9), categorical("act", ["relu", "tanh"])]
    )


def _settings(**overrides):
    values = {"resource_name": "epochs", "max_resource": 9, "eta": 3, "seed": 1}
    values.update(overrides)
    return HyperbandSettings(**values)


def _key(labels):
    return tuple(int(labels[k]) for k in (ITERATION_LABEL, BRACKET_LABEL, RUNG_LABEL, CONFIG_LABEL))


def _finish(assignments, start, status="succeeded", score=None):
    """Trial records for the assignments, each finished with ``score(parameters)``."""
    score = score or (lambda p: abs(math.log10(float(p["lr"])) + 2))
    return [
        TrialRecord(f"trial-{start + k:04d}", a.parameters, a.labels, status, score(a.parameters))
        for k, a in enumerate(assignments)
    ]


def test_first_call_opens_the_most_exploratory_bracket(space):
    assignments = suggest(space, _settings(), [], 4, minimize=True)
    assert [_key(a.labels) for a in assignments] == [(0, 2, 0, c) for c in range(4)]
    assert {a.parameters["epochs"] for a in assignments} == {"1"}
    assert {a.labels[RESOURCE_LABEL] for a in assignments} == {"1"}
    assert all(set(a.parameters) == {"lr", "epochs", "act"} for a in assignments)


@pytest.mark.parametrize("count", [0, 1, 5, 9, 10, 40])
def test_returns_exactly_count_even_while_rungs_wait(space, count):
    # Bracket s=2 is fully started and still running: everything must come from other brackets.
    running = [
        TrialRecord(f"t{i}", a.parameters, a.labels, "running", None)
        for i, a in enumerate(suggest(space, _settings(), [], 9, minimize=True))
    ]
    assignments = suggest(space, _settings(), running, count, minimize=True)
    assert len(assignments) == count
    assert all(_key(a.labels)[:2] != (0, 2) for a in assignments)
    keys = [_key(a.labels) for a in assignments]
    assert len(set(keys)) == len(keys)


def _first_rung(space, settings, minimize, statuses=None):
    assignments = suggest(space, settings, [], 9, minimize=minimize)
    trials = _finish(assignments, 0)
    for index, status in (statuses or {}).items():
        t = trials[index]
        trials[index] = TrialRecord(t.name, t.parameters, t.labels, status, t.objective)
    return trials


@pytest.mark.parametrize("minimize", [True, False])
def test_promotes_the_top_third_of_a_finished_rung(space, minimize):
    trials = _first_rung(space, _settings(), minimize)
    ranked = sorted(trials, key=lambda t: t.objective if minimize else -t.objective)
    promoted = suggest(space, _settings(), trials, 3, minimize=minimize)
    assert [_key(a.labels)[:3] for a in promoted] == [(0, 2, 1)] * 3
    winners = [int(t.labels[CONFIG_LABEL]) for t in ranked[:3]]
    assert [int(a.labels[CONFIG_LABEL]) for a in promoted] == winners
    for a, source in zip(promoted, ranked[:3], strict=True):
        assert a.parameters["epochs"] == "3"
        assert {k: v for k, v in a.parameters.items() if k != "epochs"} == {
            k: v for k, v in source.parameters.items() if k != "epochs"
        }


def test_never_promotes_failed_killed_or_early_stopped_trials(space):
    plain = _first_rung(space, _settings(), True)
    best_three = sorted(range(9), key=lambda i: plain[i].objective)[:3]
    statuses = dict(zip(best_three, ["failed", "early_stopped", "killed"], strict=True))
    trials = _first_rung(space, _settings(), True, statuses)
    no_value = trials[sorted(set(range(9)) - set(best_three), key=lambda i: trials[i].objective)[0]]
    trials[trials.index(no_value)] = TrialRecord(
        no_value.name, no_value.parameters, no_value.labels, "succeeded", None
    )
    promoted = suggest(space, _settings(), trials, 3, minimize=True)
    eligible = sorted(
        (t for t in trials if t.status == "succeeded" and t.objective is not None), key=lambda t: t.objective
    )
    assert [a.labels[CONFIG_LABEL] for a in promoted] == [t.labels[CONFIG_LABEL] for t in eligible[:3]]


def test_a_rung_with_mostly_failures_completes_with_the_survivors(space):
    trials = _first_rung(space, _settings(), True, {i: "failed" for i in range(8)})
    nxt = suggest(space, _settings(), trials, 2, minimize=True)
    assert _key(nxt[0].labels) == (0, 2, 1, 8)  # the only success is promoted
    assert _key(nxt[1].labels)[:2] == (0, 1)  # then the next bracket starts


def test_a_running_trial_holds_back_its_rung(space):
    trials = _first_rung(space, _settings(), True, {4: "running"})
    nxt = suggest(space, _settings(), trials, 3, minimize=True)
    assert all(_key(a.labels)[:2] == (0, 1) for a in nxt)


def test_deterministic_and_independent_of_trial_order(space):
    trials = _first_rung(space, _settings(), True)
    first = suggest(space, _settings(), trials, 12, minimize=True)
    shuffled = list(trials)
    random.Random(3).shuffle(shuffled)
    assert suggest(space, _settings(), shuffled, 12, minimize=True) == first
    other_seed = suggest(space, _settings(seed=2), [], 3, minimize=True)
    assert other_seed != suggest(space, _settings(), [], 3, minimize=True)


def test_foreign_trials_are_ignored(space):
    foreign = TrialRecord("manual", {"lr": "0.1", "epochs": "9", "act": "relu"}, {}, "succeeded", 0.0)
    expected = suggest(space, _settings(), [], 2, minimize=True)
    assert suggest(space, _settings(), [foreign], 2, minimize=True) == expected


def _simulate(space, settings, parallel, total, fail_rate, seed):
    """A controller: keeps ``parallel`` trials running, finishes one at random at a time."""
    rng = random.Random(seed)
    trials: dict[str, TrialRecord] = {}
    running: list[str] = []
    while len(trials) < total or running:
        want = min(parallel - len(running), total - len(trials))
        new = suggest(space, settings, list(trials.values()), max(want, 0), minimize=True)
        assert len(new) == max(want, 0)
        for a in new:
            name = f"trial-{len(trials):04d}"
            trials[name] = TrialRecord(name, a.parameters, a.labels, "running", None)
            running.append(name)
        done = trials[running.pop(rng.randrange(len(running)))]
        failed = rng.random() < fail_rate
        lr, epochs = float(done.parameters["lr"]), float(done.parameters["epochs"])
        value = abs(math.log10(lr) + 2) / math.sqrt(epochs)
        trials[done.name] = TrialRecord(
            done.name,
            done.parameters,
            done.labels,
            "failed" if failed else "succeeded",
            None if failed else value,
        )
    return list(trials.values())


def test_sync_completes_whole_iterations_with_exact_rung_sizes(space):
    settings = _settings(max_resource=9)
    trials = _simulate(space, settings, parallel=4, total=150, fail_rate=0.0, seed=0)
    sizes = Counter(_key(t.labels)[:3] for t in trials)
    for bracket in brackets(9, 3):
        for i, rung in enumerate(bracket.rungs):
            assert sizes[(0, bracket.s, i)] == rung.n
            assert sizes[(1, bracket.s, i)] == rung.n


def test_sync_promotions_are_the_top_of_each_finished_rung(space):
    settings = _settings(max_resource=9)
    trials = _simulate(space, settings, parallel=5, total=120, fail_rate=0.15, seed=4)
    by_key = {_key(t.labels): t for t in trials}
    table = {b.s: b for b in brackets(9, 3)}
    for (iteration, s, rung, _config), trial in by_key.items():
        if rung == 0:
            continue
        below = [t for k, t in by_key.items() if k[:3] == (iteration, s, rung - 1)]
        assert all(t.status != "running" for t in below)
        ok = sorted((t for t in below if t.status == "succeeded"), key=lambda t: t.objective)
        winners = {t.labels[CONFIG_LABEL] for t in ok[: table[s].rungs[rung - 1].keep]}
        assert trial.labels[CONFIG_LABEL] in winners
        assert trial.parameters["epochs"] == str(int(table[s].rungs[rung].resource))


def test_async_promotes_as_soon_as_a_rung_allows(space):
    settings = _settings(variant="async")
    first = suggest(space, settings, [], 3, minimize=True)
    assert all(_key(a.labels)[:3] == (0, 2, 0) for a in first)
    trials = _finish(first, 0)
    nxt = suggest(space, settings, trials, 2, minimize=True)
    best = min(trials, key=lambda t: t.objective)
    assert _key(nxt[0].labels) == (0, 2, 1, int(best.labels[CONFIG_LABEL]))
    assert _key(nxt[1].labels) == (0, 2, 0, 3)  # nothing else to promote: a new configuration


def test_async_never_waits_and_never_promotes_failures(space):
    settings = _settings(variant="async", max_resource=9)
    trials = _simulate(space, settings, parallel=6, total=150, fail_rate=0.2, seed=1)
    by_key = {_key(t.labels): t for t in trials}
    top = [t for k, t in by_key.items() if k[2] == 2]
    assert top, "the asynchronous schedule reaches the maximum resource"
    for (it, s, rung, config), _trial in by_key.items():
        if rung:
            source = by_key[(it, s, rung - 1, config)]
            assert source.status == "succeeded" and source.objective is not None


def test_async_brackets_take_turns(space):
    settings = _settings(variant="async", async_brackets=3)
    assignments = suggest(space, settings, [], 6, minimize=True)
    assert [_key(a.labels)[1] for a in assignments] == [2, 1, 0, 2, 1, 0]
    assert [a.parameters["epochs"] for a in assignments[:3]] == ["1", "3", "9"]


def test_rejects_a_negative_count(space):
    with pytest.raises(ValueError, match="count must be >= 0"):
        suggest(space, _settings(), [], -1, minimize=True)


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="status 'done'"):
        TrialRecord("t", {}, {}, "done", 1.0)
