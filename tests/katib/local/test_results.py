"""Result types and reports, also for trials read back from a Katib cluster."""

from __future__ import annotations

from katib.hyperband import BRACKET_LABEL, CONFIG_LABEL, ITERATION_LABEL, RESOURCE_LABEL, RUNG_LABEL
from katib.local import ExperimentResult, TrialOutcome, markdown_report, outcome_from_katib_trial, results_csv
from katib.local.results import best_trial


def _hb(name, bracket, rung, config, resource, value, status="Succeeded"):
    labels = {
        ITERATION_LABEL: "0",
        BRACKET_LABEL: str(bracket),
        RUNG_LABEL: str(rung),
        CONFIG_LABEL: str(config),
        RESOURCE_LABEL: str(resource),
    }
    return TrialOutcome(name, {"x": 0.1 * config, "epochs": resource}, labels, status, value, {"loss": value})


def test_best_trial_follows_katib():
    trials = [
        TrialOutcome("a", {}, status="Succeeded", objective=0.5),
        TrialOutcome("b", {}, status="Failed"),
        TrialOutcome("c", {}, status="Succeeded", objective=0.2),
        TrialOutcome("d", {}, status="Succeeded", objective=float("nan")),
    ]
    assert best_trial(trials, minimize=True).name == "c"
    assert best_trial(trials, minimize=False).name == "a"
    genotypes = [
        TrialOutcome("g1", {}, status="Succeeded", objective="Genotype(a)"),
        TrialOutcome("g2", {}, status="Succeeded", objective="Genotype(b)"),
    ]
    assert best_trial(genotypes, minimize=False).name == "g2"  # a string metric: the latest


def test_markdown_groups_hyperband_trials_by_bracket_and_rung():
    trials = [
        _hb("t1", 1, 0, 0, 3, 0.9),
        _hb("t2", 1, 0, 1, 3, 0.5),
        _hb("t3", 1, 1, 1, 9, 0.3),
        _hb("t4", 0, 0, 0, 9, None, "Failed"),
    ]
    result = ExperimentResult(
        "hb", "Succeeded", "ExperimentMaxTrialsReached", "done", "loss", True, trials, "min"
    )
    report = markdown_report(result)
    assert "### Iteration 0, bracket s=0" in report and "### Iteration 0, bracket s=1" in report
    assert "| config | rung 0 (3) | rung 1 (9) |" in report
    assert "| 1 | 0.5 | 0.3 |" in report and "| 0 | 0.9 |  |" in report and "| 0 | Failed |" in report
    assert "Best trial: `t3`, loss = 0.3" in report
    header = results_csv(result).splitlines()[0].split(",")
    assert (
        header[:5] == ["trial", "status", "x", "epochs", "loss"] and "rung" in header and "bracket" in header
    )


def test_trial_objects_from_the_cluster_become_outcomes():
    trial = {
        "metadata": {"name": "exp-abc", "labels": {"katib.kubeflow.org/experiment": "exp"}},
        "spec": {
            "objective": {"objectiveMetricName": "loss"},
            "parameterAssignments": [{"name": "lr", "value": "0.01"}],
            "labels": {RUNG_LABEL: "1"},
        },
        "status": {
            "conditions": [{"type": "Created", "status": "True"}, {"type": "Succeeded", "status": "True"}],
            "observation": {
                "metrics": [
                    {"name": "loss", "latest": "0.4", "min": "0.3", "max": "0.9"},
                    {"name": "acc", "latest": "0.8", "min": "unavailable", "max": "0.8"},
                ]
            },
        },
    }
    outcome = outcome_from_katib_trial(trial, {"loss": "min", "acc": "latest"})
    assert (outcome.name, outcome.status, outcome.objective) == ("exp-abc", "Succeeded", 0.3)
    assert outcome.parameters == {"lr": "0.01"} and outcome.metrics == {"loss": 0.3, "acc": 0.8}
    assert outcome.labels == {RUNG_LABEL: "1"}
    trial["status"]["conditions"][-1] = {
        "type": "Succeeded",
        "status": "False",
        "reason": "MetricsUnavailable",
    }
    assert outcome_from_katib_trial(trial, {}).status == "MetricsUnavailable"
    trial["status"]["conditions"].append({"type": "Failed", "status": "True", "message": "boom"})
    failed = outcome_from_katib_trial(trial, {})
    assert (failed.status, failed.message) == ("Failed", "boom")
    assert outcome_from_katib_trial({"metadata": {"name": "p"}}, {}).status == "Running"
