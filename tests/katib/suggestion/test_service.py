"""The service driven the way Katib's experiment controller drives it, over real gRPC on loopback.

``SimulatedController`` stands in for Katib's controller (no Kubernetes here): each round it asks for
``parallelTrialCount - active`` assignments, rejects a reply of any other size (as Katib does), turns
the assignments into trials with their labels, and finishes one running trial at random: most succeed
with an objective from a synthetic function of (parameters, resource), some fail, lose their metrics,
are early-stopped with a tempting objective, or are killed.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

import grpc
import pytest
from kubeflow.katib import katib_api_pb2 as pb

from katib.hyperband import BRACKET_LABEL, CONFIG_LABEL, ITERATION_LABEL, RUNG_LABEL, brackets

SUCCEEDED = pb.TrialStatus.SUCCEEDED
BAD_ENDINGS = (
    pb.TrialStatus.FAILED,
    pb.TrialStatus.METRICSUNAVAILABLE,
    pb.TrialStatus.EARLYSTOPPED,
    pb.TrialStatus.KILLED,
)


def synthetic_loss(parameters: dict[str, str]) -> float:
    """Best near lr=1e-2 and width=48; more epochs always help."""
    lr, width, epochs = float(parameters["lr"]), int(parameters["width"]), float(parameters["epochs"])
    penalty = 0.1 if parameters["act"] == "tanh" else 0.0
    return (math.log10(lr) + 2) ** 2 + ((width - 48) / 40) ** 2 + penalty + 2 / math.sqrt(epochs)


class SimulatedController:
    def __init__(self, stub, experiment, seed, bad_rate=0.2):
        self.stub, self.experiment = stub, experiment
        self.rng = random.Random(seed)
        self.bad_rate = bad_rate
        self.trials: dict[str, pb.Trial] = {}
        self.requests: list[tuple[int, int]] = []  # (asked, got)

    @property
    def running(self) -> list[str]:
        return [n for n, t in self.trials.items() if t.status.condition == pb.TrialStatus.RUNNING]

    def run(self) -> None:
        spec = self.experiment.spec
        while len(self.trials) < spec.max_trial_count or self.running:
            want = min(spec.parallel_trial_count - len(self.running), spec.max_trial_count - len(self.trials))
            if want > 0:
                self._request(want)
            self._finish(self.rng.choice(self.running))

    def _request(self, want: int) -> None:
        request = pb.GetSuggestionsRequest(
            experiment=self.experiment,
            trials=list(self.trials.values()),
            current_request_number=want,
            total_request_number=len(self.trials) + want,
        )
        reply = self.stub.GetSuggestions(request, timeout=30)
        self.requests.append((want, len(reply.parameter_assignments)))
        assert len(reply.parameter_assignments) == want, "Katib rejects a reply of any other size"
        for assignment in reply.parameter_assignments:
            name = f"hyperband-test-{len(self.trials):04d}"
            self.trials[name] = pb.Trial(
                name=name,
                spec=pb.TrialSpec(
                    objective=self.experiment.spec.objective,
                    parameter_assignments=pb.TrialSpec.ParameterAssignments(
                        assignments=assignment.assignments
                    ),
                    labels=dict(assignment.labels),
                ),
                status=pb.TrialStatus(condition=pb.TrialStatus.RUNNING),
            )

    def _finish(self, name: str) -> None:
        trial = self.trials[name]
        values = {a.name: a.value for a in trial.spec.parameter_assignments.assignments}
        loss = synthetic_loss(values)
        if self.rng.random() < self.bad_rate:
            condition = self.rng.choice(BAD_ENDINGS)
            loss = -100.0  # a value that would win every ranking, if it were ever considered
        else:
            condition = SUCCEEDED
        metrics = (
            []
            if condition == pb.TrialStatus.METRICSUNAVAILABLE
            else [pb.Metric(name="loss", value=repr(loss))]
        )
        trial.status.condition = condition
        trial.status.observation.CopyFrom(pb.Observation(metrics=metrics))


def _place(trial):
    labels = trial.spec.labels
    return tuple(int(labels[k]) for k in (ITERATION_LABEL, BRACKET_LABEL, RUNG_LABEL, CONFIG_LABEL))


def _by_rung(trials):
    rungs = defaultdict(dict)
    for trial in trials:
        iteration, bracket, rung, config = _place(trial)
        rungs[(iteration, bracket, rung)][config] = trial
    return rungs


def _loss(trial):
    return float(trial.status.observation.metrics[0].value)


SYNC = [("resource_name", "epochs"), ("r_l", "9"), ("eta", "3"), ("random_state", "3")]


@pytest.mark.parametrize(("parallel", "seed"), [(1, 0), (4, 1), (7, 2)])
def test_sync_schedule_completes_with_exact_counts(stub, make_experiment, parallel, seed):
    controller = SimulatedController(stub, make_experiment(SYNC, parallel=parallel, max_trials=70), seed)
    controller.run()
    assert len(controller.trials) == 70
    assert all(asked == got for asked, got in controller.requests)
    rungs = _by_rung(controller.trials.values())
    table = {b.s: b for b in brackets(9, 3)}
    for (iteration, s, rung), members in rungs.items():
        if rung == 0:
            assert len(members) <= table[s].rungs[0].n
            continue
        below = rungs[(iteration, s, rung - 1)]
        assert all(t.status.condition != pb.TrialStatus.RUNNING for t in below.values())
        eligible = sorted((t for t in below.values() if t.status.condition == SUCCEEDED), key=_loss)
        winners = {c for c, t in below.items() if t in eligible[: table[s].rungs[rung - 1].keep]}
        assert set(members) <= winners, "only the top 1/eta of a finished rung is promoted"
        if iteration == 0:
            assert set(members) == winners, "every winner of the first iteration was promoted"
        for config, trial in members.items():
            resource = table[s].rungs[rung].resource
            assert dict(trial.spec.labels)[RUNG_LABEL] == str(rung)
            values = {a.name: a.value for a in trial.spec.parameter_assignments.assignments}
            assert values["epochs"] == str(int(resource))
            source = {a.name: a.value for a in below[config].spec.parameter_assignments.assignments}
            assert {k: v for k, v in values.items() if k != "epochs"} == {
                k: v for k, v in source.items() if k != "epochs"
            }
    # The first Hyperband iteration ran to its end: each bracket reached its last rung, or a rung
    # whose trials all ended badly stopped it.
    for bracket in table.values():
        last = max(r for (it, s, r) in rungs if (it, s) == (0, bracket.s))
        finished = last == bracket.s or not any(
            t.status.condition == SUCCEEDED for t in rungs[(0, bracket.s, last)].values()
        )
        assert finished, f"bracket s={bracket.s} of iteration 0 stopped at rung {last}"


def test_no_badly_ended_trial_is_ever_promoted(stub, make_experiment):
    controller = SimulatedController(
        stub, make_experiment(SYNC, parallel=5, max_trials=90), seed=9, bad_rate=0.35
    )
    controller.run()
    trials = {_place(t): t for t in controller.trials.values()}
    promoted = [place for place in trials if place[2] > 0]
    assert promoted
    for iteration, s, rung, config in promoted:
        source = trials[(iteration, s, rung - 1, config)]
        assert source.status.condition == SUCCEEDED


def test_async_variant_fills_every_request(stub, make_experiment):
    settings = [*SYNC, ("variant", "async"), ("async_brackets", "2")]
    controller = SimulatedController(stub, make_experiment(settings, parallel=6, max_trials=80), seed=5)
    controller.run()
    assert all(asked == got for asked, got in controller.requests)
    trials = {_place(t): t for t in controller.trials.values()}
    assert {place[1] for place in trials} == {2, 1}
    assert any(place[2] == 2 for place in trials), "configurations reach the maximum resource"
    for iteration, s, rung, config in trials:
        if rung:
            assert trials[(iteration, s, rung - 1, config)].status.condition == SUCCEEDED


def test_maximize_promotes_the_largest_objective(stub, make_experiment):
    experiment = make_experiment(SYNC, parallel=9, max_trials=9, maximize=True)
    first = stub.GetSuggestions(pb.GetSuggestionsRequest(experiment=experiment, current_request_number=9))
    trials = []
    for k, a in enumerate(first.parameter_assignments):
        trials.append(
            pb.Trial(
                name=f"t{k}",
                spec=pb.TrialSpec(
                    parameter_assignments=pb.TrialSpec.ParameterAssignments(assignments=a.assignments),
                    labels=dict(a.labels),
                ),
                status=pb.TrialStatus(
                    condition=SUCCEEDED,
                    observation=pb.Observation(metrics=[pb.Metric(name="loss", value=str(k))]),
                ),
            )
        )
    reply = stub.GetSuggestions(
        pb.GetSuggestionsRequest(experiment=experiment, trials=trials, current_request_number=3)
    )
    assert [dict(a.labels)[CONFIG_LABEL] for a in reply.parameter_assignments] == ["8", "7", "6"]


def test_zero_requested_gives_an_empty_reply(stub, make_experiment):
    reply = stub.GetSuggestions(
        pb.GetSuggestionsRequest(experiment=make_experiment(SYNC), current_request_number=0)
    )
    assert len(reply.parameter_assignments) == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([("resource_name", "epochs"), ("r_l", "81"), ("eta", "1")], "eta must be greater than 1"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("eta", "-2")], "eta must be greater than 1"),
        ([("resource_name", "epochs"), ("r_l", "0")], "maximum resource .* must be positive"),
        ([("resource_name", "epochs"), ("r_l", "-9")], "must be positive"),
        ([("resource_name", "epochs")], "r_l .* is missing"),
        ([("r_l", "81")], "resource_name is missing"),
        ([("resource_name", "batch_size"), ("r_l", "81")], "'batch_size' is not a parameter"),
        ([("resource_name", "act"), ("r_l", "81")], "categorical"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("bogus", "1")], "unknown algorithm setting 'bogus'"),
    ],
)
def test_validate_rejects_bad_settings(stub, make_experiment, settings, message):
    with pytest.raises(grpc.RpcError) as caught:
        stub.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=make_experiment(settings))
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("kwp-hyperband: ")
    assert __import__("re").search(message, caught.value.details()), caught.value.details()


def test_validate_accepts_good_settings(stub, make_experiment):
    reply = stub.ValidateAlgorithmSettings(
        pb.ValidateAlgorithmSettingsRequest(experiment=make_experiment([*SYNC, ("variant", "async")]))
    )
    assert isinstance(reply, pb.ValidateAlgorithmSettingsReply)


def test_get_suggestions_with_bad_settings_is_invalid_argument(stub, make_experiment):
    bad = make_experiment([("resource_name", "epochs"), ("r_l", "81"), ("eta", "0")])
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetSuggestions(pb.GetSuggestionsRequest(experiment=bad, current_request_number=2))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unsupported_distribution_is_invalid_argument(stub, make_experiment):
    parameters = (("lr", pb.DOUBLE, 0.1, 1.0, (), False), ("epochs", pb.INT, 1, 9, (), False))
    experiment = make_experiment(SYNC, parameters=parameters)
    experiment.spec.parameter_specs.parameters[0].feasible_space.distribution = pb.NORMAL
    with pytest.raises(grpc.RpcError) as caught:
        stub.ValidateAlgorithmSettings(pb.ValidateAlgorithmSettingsRequest(experiment=experiment))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "distribution" in caught.value.details()
