"""Trial templates: a batch/v1 Job or a kubeflow.org/v1 PyTorchJob running one command.

Objects are built with the Kubernetes and Training Operator client models and serialised to the
camelCase dictionaries the API server takes. Katib needs, for a custom kind such as PyTorchJob, the
primary container's name, the success and failure conditions (GJSON over the job's status) and the
labels of the pod whose output the StdOut collector reads (the master).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from katib.experiments.errors import ExperimentBuildError
from katib.experiments.model import TrialParameter, TrialTemplate, trial_parameters
from katib.space import SearchSpace

JOB_SUCCESS = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
JOB_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
KUBEFLOW_SUCCESS = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
KUBEFLOW_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
MASTER_POD_LABELS = {"training.kubeflow.org/job-role": "master"}
PYTORCH_CONTAINER = "pytorch"
TRAINING_CONTAINER = "training-container"
# Istio sidecars keep trial pods alive after the training container exits.
NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
TRAIN_MODULE = "components.train"


def placeholder(name: str) -> str:
    """The text Katib replaces with a trial parameter's value."""
    return "${trialParameters." + name + "}"


def parameter_args(space: SearchSpace, flags: Mapping[str, str] | None = None) -> list[str]:
    """``--flag ${trialParameters.name}`` for every search parameter (flag defaults to ``--name``)."""
    flags = dict(flags or {})
    unknown = sorted(set(flags) - set(space.names))
    if unknown:
        raise ExperimentBuildError(f"flags given for {unknown}, which are not parameters of {space.names}")
    args: list[str] = []
    for name in space.names:
        args += [flags.get(name, "--" + name.replace("_", "-")), placeholder(name)]
    return args


def training_command(
    space: SearchSpace,
    *,
    flags: Mapping[str, str] | None = None,
    fixed_args: Sequence[str] = (),
    torchrun: bool = True,
    train: str = "${kwp.train}",
    validation: str = "${kwp.validation}",
    stats: str | None = "${kwp.stats}",
    model_dir: str = "model",
) -> list[str]:
    """The training entry point with data, fixed arguments and one flag per search parameter.

    ``torchrun -m components.train`` takes its topology from the PET_* variables a PyTorchJob injects;
    ``torchrun=False`` gives plain ``python -m components.train`` for a Job. ``${kwp.train}`` and
    ``${kwp.validation}`` are data bindings resolved by the tune component or the local runner;
    ``${kwp.stats}`` (the preprocessing statistics) tells the trainer which columns are features.
    """
    head = ["torchrun", "-m", TRAIN_MODULE] if torchrun else ["python", "-m", TRAIN_MODULE]
    data = ["--train", train, "--validation", validation, "--model-dir", model_dir]
    if stats:
        data += ["--stats", stats]
    return head + data + list(fixed_args) + parameter_args(space, flags)


def job_template(
    image: str,
    command: Sequence[str],
    parameters: Sequence[str] | Mapping[str, str] | Sequence[TrialParameter],
    *,
    container_name: str = TRAINING_CONTAINER,
    env: Mapping[str, str] | None = None,
    resources: Mapping[str, Mapping[str, str]] | None = None,
) -> TrialTemplate:
    """A batch/v1 Job (no retries: a failed trial is a result) running ``command``."""
    from kubernetes import client

    pod = _pod_template(client, image, command, container_name, env, resources)
    job = client.V1Job(
        api_version="batch/v1", kind="Job", spec=client.V1JobSpec(backoff_limit=0, template=pod)
    )
    return TrialTemplate(
        trial_spec=_serialise(job),
        primary_container_name=container_name,
        trial_parameters=_trial_parameters(parameters),
        success_condition=JOB_SUCCESS,
        failure_condition=JOB_FAILURE,
    )


def pytorchjob_template(
    image: str,
    command: Sequence[str],
    parameters: Sequence[str] | Mapping[str, str] | Sequence[TrialParameter],
    *,
    workers: int = 0,
    nproc_per_node: int = 1,
    env: Mapping[str, str] | None = None,
    resources: Mapping[str, Mapping[str, str]] | None = None,
) -> TrialTemplate:
    """A PyTorchJob with one Master and ``workers`` Workers, all in a container named ``pytorch``."""
    from kubeflow.training import (
        KubeflowOrgV1PyTorchJob,
        KubeflowOrgV1PyTorchJobSpec,
        KubeflowOrgV1ReplicaSpec,
        KubeflowOrgV1RunPolicy,
    )
    from kubernetes import client

    if workers < 0 or nproc_per_node < 1:
        raise ExperimentBuildError(
            f"need workers >= 0 and nproc_per_node >= 1, got {workers}, {nproc_per_node}"
        )
    pod = _pod_template(client, image, command, PYTORCH_CONTAINER, env, resources)
    replicas = {"Master": KubeflowOrgV1ReplicaSpec(replicas=1, restart_policy="Never", template=pod)}
    if workers:
        replicas["Worker"] = KubeflowOrgV1ReplicaSpec(replicas=workers, restart_policy="Never", template=pod)
    job = KubeflowOrgV1PyTorchJob(
        api_version="kubeflow.org/v1",
        kind="PyTorchJob",
        spec=KubeflowOrgV1PyTorchJobSpec(
            nproc_per_node=str(nproc_per_node),
            pytorch_replica_specs=replicas,
            run_policy=KubeflowOrgV1RunPolicy(backoff_limit=0, clean_pod_policy="None"),
        ),
    )
    return TrialTemplate(
        trial_spec=_serialise(job),
        primary_container_name=PYTORCH_CONTAINER,
        trial_parameters=_trial_parameters(parameters),
        success_condition=KUBEFLOW_SUCCESS,
        failure_condition=KUBEFLOW_FAILURE,
        primary_pod_labels=MASTER_POD_LABELS,
    )


def _pod_template(
    client: Any,
    image: str,
    command: Sequence[str],
    name: str,
    env: Mapping[str, str] | None,
    resources: Mapping[str, Mapping[str, str]] | None,
) -> Any:
    if not image or not command:
        raise ExperimentBuildError(
            f"a trial container needs an image and a command, got {image!r}, {list(command)!r}"
        )
    container = client.V1Container(
        name=name,
        image=image,
        command=list(command),
        env=[client.V1EnvVar(name=k, value=v) for k, v in (env or {}).items()] or None,
        resources=client.V1ResourceRequirements(**resources) if resources else None,
    )
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(annotations=dict(NO_SIDECAR)),
        spec=client.V1PodSpec(containers=[container], restart_policy="Never"),
    )


def _trial_parameters(
    parameters: Sequence[str] | Mapping[str, str] | Sequence[TrialParameter],
) -> tuple[TrialParameter, ...]:
    if isinstance(parameters, Mapping):
        return trial_parameters(parameters)
    items = list(parameters)
    if all(isinstance(p, TrialParameter) for p in items):
        return tuple(items)  # type: ignore[arg-type]
    return trial_parameters([str(p) for p in items])


def _serialise(obj: Any) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(obj)
