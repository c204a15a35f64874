"""Katib's webhook rules, one broken Experiment at a time; every problem is reported with its path."""

from __future__ import annotations

import pytest

from katib.experiments import (
    ExperimentValidationError,
    apply_defaults,
    experiment_issues,
    validate_experiment,
)
from katib.experiments.examples import example_experiments


def _paths(doc) -> list[str]:
    return [issue.path for issue in experiment_issues(doc)]


def test_the_fixture_is_valid(valid):
    validate_experiment(valid)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d["metadata"].update(name="Bad_Name"), "metadata.name", "lower-case"),
        (
            lambda d: d["spec"].update(parallelTrialCount=5),
            "spec.parallelTrialCount",
            "<= spec.maxTrialCount",
        ),
        (
            lambda d: d["spec"].update(maxFailedTrialCount=9),
            "spec.maxFailedTrialCount",
            "<= spec.maxTrialCount",
        ),
        (lambda d: d["spec"].update(maxTrialCount=0), "spec.maxTrialCount", "greater than 0"),
        (lambda d: d["spec"].update(maxFailedTrialCount=-1), "spec.maxFailedTrialCount", "less than 0"),
        (lambda d: d["spec"].update(parallelTrialCount="2"), "spec.parallelTrialCount", "integer"),
        (
            lambda d: d["spec"]["objective"].update(type="lower"),
            "spec.objective.type",
            "minimize or maximize",
        ),
        (
            lambda d: d["spec"]["objective"].update(additionalMetricNames=["loss"]),
            "spec.objective.additionalMetricNames",
            "objective",
        ),
        (
            lambda d: d["spec"]["algorithm"].update(algorithmName="annealing"),
            "spec.algorithm.algorithmName",
            "no suggestion service",
        ),
        (
            lambda d: d["spec"]["algorithm"].update(algorithmSettings=[{"name": "seed", "value": "1"}]),
            "spec.algorithm.algorithmSettings",
            "unknown setting 'seed'",
        ),
        (lambda d: d["spec"].update(resumePolicy="Sometimes"), "spec.resumePolicy", "Sometimes"),
        (
            lambda d: d["spec"]["parameters"][0].update(parameterType="float"),
            "spec.parameters[0].parameterType",
            "float",
        ),
        (
            lambda d: d["spec"]["parameters"][2]["feasibleSpace"].update(min="1"),
            "spec.parameters[2].feasibleSpace",
            "not supported for categorical",
        ),
        (lambda d: d["spec"]["parameters"][1]["feasibleSpace"].update(min="10"), "spec.parameters", "low=10"),
        (
            lambda d: d["spec"]["trialTemplate"]["trialParameters"][0].update(reference="learning_rate"),
            "spec.trialTemplate.trialParameters[0].reference",
            "not a parameter",
        ),
        (
            lambda d: d["spec"]["trialTemplate"]["trialParameters"].pop(),
            "spec.trialTemplate",
            "no entry in trialParameters",
        ),
        (
            lambda d: d["spec"]["trialTemplate"]["trialParameters"].append(
                {"name": "lr", "reference": "epochs"}
            ),
            "spec.trialTemplate.trialParameters[3].name",
            "repeated",
        ),
        (
            lambda d: d["spec"]["trialTemplate"].update(primaryContainerName="main"),
            "spec.trialTemplate.trialSpec",
            "no container named 'main'",
        ),
        (
            lambda d: d["spec"]["trialTemplate"]["trialSpec"].update(metadata={"name": "x"}),
            "spec.trialTemplate.trialSpec.metadata",
            "omitted",
        ),
        (
            lambda d: d["spec"]["trialTemplate"].update(configMap={"configMapName": "t"}),
            "spec.trialTemplate",
            "exactly one of trialSpec or configMap",
        ),
        (
            lambda d: d["spec"].update(metricsCollectorSpec={"collector": {"kind": "Stdout"}}),
            "spec.metricsCollectorSpec.collector.kind",
            "Stdout",
        ),
        (
            lambda d: d["spec"].update(
                metricsCollectorSpec={"source": {"filter": {"metricsFormat": ["(\\w+)=\\d"]}}}
            ),
            "spec.metricsCollectorSpec.source.filter.metricsFormat[0]",
            "two groups",
        ),
        (lambda d: d["spec"].update(nasConfig={"graphConfig": {"numLayers": 2}}), "spec", "only one of"),
    ],
)
def test_each_rule_reports_the_field_and_the_reason(valid, change, path, words):
    change(valid)
    with pytest.raises(ExperimentValidationError) as info:
        validate_experiment(valid)
    matching = [i for i in info.value.issues if i.path == path]
    assert matching, [str(i) for i in info.value.issues]
    assert words in matching[0].message
    assert path in str(info.value)


def test_several_problems_are_reported_together(valid):
    valid["spec"]["maxTrialCount"] = 0
    valid["spec"]["algorithm"]["algorithmName"] = "annealing"
    assert {"spec.maxTrialCount", "spec.algorithm.algorithmName"} <= set(_paths(valid))


def test_missing_objective_stops_further_checks_like_katib(valid):
    del valid["spec"]["objective"]
    assert _paths(valid) == ["spec.objective"]


def test_missing_conditions_are_defaulted_for_jobs_but_required_for_other_kinds(valid):
    template = valid["spec"]["trialTemplate"]
    del template["successCondition"], template["failureCondition"]
    validate_experiment(valid)  # a batch/v1 Job gets Katib's default conditions
    template["trialSpec"]["kind"] = "TrainJob"
    template["trialSpec"]["apiVersion"] = "trainer.kubeflow.org/v1alpha1"
    assert "successCondition and failureCondition" in str(experiment_issues(valid))


def test_defaults_match_katibs_defaulting_webhook():
    spec = apply_defaults({"trialTemplate": {"trialSpec": {"kind": "PyTorchJob"}}})
    assert spec["parallelTrialCount"] == 3
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert spec["trialTemplate"]["primaryPodLabels"] == {"training.kubeflow.org/job-role": "master"}
    assert '"Succeeded"' in spec["trialTemplate"]["successCondition"]


def test_metadata_references_are_allowed(valid):
    template = valid["spec"]["trialTemplate"]
    template["trialParameters"].append({"name": "trialName", "reference": "${trialSpec.Name}"})
    template["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"] += [
        "--out",
        "${trialParameters.trialName}",
    ]
    validate_experiment(valid)


def test_hyperband_settings_are_checked_by_the_core(valid):
    valid["spec"]["algorithm"] = {
        "algorithmName": "kwp-hyperband",
        "algorithmSettings": [{"name": "resource_name", "value": "opt"}, {"name": "r_l", "value": "9"}],
    }
    assert "categorical" in str(experiment_issues(valid))


def test_grid_needs_steps_for_doubles(valid):
    valid["spec"]["algorithm"] = {"algorithmName": "grid"}
    assert "step for double parameter 'lr'" in str(experiment_issues(valid))


def test_not_a_mapping():
    assert _paths({"kind": "Experiment"}) == ["spec"]


@pytest.mark.parametrize("value", ["false", "True", "sometimes"])
def test_darts_accepts_unrolled_which_katibs_service_passes_through(value):
    doc = example_experiments()["darts"]()
    doc["spec"]["algorithm"]["algorithmSettings"].append({"name": "unrolled", "value": value})
    issues = [issue.message for issue in experiment_issues(doc)]
    refused = [f"DARTS setting unrolled={value!r} must be true or false"]
    assert issues == (refused if value == "sometimes" else [])
