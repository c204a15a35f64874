"""Building Experiments through the Katib API models, serialising them, reading them back."""

from __future__ import annotations

import json

import pytest
import yaml
from kubeflow_katib_api.models import V1beta1Experiment

from katib.experiments import (
    Algorithm,
    ExperimentBuildError,
    ExperimentLoadError,
    ExperimentValidationError,
    Objective,
    build_experiment,
    experiment_to_dict,
    experiment_to_yaml,
    job_template,
    load_experiment,
    nas_config,
    parameter_args,
)


def test_builder_returns_the_katib_model_with_camel_case_fields(space, valid):
    assert valid["apiVersion"] == "kubeflow.org/v1beta1" and valid["kind"] == "Experiment"
    spec = valid["spec"]
    assert spec["parameters"][0] == {
        "name": "lr",
        "parameterType": "double",
        "feasibleSpace": {"min": "0.0001", "max": "0.1", "distribution": "logUniform"},
    }
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert spec["objective"] == {
        "additionalMetricNames": ["accuracy"],
        "goal": 0.01,
        "objectiveMetricName": "loss",
        "type": "minimize",
    }
    assert spec["algorithm"] == {
        "algorithmName": "random",
        "algorithmSettings": [{"name": "random_state", "value": "1"}],
    }
    assert list(valid) == ["apiVersion", "kind", "metadata", "spec"]
    assert V1beta1Experiment.from_dict(valid).to_dict()["spec"] == spec  # round trip through the model


def test_builder_validates_what_it_builds(space):
    with pytest.raises(ExperimentValidationError, match="parallelTrialCount"):
        build_experiment(
            "x",
            objective=Objective("loss"),
            algorithm=Algorithm.random(),
            space=space,
            trial_template=job_template("img", ["python", "t.py", *parameter_args(space)], space.names),
            parallel_trial_count=5,
            max_trial_count=2,
        )


def test_builder_requires_either_a_space_or_a_nas_config(space):
    template = job_template("img", ["python", "t.py"], [])
    with pytest.raises(ExperimentBuildError, match="exactly one"):
        build_experiment(
            "x", objective=Objective("loss"), algorithm=Algorithm.random(), trial_template=template
        )


def test_hyperband_algorithm_uses_our_service_name_and_katib_setting_names():
    algorithm = Algorithm.hyperband("epochs", 81, 3)
    assert algorithm.to_model().to_dict() == {
        "algorithmName": "kwp-hyperband",
        "algorithmSettings": [
            {"name": "resource_name", "value": "epochs"},
            {"name": "r_l", "value": "81"},
            {"name": "eta", "value": "3"},
        ],
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Objective("loss", "lower"), "minimize, maximize"),
        (lambda: Objective(""), "empty"),
        (lambda: Objective("loss", additional_metrics=("loss",)), "repeat"),
        (lambda: Objective("loss", strategies={"loss": "avg"}), "avg"),
        (lambda: Algorithm.darts(epochs=3), "epochs"),
    ],
)
def test_bad_builder_arguments_name_the_value(build, message):
    with pytest.raises(ExperimentBuildError, match=message):
        build()


def test_darts_builder_takes_katibs_settings_and_unrolled():
    algorithm = Algorithm.darts(num_epochs=3, unrolled="false")
    assert dict(algorithm.settings) == {"num_epochs": "3", "unrolled": "false"}


def test_nas_config_groups_filter_sizes_per_operation_type():
    config = nas_config(2, ["separable_convolution_3x3", "separable_convolution_5x5", "skip_connection"])
    assert config == {
        "graphConfig": {"numLayers": 2},
        "operations": [
            {
                "operationType": "separable_convolution",
                "parameters": [
                    {
                        "name": "filter_size",
                        "parameterType": "categorical",
                        "feasibleSpace": {"list": ["3", "5"]},
                    }
                ],
            },
            {"operationType": "skip_connection"},
        ],
    }
    with pytest.raises(ExperimentBuildError, match="conv_3x5"):
        nas_config(2, ["conv_3x5"])


def test_yaml_and_json_round_trip(valid, tmp_path):
    text = experiment_to_yaml(valid)
    assert yaml.safe_load(text) == valid
    path = tmp_path / "e.yaml"
    path.write_text(text)
    assert load_experiment(path) == valid
    assert load_experiment(str(path)) == valid
    assert load_experiment(text) == valid
    assert load_experiment(json.dumps(valid)) == valid
    assert experiment_to_dict(V1beta1Experiment.from_dict(valid)) == valid


def test_load_takes_the_experiment_out_of_a_multi_document_file(valid, tmp_path):
    path = tmp_path / "all.yaml"
    path.write_text("kind: ConfigMap\n---\n" + experiment_to_yaml(valid))
    assert load_experiment(path)["metadata"]["name"] == "small"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Experiment\nspec: [\n", "not valid YAML"),
        ("kind: Job\n", "exactly one document of kind Experiment"),
        ("missing-file.yaml", "does not exist"),
    ],
)
def test_load_errors_are_clear(text, message):
    with pytest.raises(ExperimentLoadError, match=message):
        load_experiment(text)
