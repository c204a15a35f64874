"""``kubeflow.org/v1`` PyTorchJob (Training Operator 1.9): build, check and read the status.

The manifest is built through the official kubeflow-training models. Rules the CRD schema cannot
express (replica types, one Master, the container name) are checked by ``PyTorchJobKind.check``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeflow.training import models as kf
from kubernetes import client as k8s

from components.train.launchers.command import pod_command
from components.train.launchers.errors import ManifestError
from components.train.launchers.jobs import JobKind, JobState, JobStatus, PodGroup, true_conditions
from components.train.launchers.naming import check_job_name
from components.train.launchers.serialize import to_plain
from components.train.launchers.spec import POD_ENV_DEFAULTS, RESTART_POLICIES, JobSpec

CONTAINER = "pytorch"
REPLICA_TYPES = ("Master", "Worker")
JOB_NAME_LABEL = "training.kubeflow.org/job-name"
REPLICA_TYPE_LABEL = "training.kubeflow.org/replica-type"
REPLICA_INDEX_LABEL = "training.kubeflow.org/replica-index"
COMMON_LABELS = {
    "app.kubernetes.io/name": "kwp-train",
    "app.kubernetes.io/managed-by": "kubeflow-warehouse-pipelines",
}
POD_ANNOTATIONS = {"sidecar.istio.io/inject": "false"}  # an Istio sidecar keeps finished pods alive
CHECKPOINT_VOLUME = "checkpoints"
_STATES = {
    "Created": JobState.PENDING,
    "Running": JobState.RUNNING,
    "Restarting": JobState.RESTARTING,
    "Suspended": JobState.SUSPENDED,
}


def build_pytorchjob(spec: JobSpec) -> dict[str, Any]:
    """A PyTorchJob: Master x1 + Workers x(num_nodes-1), or Workers only when elastic."""
    template = pod_template(spec)

    def replica(count: int) -> kf.KubeflowOrgV1ReplicaSpec:
        return kf.KubeflowOrgV1ReplicaSpec(
            replicas=count, restart_policy=spec.restart_policy, template=template
        )

    if spec.elastic:  # every node is equal under c10d rendezvous; the operator elects rank 0
        replicas = {"Worker": replica(spec.num_nodes)}
    else:
        replicas = {
            "Master": replica(1),
            **({"Worker": replica(spec.num_nodes - 1)} if spec.num_nodes > 1 else {}),
        }
    job = kf.KubeflowOrgV1PyTorchJob(
        api_version=PYTORCHJOB.api_version,
        kind=PYTORCHJOB.kind,
        metadata=k8s.V1ObjectMeta(name=spec.name, namespace=spec.namespace, labels=job_labels(spec)),
        spec=kf.KubeflowOrgV1PyTorchJobSpec(
            pytorch_replica_specs=replicas,
            nproc_per_node=str(spec.nproc_per_node),
            run_policy=_run_policy(spec),
            elastic_policy=_elastic_policy(spec),
        ),
    )
    manifest = to_plain(job)
    PYTORCHJOB.check(manifest)
    return manifest


def job_labels(spec: JobSpec) -> dict[str, str]:
    return {**COMMON_LABELS, **spec.labels}


def pod_template(spec: JobSpec) -> k8s.V1PodTemplateSpec:
    """The pod every replica runs: one ``pytorch`` container, the checkpoint volume, no Istio sidecar,
    the node selector and tolerations (Master and Workers share it, so every replica lands alike)."""
    volumes, mounts = None, None
    if spec.checkpoint_pvc:
        claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=spec.checkpoint_pvc)
        volumes = [k8s.V1Volume(name=CHECKPOINT_VOLUME, persistent_volume_claim=claim)]
        mounts = [k8s.V1VolumeMount(name=CHECKPOINT_VOLUME, mount_path=spec.checkpoint_mount)]
    container = k8s.V1Container(
        name=CONTAINER,
        image=spec.image,
        command=pod_command(),
        args=spec.container_args(),
        env=container_env(spec),
        env_from=[
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=s)) for s in spec.env_from_secrets
        ]
        or None,
        resources=k8s.V1ResourceRequirements(
            requests=spec.resources.requests(), limits=spec.resources.limits()
        ),
        volume_mounts=mounts,
    )
    return k8s.V1PodTemplateSpec(
        metadata=k8s.V1ObjectMeta(
            labels=job_labels(spec), annotations={**POD_ANNOTATIONS, **spec.annotations}
        ),
        spec=k8s.V1PodSpec(
            containers=[container],
            volumes=volumes,
            service_account_name=spec.service_account,
            node_selector=dict(spec.node_selector) or None,
            tolerations=[k8s.V1Toleration(**t.model_kwargs()) for t in spec.pod_tolerations()] or None,
        ),
    )


def container_env(spec: JobSpec) -> list[k8s.V1EnvVar]:
    """``POD_ENV_DEFAULTS``, the spec's plain variables, then ``secret_env`` references."""
    plain = {**POD_ENV_DEFAULTS, **spec.env}
    env = [k8s.V1EnvVar(name=k, value=str(v)) for k, v in sorted(plain.items())]
    for var, secret, key in spec.secret_refs():
        ref = k8s.V1SecretKeySelector(name=secret, key=key)
        env.append(k8s.V1EnvVar(name=var, value_from=k8s.V1EnvVarSource(secret_key_ref=ref)))
    return env


def _run_policy(spec: JobSpec) -> kf.KubeflowOrgV1RunPolicy:
    scheduling = None
    if spec.gang:
        scheduling = kf.KubeflowOrgV1SchedulingPolicy(
            min_available=spec.gang.min_available or spec.num_nodes,
            queue=spec.gang.queue,
            priority_class=spec.gang.priority_class,
            schedule_timeout_seconds=spec.gang.schedule_timeout_s,
        )
    return kf.KubeflowOrgV1RunPolicy(
        clean_pod_policy=spec.clean_pod_policy,
        backoff_limit=spec.backoff_limit,
        ttl_seconds_after_finished=spec.ttl_seconds_after_finished,
        active_deadline_seconds=spec.active_deadline_seconds,
        scheduling_policy=scheduling,
    )


def _elastic_policy(spec: JobSpec) -> kf.KubeflowOrgV1ElasticPolicy | None:
    if not spec.elastic:
        return None
    return kf.KubeflowOrgV1ElasticPolicy(
        min_replicas=spec.elastic.min_nodes,
        max_replicas=spec.elastic.max_nodes,
        rdzv_backend=spec.elastic.rdzv_backend,
        max_restarts=spec.elastic.max_restarts,
    )


class PyTorchJobKind(JobKind):
    kind, group, version, plural = "PyTorchJob", "kubeflow.org", "v1", "pytorchjobs"

    def status(self, job: Mapping[str, Any]) -> JobStatus:
        counts = ((job.get("status") or {}).get("replicaStatuses")) or {}
        replicas = {
            group: {k: int(v) for k, v in (c or {}).items() if k in ("active", "succeeded", "failed")}
            for group, c in counts.items()
        }
        conditions = true_conditions(job)
        by_type = {c.get("type"): c for c in conditions}
        for kind, state in (("Failed", JobState.FAILED), ("Succeeded", JobState.SUCCEEDED)):
            if kind in by_type:
                return _status(state, by_type[kind], replicas)
        if not conditions:
            return JobStatus(JobState.PENDING, replicas=replicas)
        last = conditions[-1]
        return _status(_STATES.get(last.get("type", ""), JobState.PENDING), last, replicas)

    def pod_groups(self, name: str, status: JobStatus) -> list[PodGroup]:
        failed = [g for g in REPLICA_TYPES if status.replicas.get(g, {}).get("failed")]
        present = [g for g in REPLICA_TYPES if g in status.replicas] or list(REPLICA_TYPES)
        ordered = [*failed, *[g for g in present if g not in failed]]
        return [
            PodGroup(f"{JOB_NAME_LABEL}={name},{REPLICA_TYPE_LABEL}={g.lower()}", CONTAINER) for g in ordered
        ]

    def rank0_group(self, job: Mapping[str, Any]) -> PodGroup:
        """The Master pod; an elastic job (Workers only) follows worker 0, though c10d may elect another."""
        replicas = (job.get("spec") or {}).get("pytorchReplicaSpecs") or {"Master": {}}
        group = "master" if "Master" in replicas else "worker"
        selector = f"{JOB_NAME_LABEL}={job['metadata']['name']},{REPLICA_TYPE_LABEL}={group}"
        return PodGroup(selector, CONTAINER, REPLICA_INDEX_LABEL)

    def check(self, manifest: Mapping[str, Any]) -> None:
        _check_header(manifest)
        spec = manifest.get("spec") or {}
        replicas = spec.get("pytorchReplicaSpecs") or {}
        unknown = sorted(set(replicas) - set(REPLICA_TYPES))
        if not replicas or unknown:
            raise ManifestError(
                f"pytorchReplicaSpecs has replica types {sorted(replicas)}; a PyTorchJob allows only "
                f"{list(REPLICA_TYPES)} (unknown: {unknown})"
            )
        if "Master" not in replicas and not spec.get("elasticPolicy"):
            raise ManifestError("a PyTorchJob without elasticPolicy needs a Master replica")
        if "Master" in replicas and replicas["Master"].get("replicas", 1) != 1:
            raise ManifestError(
                f"Master must have exactly 1 replica, not {replicas['Master'].get('replicas')}"
            )
        if "nprocPerNode" in spec and not isinstance(spec["nprocPerNode"], str):
            raise ManifestError(f"nprocPerNode must be a string (e.g. '2'), not {spec['nprocPerNode']!r}")
        for group, replica in replicas.items():
            _check_replica(group, replica)


def _check_header(manifest: Mapping[str, Any]) -> None:
    if manifest.get("apiVersion") != PYTORCHJOB.api_version or manifest.get("kind") != PYTORCHJOB.kind:
        raise ManifestError(
            f"expected apiVersion {PYTORCHJOB.api_version} kind {PYTORCHJOB.kind}, "
            f"got {manifest.get('apiVersion')} {manifest.get('kind')}"
        )
    try:
        check_job_name(str((manifest.get("metadata") or {}).get("name", "")))
    except ValueError as exc:
        raise ManifestError(str(exc)) from None


def _check_replica(group: str, replica: Mapping[str, Any]) -> None:
    count = replica.get("replicas", 1)
    if not isinstance(count, int) or count < 1:
        raise ManifestError(f"{group} replicas={count!r} must be an integer >= 1")
    policy = replica.get("restartPolicy")
    if policy is not None and policy not in RESTART_POLICIES:
        raise ManifestError(f"{group} restartPolicy={policy!r}; valid: {', '.join(RESTART_POLICIES)}")
    containers = ((replica.get("template") or {}).get("spec") or {}).get("containers") or []
    names = [c.get("name") for c in containers]
    if not all(names):
        raise ManifestError(f"{group}: every container needs a name; got names {names}")
    if CONTAINER not in names:
        raise ManifestError(
            f"{group}: the training container must be named {CONTAINER!r} (the operator injects its "
            f"environment only there); got {names}"
        )


def _status(state: JobState, condition: Mapping[str, Any], replicas: dict) -> JobStatus:
    return JobStatus(state, str(condition.get("reason") or ""), str(condition.get("message") or ""), replicas)


PYTORCHJOB = PyTorchJobKind()
