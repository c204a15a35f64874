"""Cluster settings of the compiled pipelines' own pods, applied through kfp-kubernetes.

They land in the compiled YAML's second document (the PlatformSpec) and are ignored by ``kfp.local``,
so the same pipeline function serves both. Names here match the objects in ``manifests/base``. The
training pods are usually not KFP's: GPUs, node selectors (the accelerator type), tolerations and the
checkpoint PVC reach them through the PyTorchJob/TrainJob the ``train`` step creates. Only when the step
trains in its own pod (``train_backend="local"``) does it request the GPUs itself.
"""

from __future__ import annotations

from kfp import dsl, kubernetes

from components.train.launchers.scheduling import GPU_TOLERATION

#: Secret holding warehouse credentials (docs/warehouses.md); optional so DuckDB runs need none.
WAREHOUSE_SECRET = "kwp-warehouse-credentials"
#: Secret key -> environment variable read by the Snowflake adapter.
SNOWFLAKE_SECRET_ENV = {
    "SNOWFLAKE_USER": "SNOWFLAKE_USER",
    "SNOWFLAKE_PASSWORD": "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY_PATH": "SNOWFLAKE_PRIVATE_KEY_PATH",
    "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_AUTHENTICATOR",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
    "SNOWFLAKE_TOKEN": "SNOWFLAKE_TOKEN",
}
#: PersistentVolumeClaim for training checkpoints (manifests/base/checkpoints-pvc.yaml). The train step
#: mounts it into the PyTorchJob/TrainJob pods it creates (the pods that write checkpoints), not into
#: its own launcher pod.
CHECKPOINT_PVC = "kwp-checkpoints"


def with_warehouse_credentials(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Give a task the warehouse credentials from Secrets (never as pipeline parameters).

    Snowflake reads them from the environment; BigQuery uses the pod's Workload Identity (ADC).
    """
    return kubernetes.use_secret_as_env(task, WAREHOUSE_SECRET, SNOWFLAKE_SECRET_ENV, optional=True)


def tolerate_gpu_nodes(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """The GPU-taint toleration the training job pods get, for a step that trains in its own pod."""
    gpu = GPU_TOLERATION
    return kubernetes.add_toleration(task, key=gpu.key, operator=gpu.operator, effect=gpu.effect)


def light(task: dsl.PipelineTask, cpu: str = "1", memory: str = "2Gi") -> dsl.PipelineTask:
    """Requests and limits for a step that only launches or post-processes."""
    return task.set_cpu_request(cpu).set_cpu_limit(cpu).set_memory_request(memory).set_memory_limit(memory)
