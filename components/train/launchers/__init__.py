"""Launchers of the training entry point: manifests, the Kubernetes launcher and the local launcher.

- ``build_pytorchjob`` / ``build_trainjob``: a ``JobSpec`` as a ``kubeflow.org/v1`` PyTorchJob or a
  ``trainer.kubeflow.org/v1alpha1`` TrainJob (plain dicts, built through the official models).
- ``KubernetesLauncher``: create (or re-attach to) a job, follow it, report failures, clean up.
- ``LocalLauncher``: the same entry point under ``torchrun --standalone``.
- ``run_train_step`` / ``publish``: what the KFP ``train`` component does.

Names are re-exported lazily, so importing one submodule (a constant, the scheduling rules) does not
import the Kubernetes client.
"""

from components.lazy import lazy_exports

_EXPORTS = {
    "JobOutcome": "cluster",
    "KubernetesLauncher": "cluster",
    "entry_point_args": "command",
    "local_command": "command",
    "pod_command": "command",
    "JobConflictError": "errors",
    "JobFailedError": "errors",
    "JobTimeoutError": "errors",
    "JobVanishedError": "errors",
    "LauncherConfigError": "errors",
    "LauncherError": "errors",
    "LocalRunError": "errors",
    "ManifestError": "errors",
    "example_pytorchjob": "examples",
    "example_trainjob": "examples",
    "JobKind": "jobs",
    "JobState": "jobs",
    "JobStatus": "jobs",
    "LocalLauncher": "local",
    "LocalOutcome": "local",
    "job_name": "naming",
    "publish": "publishing",
    "PYTORCHJOB": "pytorchjob",
    "build_pytorchjob": "pytorchjob",
    "GPU_TOLERATION": "scheduling",
    "Toleration": "scheduling",
    "to_yaml": "serialize",
    "Elastic": "spec",
    "GangScheduling": "spec",
    "JobSpec": "spec",
    "Resources": "spec",
    "TrainResult": "step",
    "TrainStepConfig": "step",
    "run_train_step": "step",
    "TRAINJOB": "trainjob",
    "build_trainjob": "trainjob",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
