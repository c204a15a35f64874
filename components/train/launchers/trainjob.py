"""``trainer.kubeflow.org/v1alpha1`` TrainJob (Kubeflow Trainer 2.3): build, check and read the status.

A TrainJob names a runtime (``torch-distributed``) and overrides only the trainer: image, command,
nodes, processes per node, resources and env. Volumes, the service account, pod annotations, the node
selector and tolerations go through ``runtimePatches`` onto the runtime's ``node`` replicated job.
Built with the official kubeflow-trainer-api models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeflow_trainer_api import models as tr

from components.train.launchers.command import pod_command
from components.train.launchers.errors import LauncherConfigError, ManifestError
from components.train.launchers.jobs import JobKind, JobState, JobStatus, PodGroup, true_conditions
from components.train.launchers.naming import check_job_name
from components.train.launchers.pytorchjob import CHECKPOINT_VOLUME, COMMON_LABELS, POD_ANNOTATIONS
from components.train.launchers.serialize import to_plain
from components.train.launchers.spec import POD_ENV_DEFAULTS, JobSpec

NODE = "node"  # the replicated job (and container) that runs the trainer in the torch runtimes
PATCH_MANAGER = "kubeflow-warehouse-pipelines/train-launcher"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
REPLICATED_JOB_LABEL = "jobset.sigs.k8s.io/replicatedjob-name"
JOB_INDEX_LABEL = "jobset.sigs.k8s.io/job-index"
# The torch runtimes run the nodes as one Indexed Job; the torch plugin takes PET_NODE_RANK from this.
COMPLETION_INDEX_KEY = "batch.kubernetes.io/job-completion-index"
REPLICATED_JOBS = ("dataset-initializer", "model-initializer", NODE)


def build_trainjob(spec: JobSpec) -> dict[str, Any]:
    """A TrainJob on ``spec.runtime``; raises LauncherConfigError for PyTorchJob-only options."""
    _reject_unsupported(spec)
    pod_labels = {**COMMON_LABELS, **spec.labels}
    labels = {**pod_labels, **({KUEUE_QUEUE_LABEL: spec.gang.queue} if spec.gang and spec.gang.queue else {})}
    resources = tr.IoK8sApiCoreV1ResourceRequirements(
        requests={
            k: tr.IoK8sApimachineryPkgApiResourceQuantity(v) for k, v in spec.resources.requests().items()
        },
        limits={k: tr.IoK8sApimachineryPkgApiResourceQuantity(v) for k, v in spec.resources.limits().items()},
    )
    job = tr.TrainerV1alpha1TrainJob(
        api_version=TRAINJOB.api_version,
        kind=TRAINJOB.kind,
        metadata=tr.IoK8sApimachineryPkgApisMetaV1ObjectMeta(
            name=spec.name, namespace=spec.namespace, labels=labels
        ),
        spec=tr.TrainerV1alpha1TrainJobSpec(
            runtime_ref=tr.TrainerV1alpha1RuntimeRef(
                name=spec.runtime, api_group=TRAINJOB.group, kind="ClusterTrainingRuntime"
            ),
            trainer=tr.TrainerV1alpha1Trainer(
                image=spec.image,
                command=pod_command(),
                args=spec.container_args(),
                env=_env(spec),
                num_nodes=spec.num_nodes,
                num_proc_per_node=spec.nproc_per_node,
                resources_per_node=resources,
            ),
            active_deadline_seconds=spec.active_deadline_seconds,
            runtime_patches=[_node_patch(spec, pod_labels)],
        ),
    )
    manifest = to_plain(job)
    TRAINJOB.check(manifest)
    return manifest


def _reject_unsupported(spec: JobSpec) -> None:
    unsupported = {
        "elastic": spec.elastic is not None,
        "env_from_secrets": bool(spec.env_from_secrets),
        "gang.min_available": bool(spec.gang and spec.gang.min_available),
        "gang.priority_class": bool(spec.gang and spec.gang.priority_class),
        "gang.schedule_timeout_s": bool(spec.gang and spec.gang.schedule_timeout_s),
    }
    wrong = [name for name, used in unsupported.items() if used]
    if wrong:
        raise LauncherConfigError(
            f"TrainJob cannot express {wrong}: elastic training, envFrom and gang-scheduling settings belong "
            "to the ClusterTrainingRuntime; use secret_env for secrets and gang.queue for a Kueue queue"
        )


def _env(spec: JobSpec) -> list[tr.IoK8sApiCoreV1EnvVar]:
    plain = {**POD_ENV_DEFAULTS, **spec.env}
    env = [tr.IoK8sApiCoreV1EnvVar(name=k, value=str(v)) for k, v in sorted(plain.items())]
    for var, secret, key in spec.secret_refs():
        ref = tr.IoK8sApiCoreV1SecretKeySelector(name=secret, key=key)
        env.append(
            tr.IoK8sApiCoreV1EnvVar(name=var, value_from=tr.IoK8sApiCoreV1EnvVarSource(secret_key_ref=ref))
        )
    return env


def _node_patch(spec: JobSpec, labels: Mapping[str, str]) -> tr.TrainerV1alpha1RuntimePatch:
    """Pod-level settings of the ``node`` replicated job: annotations, volume, service account, node
    selector and tolerations (every node pod of the TrainJob)."""
    volumes, containers = None, None
    if spec.checkpoint_pvc:
        claim = tr.IoK8sApiCoreV1PersistentVolumeClaimVolumeSource(claim_name=spec.checkpoint_pvc)
        volumes = [tr.IoK8sApiCoreV1Volume(name=CHECKPOINT_VOLUME, persistent_volume_claim=claim)]
        mount = tr.IoK8sApiCoreV1VolumeMount(name=CHECKPOINT_VOLUME, mount_path=spec.checkpoint_mount)
        containers = [tr.TrainerV1alpha1ContainerPatch(name=NODE, volume_mounts=[mount])]
    pod = tr.TrainerV1alpha1PodTemplatePatch(
        metadata=tr.IoK8sApimachineryPkgApisMetaV1ObjectMeta(
            labels=dict(labels), annotations={**POD_ANNOTATIONS, **spec.annotations}
        ),
        spec=tr.TrainerV1alpha1PodSpecPatch(
            containers=containers,
            volumes=volumes,
            service_account_name=spec.service_account,
            node_selector=dict(spec.node_selector) or None,
            tolerations=[tr.IoK8sApiCoreV1Toleration(**t.model_kwargs()) for t in spec.pod_tolerations()]
            or None,
        ),
    )
    replicated = tr.TrainerV1alpha1ReplicatedJobPatch(
        name=NODE,
        template=tr.TrainerV1alpha1JobTemplatePatch(spec=tr.TrainerV1alpha1JobSpecPatch(template=pod)),
    )
    return tr.TrainerV1alpha1RuntimePatch(
        manager=PATCH_MANAGER,
        training_runtime_spec=tr.TrainerV1alpha1TrainingRuntimeSpecPatch(
            template=tr.TrainerV1alpha1JobSetTemplatePatch(
                spec=tr.TrainerV1alpha1JobSetSpecPatch(replicated_jobs=[replicated])
            )
        ),
    )


class TrainJobKind(JobKind):
    kind, group, version, plural = "TrainJob", "trainer.kubeflow.org", "v1alpha1", "trainjobs"

    def status(self, job: Mapping[str, Any]) -> JobStatus:
        status = job.get("status") or {}
        replicas = {
            str(j.get("name")): {
                k: int(j.get(k) or 0) for k in ("active", "ready", "succeeded", "failed", "suspended")
            }
            for j in status.get("jobsStatus") or []
        }
        by_type = {c.get("type"): c for c in true_conditions(job)}
        for kind, state in (
            ("Failed", JobState.FAILED),
            ("Complete", JobState.SUCCEEDED),
            ("Suspended", JobState.SUSPENDED),
        ):
            if kind in by_type:
                c = by_type[kind]
                return JobStatus(state, str(c.get("reason") or ""), str(c.get("message") or ""), replicas)
        running = any(counts["active"] or counts["succeeded"] for counts in replicas.values())
        return JobStatus(JobState.RUNNING if running else JobState.PENDING, replicas=replicas)

    def pod_groups(self, name: str, status: JobStatus) -> list[PodGroup]:
        failed = [j for j in status.replicas if status.replicas[j].get("failed")]
        ordered = [*failed, *([NODE] if NODE not in failed else [])]
        # In the torch runtimes each replicated job's container carries the replicated job's name.
        return [PodGroup(f"{JOBSET_NAME_LABEL}={name},{REPLICATED_JOB_LABEL}={j}", j) for j in ordered]

    def rank0_group(self, job: Mapping[str, Any]) -> PodGroup:
        """The ``node`` pods of the (single) node Job; node rank 0 has completion index 0."""
        name = job["metadata"]["name"]
        selector = f"{JOBSET_NAME_LABEL}={name},{REPLICATED_JOB_LABEL}={NODE},{JOB_INDEX_LABEL}=0"
        return PodGroup(selector, NODE, COMPLETION_INDEX_KEY)

    def check(self, manifest: Mapping[str, Any]) -> None:
        if manifest.get("apiVersion") != self.api_version or manifest.get("kind") != self.kind:
            raise ManifestError(
                f"expected apiVersion {self.api_version} kind {self.kind}, "
                f"got {manifest.get('apiVersion')} {manifest.get('kind')}"
            )
        try:
            check_job_name(str((manifest.get("metadata") or {}).get("name", "")))
        except ValueError as exc:
            raise ManifestError(str(exc)) from None
        spec = manifest.get("spec") or {}
        if not (spec.get("runtimeRef") or {}).get("name"):
            raise ManifestError("spec.runtimeRef.name is required (e.g. 'torch-distributed')")
        trainer = spec.get("trainer") or {}
        for field in ("numNodes", "numProcPerNode"):
            value = trainer.get(field)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ManifestError(f"spec.trainer.{field}={value!r} must be an integer >= 1")
        for patch in spec.get("runtimePatches") or []:
            _check_patch(patch)


def _check_patch(patch: Mapping[str, Any]) -> None:
    template = (patch.get("trainingRuntimeSpec") or {}).get("template") or {}
    for rjob in (template.get("spec") or {}).get("replicatedJobs") or []:
        if rjob.get("name") not in REPLICATED_JOBS:
            raise ManifestError(
                f"runtime patch targets replicated job {rjob.get('name')!r}; "
                f"the torch runtimes have {REPLICATED_JOBS}"
            )
        pod = (((rjob.get("template") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
        names = [c.get("name") for c in pod.get("containers") or []]
        if not all(names):
            raise ManifestError(f"runtime patch for {rjob.get('name')!r}: every container patch needs a name")


TRAINJOB = TrainJobKind()
