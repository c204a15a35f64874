"""Real local runs: subprocess trials, Katib's stopping rules, results on disk, clean interruption."""

from __future__ import annotations

import csv
import json
import os
import signal

import pytest

from katib.experiments import Algorithm, ExperimentValidationError, Objective, UnboundDataError
from katib.hyperband import BRACKET_LABEL, RUNG_LABEL, brackets
from katib.local import LocalRunError, run_experiment
from katib.space import SearchSpace, categorical, discrete


def _quiet(_: str) -> None:
    pass


def _loss(p) -> float:
    return (
        (float(p["x"]) - 0.3) ** 2
        + (float(p.get("y", 0.0)) + 0.2) ** 2
        + {"a": 0.0, "b": 0.1}[p.get("opt", "a")]
    )


@pytest.mark.parametrize("algorithm", [Algorithm.random(seed=4), Algorithm.tpe(seed=2)])
def test_random_and_tpe_run_every_trial_and_report_the_true_best(algorithm, make_experiment, tmp_path):
    result = run_experiment(make_experiment(algorithm), tmp_path, log=_quiet)
    assert (result.status, result.reason) == ("Succeeded", "ExperimentMaxTrialsReached")
    assert [t.status for t in result.trials] == ["Succeeded"] * 6
    for trial in result.trials:
        assert trial.objective == pytest.approx(_loss(trial.parameters) + 1.0, abs=1e-5)  # one epoch: 1/1
        assert trial.metrics["accuracy"] > 0
    best = min(result.trials, key=lambda t: t.objective)
    assert result.best is best
    saved = json.loads((tmp_path / "best_trial.json").read_text())
    assert saved["name"] == best.name and saved["objective"] == {
        "name": "loss",
        "value": best.objective,
        "strategy": "min",
    }
    assert saved["parameters"] == best.parameter_text() and set(saved["metrics"]) == {"loss", "accuracy"}
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["trial"] for r in rows] == [f"quad-00{i}" for i in range(1, 7)]
    assert "| Succeeded |" in (tmp_path / "results.md").read_text()


def test_grid_ends_when_the_grid_is_exhausted(make_experiment, tmp_path):
    space = SearchSpace.of([discrete("x", [0.1, 0.3]), categorical("opt", ["a", "b"])])
    result = run_experiment(make_experiment(Algorithm.grid(), space, max=10), tmp_path, log=_quiet)
    assert (result.status, result.reason) == ("Succeeded", "ExperimentSuggestionEndReached")
    assert sorted((t.parameters["x"], t.parameters["opt"]) for t in result.trials) == [
        (0.1, "a"),
        (0.1, "b"),
        (0.3, "a"),
        (0.3, "b"),
    ]
    assert result.best_parameters() == {"x": "0.3", "opt": "a"}


def test_hyperband_runs_through_the_core_with_labels_and_resources(make_experiment, epochs_space, tmp_path):
    total = sum(b.trial_count for b in brackets(9, 3))
    experiment = make_experiment(
        Algorithm.hyperband("epochs", 9, 3), epochs_space, parallel=3, max=total, failed=3
    )
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert result.succeeded and len(result.trials) == total
    for trial in result.trials:
        assert trial.labels[RUNG_LABEL] and trial.labels[BRACKET_LABEL]
        assert trial.objective == pytest.approx(
            (trial.parameters["x"] - 0.3) ** 2 + 0.04 + 1 / trial.parameters["epochs"], abs=1e-5
        )
    full = [t for t in result.trials if t.parameters["epochs"] == 9]
    assert len(full) == sum(b.rungs[-1].n for b in brackets(9, 3))
    report = (tmp_path / "results.md").read_text()
    assert "## Hyperband brackets" in report and "### Iteration 0, bracket s=2" in report
    schedule = (tmp_path / "schedule.html").read_text()
    # one chart per bracket; one dot per trial; a line for every configuration promoted at least once
    assert [f"bracket s={s}" in schedule for s in (0, 1, 2)] == [True, True, True]
    assert schedule.count("<circle") == total
    promoted = sum(b.rungs[1].n for b in brackets(9, 3) if len(b.rungs) > 1)
    assert schedule.count("<polyline") == promoted


def test_goal_stops_the_experiment_early_and_kills_running_trials(make_experiment, tmp_path):
    # Minimise loss with goal 10: the first finished trial reaches it; the slow one is killed.
    space = SearchSpace.of([discrete("x", [0.3, 0.9])])
    experiment = make_experiment(
        Algorithm.grid(),
        space,
        extra_args=("--sleep", "0"),
        objective=Objective("loss", goal=10.0),
        parallel=2,
        max=2,
    )
    container = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [
        a if a != "0" else "${trialParameters.x}" for a in container["command"]
    ]  # sleep x s
    experiment["spec"]["maxTrialCount"] = 2
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert (result.status, result.reason) == ("Succeeded", "ExperimentGoalReached")
    statuses = {t.parameters["x"]: t.status for t in result.trials}
    assert statuses[0.3] == "Succeeded"
    assert statuses[0.9] in ("Killed", "Succeeded")  # killed unless it finished within the same poll


def test_goal_stops_before_max_trials(make_experiment, tmp_path):
    space = SearchSpace.of([discrete("x", [0.3, 0.31, 0.32, 0.33, 0.34, 0.35])])
    experiment = make_experiment(
        Algorithm.grid(), space, objective=Objective("loss", goal=1.5), parallel=1, max=6
    )
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert result.reason == "ExperimentGoalReached" and len(result.trials) == 1


def test_max_failed_trial_count_fails_the_experiment_with_a_clear_message(make_experiment, tmp_path):
    experiment = make_experiment(
        Algorithm.random(seed=0), extra_args=("--fail-above", "-2"), parallel=1, failed=2
    )
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert (result.status, result.reason) == ("Failed", "ExperimentFailed")
    assert len(result.trials) == 2 and all(t.status == "Failed" for t in result.trials)
    assert "2 trial(s) failed, maxFailedTrialCount is 2" in result.message
    assert "exit code 3" in result.message and "is too large" in result.message
    assert "trial.log" in result.message
    with pytest.raises(Exception, match="failed: 2 trial"):
        result.raise_for_status()
    assert json.loads((tmp_path / "experiment_result.json").read_text())["status"] == "Failed"


def test_missing_objective_metric_counts_as_failed(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), extra_args=("--silent",), parallel=1, failed=1)
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert result.status == "Failed"
    assert result.trials[0].status == "MetricsUnavailable"
    assert "objective metric 'loss' not found" in result.trials[0].message


def test_substitution_env_and_working_directory(make_experiment, tmp_path):
    experiment = make_experiment(
        Algorithm.random(seed=0), extra_args=("--record", "seen.json"), parallel=1, max=1
    )
    container = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    at = command.index("--opt")
    container["command"] = command[:at] + command[at + 2 :]  # command + args, as in a pod
    container["args"] = ["--opt", "${trialParameters.opt}"]
    container["env"] = [{"name": "FROM_TEMPLATE", "value": "${trialParameters.x}"}]
    result = run_experiment(experiment, tmp_path, env={"EXTRA": "yes"}, log=_quiet)
    trial = result.trials[0]
    seen = json.loads((tmp_path / "trials" / trial.name / "seen.json").read_text())
    assert seen["argv"][seen["argv"].index("--x") + 1] == trial.parameter_text()["x"]
    assert seen["argv"][seen["argv"].index("--opt") + 1] == trial.parameters["opt"]
    assert seen["cwd"] == str(tmp_path / "trials" / trial.name)
    assert (seen["trial"], seen["extra"], seen["from_template"]) == (
        trial.name,
        "yes",
        trial.parameter_text()["x"],
    )
    assert (tmp_path / "trials" / trial.name / "command.txt").read_text().startswith(os.sys.executable)


def test_metadata_reference_gives_the_trial_its_name(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), parallel=1, max=1)
    template = experiment["spec"]["trialTemplate"]
    template["trialParameters"].append({"name": "trialName", "reference": "${trialSpec.Name}"})
    container = template["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["args"] = ["--record", "${trialParameters.trialName}.json"]
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert (tmp_path / "trials" / "quad-001" / "quad-001.json").exists() and result.succeeded


def test_parallel_trials_are_bounded(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), extra_args=("--sleep", "0.3"), parallel=3, max=3)
    lines: list[str] = []
    run_experiment(experiment, tmp_path, max_parallel=1, log=lines.append)
    started = [i for i, line in enumerate(lines) if " started " in line]
    finished = [i for i, line in enumerate(lines) if " Succeeded quad-" in line]
    assert len(started) == len(finished) == 3
    assert all(f < s for f, s in zip(finished, started[1:], strict=False))  # one at a time
    assert "1 at a time" in lines[0] and "best loss=" in lines[finished[-1]]


def test_deadline_from_the_job_spec_fails_a_slow_trial(make_experiment, tmp_path):
    experiment = make_experiment(
        Algorithm.random(seed=0), extra_args=("--sleep", "30"), parallel=1, max=1, failed=1
    )
    experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["activeDeadlineSeconds"] = 1
    result = run_experiment(experiment, tmp_path, log=_quiet)
    assert result.trials[0].status == "Failed" and "activeDeadlineSeconds" in result.trials[0].message


def test_interrupt_kills_running_trials_and_writes_partial_results(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), extra_args=("--sleep", "30"), parallel=2, max=4)

    def interrupt_after_starts(line: str, started=[]) -> None:  # noqa: B006 - a counter across calls
        if " started " in line:
            started.append(line)
            if len(started) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment, tmp_path, log=interrupt_after_starts)
    summary = json.loads((tmp_path / "experiment_result.json").read_text())
    assert summary["status"] == "Killed" and summary["trial_counts"] == {"Killed": 2}


def test_sigterm_is_handled_like_ctrl_c(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), extra_args=("--sleep", "30"), parallel=1, max=2)

    def terminate_on_start(line: str) -> None:
        if " started " in line:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment, tmp_path, log=terminate_on_start)
    assert json.loads((tmp_path / "experiment_result.json").read_text())["trial_counts"] == {"Killed": 1}
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_results_are_not_overwritten_without_permission(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0), parallel=1, max=1)
    run_experiment(experiment, tmp_path, log=_quiet)
    with pytest.raises(FileExistsError, match="already holds results"):
        run_experiment(experiment, tmp_path, log=_quiet)
    assert run_experiment(experiment, tmp_path, overwrite=True, log=_quiet).succeeded


def test_same_seed_same_experiment(make_experiment, tmp_path):
    # One trial at a time: with more, what the algorithm sees depends on which trial finishes first.
    first = run_experiment(make_experiment(Algorithm.tpe(), parallel=1), tmp_path / "a", seed=3, log=_quiet)
    second = run_experiment(make_experiment(Algorithm.tpe(), parallel=1), tmp_path / "b", seed=3, log=_quiet)
    assert [t.parameters for t in first.trials] == [t.parameters for t in second.trials]


def test_experiments_that_cannot_run_say_why(make_experiment, tmp_path):
    experiment = make_experiment(Algorithm.random(seed=0))
    experiment["spec"]["trialTemplate"]["trialParameters"][0]["reference"] = "learning_rate"
    with pytest.raises(ExperimentValidationError, match="'learning_rate' is not a parameter"):
        run_experiment(experiment, tmp_path, log=_quiet)
    experiment = make_experiment(Algorithm("cmaes"))
    with pytest.raises(LocalRunError, match="cannot run locally"):
        run_experiment(experiment, tmp_path, log=_quiet)
    experiment = make_experiment(Algorithm.random(seed=0), extra_args=("--data", "${kwp.train}"))
    with pytest.raises(UnboundDataError, match="--data train=PATH"):
        run_experiment(experiment, tmp_path, log=_quiet)
    experiment["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "File"},
        "source": {"fileSystemPath": {}},
    }
    with pytest.raises(LocalRunError, match="StdOut only"):
        run_experiment(experiment, tmp_path, data={"train": "x"}, log=_quiet)
    experiment = make_experiment(Algorithm.random(seed=0))
    del experiment["spec"]["maxTrialCount"]
    with pytest.raises(LocalRunError, match="maxTrialCount"):
        run_experiment(experiment, tmp_path, log=_quiet)


def test_data_bindings_become_absolute_paths(make_experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.parquet").write_text("")
    experiment = make_experiment(
        Algorithm.random(seed=0), extra_args=("--record", "${kwp.train}.json"), parallel=1, max=1
    )
    result = run_experiment(experiment, tmp_path / "out", data={"train": "train.parquet"}, log=_quiet)
    assert result.succeeded and (tmp_path / "train.parquet.json").exists()


def test_negative_max_parallel_is_rejected(make_experiment, tmp_path):
    with pytest.raises(LocalRunError, match="max_parallel must be >= 0"):
        run_experiment(make_experiment(Algorithm.random(seed=0)), tmp_path, max_parallel=-1, log=_quiet)
