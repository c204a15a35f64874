"""Trial environment variables added to an Experiment's trial template (``with_trial_env``)."""

from __future__ import annotations

import copy

import pytest

from katib.experiments import (
    ExperimentBuildError,
    experiment_to_dict,
    pytorchjob_template,
    training_command,
    validate_experiment,
)
from katib.experiments.bindings import with_trial_env
from katib.experiments.builder import build_experiment
from katib.experiments.model import Algorithm, Objective
from katib.experiments.trial_template import pod_specs

ENDPOINT = {"AWS_ENDPOINT_URL": "http://minio-service.kubeflow:9000"}
KEYS = {"AWS_ACCESS_KEY_ID": "mlpipeline-minio-artifact/accesskey"}


def _env(experiment: dict) -> dict[str, list]:
    """Each pod role's containers' env, by container name."""
    trial = experiment["spec"]["trialTemplate"]["trialSpec"]
    return {f"{role}/{c['name']}": c.get("env") for role, pod in pod_specs(trial) for c in pod["containers"]}


def test_the_primary_container_gets_plain_and_secret_variables(valid):
    before = copy.deepcopy(valid)
    result = with_trial_env(valid, ENDPOINT, KEYS)
    assert valid == before  # the input is not changed
    assert _env(result) == {
        "Job/training-container": [
            {"name": "AWS_ENDPOINT_URL", "value": "http://minio-service.kubeflow:9000"},
            {
                "name": "AWS_ACCESS_KEY_ID",
                "valueFrom": {"secretKeyRef": {"name": "mlpipeline-minio-artifact", "key": "accesskey"}},
            },
        ]
    }
    validate_experiment(result)


def test_every_replica_of_a_pytorchjob_gets_them_and_sidecars_do_not(space):
    template = pytorchjob_template("trainer:1", training_command(space), space.names, workers=2)
    experiment = experiment_to_dict(
        build_experiment(
            "pt",
            objective=Objective("loss"),
            algorithm=Algorithm.random(seed=1),
            trial_template=template,
            space=space,
        )
    )
    worker = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["pytorchReplicaSpecs"]["Worker"]
    worker["template"]["spec"]["containers"].append({"name": "sidecar", "image": "proxy:1"})
    result = with_trial_env(experiment, ENDPOINT)
    expected = [{"name": "AWS_ENDPOINT_URL", "value": ENDPOINT["AWS_ENDPOINT_URL"]}]
    assert _env(result) == {"Master/pytorch": expected, "Worker/pytorch": expected, "Worker/sidecar": None}


def test_existing_variables_are_kept_and_a_different_value_is_refused(valid):
    container = valid["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "OMP_NUM_THREADS", "value": "1"}, {"name": "AWS_ENDPOINT_URL", "value": "x"}]
    with pytest.raises(ExperimentBuildError, match="already sets AWS_ENDPOINT_URL"):
        with_trial_env(valid, ENDPOINT)
    container["env"][1]["value"] = ENDPOINT["AWS_ENDPOINT_URL"]
    assert _env(with_trial_env(valid, ENDPOINT))["Job/training-container"] == container["env"]


def test_nothing_to_add_is_a_plain_copy_even_for_a_configmap_template(valid):
    template = valid["spec"]["trialTemplate"]
    del template["trialSpec"]
    template["configMap"] = {"configMapName": "t", "configMapNamespace": "kubeflow", "templatePath": "t.yaml"}
    assert with_trial_env(valid) == valid
    with pytest.raises(ExperimentBuildError, match="no inline trialSpec"):
        with_trial_env(valid, ENDPOINT)


@pytest.mark.parametrize(
    "env, secret_env, message",
    [
        ({}, {"AWS_ACCESS_KEY_ID": "just-a-secret"}, "expected 'secret-name/key'"),
        ({}, {"KEY": "/key"}, "expected 'secret-name/key'"),
        ({"1BAD": "x"}, {}, "names \\['1BAD'\\] must match"),
    ],
)
def test_bad_variables_are_rejected(valid, env, secret_env, message):
    with pytest.raises(ExperimentBuildError, match=message):
        with_trial_env(valid, env, secret_env)


def test_a_template_without_the_primary_container_is_an_error(valid):
    valid["spec"]["trialTemplate"]["primaryContainerName"] = "main"
    with pytest.raises(
        ExperimentBuildError, match=r"no pod of the Job trial spec has a container named .main."
    ):
        with_trial_env(valid, ENDPOINT)
