"""Launchers of the training entry point: manifests, the Kubernetes launcher and the local launcher.

- ``build_pytorchjob`` / ``build_trainjob``: a ``JobSpec`` as a ``kubeflow.org/v1`` PyTorchJob or a
  ``trainer.kubeflow.org/v1alpha1`` TrainJob (plain dicts, built through the official models).
- ``KubernetesLauncher``: create (or re-attach to) a job, follow it, report failures, clean up.
- ``LocalLauncher``: the same entry point under ``torchrun --standalone``.
- ``run_train_step`` / ``publish``: what the KFP ``train`` component does.
"""

from components.train.launchers.cluster import JobOutcome, KubernetesLauncher
from components.train.launchers.command import entry_point_args, local_command, pod_command
from components.train.launchers.errors import (
    JobConflictError,
    JobFailedError,
    JobTimeoutError,
    JobVanishedError,
    LauncherConfigError,
    LauncherError,
    LocalRunError,
    ManifestError,
)
from components.train.launchers.examples import example_pytorchjob, example_trainjob
from components.train.launchers.jobs import JobKind, JobState, JobStatus
from components.train.launchers.local import LocalLauncher, LocalOutcome
from components.train.launchers.naming import job_name
from components.train.launchers.publish import publish
from components.train.launchers.pytorchjob import PYTORCHJOB, build_pytorchjob
from components.train.launchers.scheduling import GPU_TOLERATION, Toleration
from components.train.launchers.serialize import to_yaml
from components.train.launchers.spec import Elastic, GangScheduling, JobSpec, Resources
from components.train.launchers.step import TrainResult, TrainStepConfig, run_train_step
from components.train.launchers.trainjob import TRAINJOB, build_trainjob

__all__ = [
    "GPU_TOLERATION",
    "PYTORCHJOB",
    "TRAINJOB",
    "Elastic",
    "GangScheduling",
    "JobConflictError",
    "JobFailedError",
    "JobKind",
    "JobOutcome",
    "JobSpec",
    "JobState",
    "JobStatus",
    "JobTimeoutError",
    "JobVanishedError",
    "KubernetesLauncher",
    "LauncherConfigError",
    "LauncherError",
    "LocalLauncher",
    "LocalOutcome",
    "LocalRunError",
    "ManifestError",
    "Resources",
    "Toleration",
    "TrainResult",
    "TrainStepConfig",
    "build_pytorchjob",
    "build_trainjob",
    "entry_point_args",
    "example_pytorchjob",
    "example_trainjob",
    "job_name",
    "local_command",
    "pod_command",
    "publish",
    "run_train_step",
    "to_yaml",
]
