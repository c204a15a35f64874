"""``warehouse-train``: preprocess in the warehouse -> train (PyTorchJob) -> evaluate -> export ONNX."""

from kfp import dsl

from pipelines.defaults import DEFAULT_SPEC_JSON
from pipelines.steps import preprocess_step, training_steps


@dsl.pipeline(
    name="warehouse-train",
    description="Preprocess a warehouse table with SQL push-down, train a PyTorch model as a "
    "distributed job, evaluate it on the test split and export it to ONNX.",
)
def warehouse_train(
    warehouse_url: str,
    spec_json: str = DEFAULT_SPEC_JSON,
    overwrite: bool = False,
    train_backend: str = "kubernetes",
    job_kind: str = "pytorchjob",
    num_nodes: int = 2,
    nproc_per_node: int = 1,
    model_type: str = "mlp",
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 0.001,
    precision: str = "fp32",
    train_options: str = '{"hidden_sizes": [128, 64], "dropout": 0.1}',
    gpus_per_node: int = 0,
    node_selector: str = "{}",
    tolerations: str = "[]",
    namespace: str = "",
    checkpoint_pvc: str = "kwp-checkpoints",
    s3_endpoint: str = "",
    s3_secret_env: str = "{}",
    embed_preprocessing: bool = True,
):
    prep = preprocess_step(spec_json, warehouse_url, overwrite)
    training_steps(
        prep,
        embed_preprocessing=embed_preprocessing,
        backend=train_backend,
        job_kind=job_kind,
        num_nodes=num_nodes,
        nproc_per_node=nproc_per_node,
        model_type=model_type,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        precision=precision,
        extra_args=train_options,
        gpu=gpus_per_node,
        node_selector=node_selector,
        tolerations=tolerations,
        namespace=namespace,
        checkpoint_pvc=checkpoint_pvc,
        s3_endpoint=s3_endpoint,
        secret_env=s3_secret_env,
    )
