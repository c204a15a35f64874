"""Output artifacts from an ExperimentResult, with KFP's own artifact classes."""

import json

from kfp import dsl

from components.tune.outputs import best_objective_text, best_parameters_json, publish
from katib.local import ExperimentResult, TrialOutcome


def _result(trials, status="Succeeded") -> ExperimentResult:
    return ExperimentResult("exp", status, "ExperimentMaxTrialsReached", "done", "loss", True, trials, "min")


def test_publish_fills_metrics_report_and_best_trial(tmp_path):
    trials = [
        TrialOutcome(
            "exp-1", {"lr": 0.1}, status="Succeeded", objective=0.4, metrics={"loss": 0.4, "note": "x"}
        ),
        TrialOutcome(
            "exp-2", {"lr": 0.01}, status="Succeeded", objective=0.2, metrics={"loss": 0.2, "acc": 0.9}
        ),
        TrialOutcome("exp-3", {"lr": 1.0}, status="Failed", message="exit code 1"),
    ]
    metrics = dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics"))
    report = dsl.Markdown(name="report", uri=str(tmp_path / "report"))
    best = dsl.Artifact(name="best", uri=str(tmp_path / "best"))
    params, objective, name = publish(_result(trials), metrics, report, best)
    assert (json.loads(params), objective, name) == ({"lr": "0.01"}, "0.2", "exp")
    assert metrics.metadata == {
        "loss": 0.2,
        "acc": 0.9,
        "trials": 3.0,
        "trials_succeeded": 2.0,
        "trials_failed": 1.0,
        "trials_metricsunavailable": 0.0,
        "trials_killed": 0.0,
    }
    assert "| exp-3 | Failed | 1.0 |" in (tmp_path / "report").read_text()
    assert json.loads((tmp_path / "best").read_text())["name"] == "exp-2"
    assert best.metadata["parameters"] == {"lr": "0.01"} and report.metadata["status"] == "Succeeded"


def test_no_successful_trial_gives_empty_outputs():
    result = _result([TrialOutcome("exp-1", {"lr": 0.1}, status="Failed")], status="Failed")
    assert best_parameters_json(result) == "{}" and best_objective_text(result) == ""


def test_string_objectives_are_passed_as_text():
    genotype = "Genotype(normal=[[('skip_connection',0)]])"
    result = _result(
        [TrialOutcome("d-1", {}, status="Succeeded", objective=genotype, metrics={"Best-Genotype": genotype})]
    )
    assert best_objective_text(result) == genotype
