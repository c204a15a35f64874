"""Trial templates: Job and PyTorchJob objects Katib can run, checked against the PyTorchJob CRD schema."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from katib.experiments import (
    ExperimentBuildError,
    job_template,
    parameter_args,
    pytorchjob_template,
    training_command,
)
from katib.experiments.trial_template import pod_specs, primary_container

CRDS = Path(__file__).resolve().parents[3].parent / "shared" / "crds"


@pytest.fixture(scope="module")
def pytorchjob_schema():
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load((CRDS / "kubeflow.org_pytorchjobs.v1.9.0.yaml").read_text(), Loader=loader)
    return jsonschema.Draft7Validator(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def test_pytorchjob_template_matches_the_crd_and_katibs_needs(space, pytorchjob_schema):
    template = pytorchjob_template(
        "trainer:1", training_command(space), space.names, workers=2, nproc_per_node=2
    )
    trial = template.trial_spec
    pytorchjob_schema.validate(dict(trial, metadata={"name": "trial-1"}))
    assert (trial["apiVersion"], trial["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    assert (
        trial["spec"]["nprocPerNode"] == "2"
        and trial["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2
    )
    assert template.primary_container_name == "pytorch"
    assert template.primary_pod_labels == {"training.kubeflow.org/job-role": "master"}
    assert template.success_condition == 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
    assert template.failure_condition == 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    master = primary_container(trial, "pytorch")
    assert master["command"][:3] == ["torchrun", "-m", "components.train"]
    assert [role for role, _ in pod_specs(trial)] == ["Master", "Worker"]
    pod = trial["spec"]["pytorchReplicaSpecs"]["Master"]["template"]
    assert pod["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}


def test_a_bad_pytorchjob_is_caught_by_the_schema(space, pytorchjob_schema):
    trial = pytorchjob_template("trainer:1", ["torchrun"], space.names).trial_spec
    trial["spec"]["nprocPerNode"] = 2
    with pytest.raises(jsonschema.ValidationError):
        pytorchjob_schema.validate(trial)


def test_job_template_runs_once_without_retries(space):
    template = job_template("img", training_command(space, torchrun=False), space.names, env={"A": "1"})
    job = template.trial_spec
    assert (job["apiVersion"], job["kind"], job["spec"]["backoffLimit"]) == ("batch/v1", "Job", 0)
    container = primary_container(job, "training-container")
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["command"][:3] == ["python", "-m", "components.train"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_training_command_has_data_bindings_and_one_flag_per_parameter(space):
    command = training_command(space, flags={"lr": "--learning-rate"}, fixed_args=["--seed", "0"])
    assert command[3:11] == [
        "--train",
        "${kwp.train}",
        "--validation",
        "${kwp.validation}",
        "--model-dir",
        "model",
        "--stats",
        "${kwp.stats}",
    ]
    assert command[11:13] == ["--seed", "0"]
    assert command[13:] == [
        "--learning-rate",
        "${trialParameters.lr}",
        "--epochs",
        "${trialParameters.epochs}",
        "--opt",
        "${trialParameters.opt}",
    ]


def test_flags_for_unknown_parameters_and_empty_commands_are_errors(space):
    with pytest.raises(ExperimentBuildError, match="momentum"):
        parameter_args(space, {"momentum": "--m"})
    with pytest.raises(ExperimentBuildError, match="image and a command"):
        job_template("img", [], [])
    with pytest.raises(ExperimentBuildError, match="workers"):
        pytorchjob_template("img", ["x"], [], workers=-1)
