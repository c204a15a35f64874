"""Example PyTorchJob and TrainJob manifests (``kwp manifests`` writes them as YAML).

The ``gs://YOUR_BUCKET/...`` URIs are placeholders: point them at the Parquet splits and statistics the
preprocessing step wrote, and at an empty model location. The checkpoint PVC ``kwp-checkpoints`` must
exist in the namespace (ReadWriteMany, so every node mounts it).
"""

from __future__ import annotations

from typing import Any

from components.runtime import TRAINER_IMAGE
from components.train.launchers.command import entry_point_args
from components.train.launchers.pytorchjob import build_pytorchjob
from components.train.launchers.spec import JobSpec, Resources
from components.train.launchers.trainjob import build_trainjob

EXAMPLE_DATA = "gs://YOUR_BUCKET/kwp/data"
EXAMPLE_MODEL_DIR = "gs://YOUR_BUCKET/kwp/models/example"
EXAMPLE_OPTIONS: dict[str, Any] = {
    "model": "mlp",
    "epochs": 10,
    "batch_size": 256,
    "lr": 0.001,
    "precision": "fp32",
}


def example_spec(name: str = "kwp-train-example", namespace: str = "kubeflow") -> JobSpec:
    """Two CPU nodes with one process each, checkpoints on a PVC, the kwp trainer image."""
    args = entry_point_args(
        train=f"{EXAMPLE_DATA}/train.parquet",
        validation=f"{EXAMPLE_DATA}/validation.parquet",
        model_dir=EXAMPLE_MODEL_DIR,
        stats=f"{EXAMPLE_DATA}/stats.json",
        options=EXAMPLE_OPTIONS,
    )
    return JobSpec(
        name=name,
        namespace=namespace,
        image=TRAINER_IMAGE,
        entry_args=tuple(args),
        num_nodes=2,
        nproc_per_node=1,
        resources=Resources(cpu="2", memory="4Gi"),
        checkpoint_pvc="kwp-checkpoints",
    )


def example_pytorchjob() -> dict[str, Any]:
    """``kubeflow.org/v1`` PyTorchJob: Master x1 + Worker x1."""
    return build_pytorchjob(example_spec())


def example_trainjob() -> dict[str, Any]:
    """``trainer.kubeflow.org/v1alpha1`` TrainJob on the ``torch-distributed`` runtime, 2 nodes."""
    return build_trainjob(example_spec())
