"""KFP component ``train``: distributed PyTorch training, locally or as a PyTorchJob/TrainJob."""

from kfp import dsl

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def train(
    train_data: dsl.Input[dsl.Dataset],
    validation_data: dsl.Input[dsl.Dataset],
    stats: dsl.Input[dsl.Artifact],
    model: dsl.Output[dsl.Model],
    metrics: dsl.Output[dsl.Metrics],
    tensorboard: dsl.Output[dsl.Artifact],
    learning_curves: dsl.Output[dsl.HTML],
    backend: str = "local",
    job_kind: str = "pytorchjob",
    num_nodes: int = 1,
    nproc_per_node: int = 1,
    model_type: str = "mlp",
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.001,
    precision: str = "fp32",
    extra_args: str = "{}",
    image: str = "",
    namespace: str = "",
    cpu: str = "2",
    memory: str = "8Gi",
    gpu: int = 0,
    checkpoint_pvc: str = "",
    checkpoint_dir: str = "",
    max_restarts: int = 0,
    service_account: str = "",
    queue: str = "",
    priority_class: str = "",
    node_selector: str = "{}",
    tolerations: str = "[]",
    secret_env: str = "{}",
    s3_endpoint: str = "",
    delete_after: str = "on_success",
    timeout_s: int = 86400,
    run_id: str = "",
    task_id: str = "",
):
    """Train a classifier on the preprocessed splits with ``torchrun``.

    backend="local" runs ``nproc_per_node`` processes in this container; backend="kubernetes" submits a
    PyTorchJob (job_kind="pytorchjob") or a Trainer TrainJob (job_kind="trainjob") of ``num_nodes`` pods
    that read and write the artifact URIs, re-attaching to it if this pod restarts. Pass
    dsl.PIPELINE_JOB_ID_PLACEHOLDER / dsl.PIPELINE_TASK_ID_PLACEHOLDER as run_id / task_id.
    extra_args: JSON object of more trainer options, e.g. {"hidden_sizes": [128, 64], "seed": 1}.
    secret_env: JSON {"VAR": "secret-name/key"} for the job pods. image "" means the kwp trainer image.
    node_selector (kubernetes): JSON {"label": "value"} for every job pod; the accelerator type goes here,
    e.g. {"cloud.google.com/gke-accelerator": "nvidia-l4"}, and gpu sets the nvidia.com/gpu limit.
    tolerations (kubernetes): JSON list of Kubernetes tolerations, e.g. [{"key": "spot", "operator":
    "Exists", "effect": "NoSchedule"}]; with gpu > 0 and none for nvidia.com/gpu, the pods also get
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} (GPU nodes' usual taint).
    Checkpoints: on Kubernetes to checkpoint_pvc at /mnt/checkpoints/<job name> (none without a PVC);
    locally to checkpoint_dir ("" means beside the model output), where torchrun restarts the
    processes up to max_restarts times and the trainer resumes from its last checkpoint.
    """
    from components.train.launchers.publishing import publish
    from components.train.launchers.step import TrainStepConfig, run_train_step

    config = TrainStepConfig(
        backend=backend, job_kind=job_kind, num_nodes=num_nodes, nproc_per_node=nproc_per_node,
        model_type=model_type, epochs=epochs, batch_size=batch_size, lr=lr, precision=precision,
        extra_args=extra_args, image=image, namespace=namespace, cpu=cpu, memory=memory, gpu=gpu,
        checkpoint_pvc=checkpoint_pvc, checkpoint_dir=checkpoint_dir, max_restarts=max_restarts,
        service_account=service_account, queue=queue, priority_class=priority_class,
        node_selector=node_selector, tolerations=tolerations, secret_env=secret_env, s3_endpoint=s3_endpoint,
        delete_after=delete_after, timeout_s=timeout_s, run_id=run_id, task_id=task_id,
    )  # fmt: skip
    result = run_train_step(config, train_data, validation_data, stats, model)
    sources = {"train": train_data.uri, "validation": validation_data.uri}
    publish(result, config, model=model, metrics=metrics, tensorboard=tensorboard, stats=stats,
            sources=sources, learning_curves=learning_curves)  # fmt: skip
