"""``darts-nas``: preprocess -> Katib DARTS search -> train the derived architecture -> ONNX."""

from kfp import dsl

from components.tune.steps import darts_experiment, genotype_training_args
from pipelines.defaults import DEFAULT_SPEC_JSON
from pipelines.steps import preprocess_step, search_step, training_steps


@dsl.pipeline(
    name="darts-nas",
    description="Preprocess image-shaped features in the warehouse, search a cell architecture with "
    "Katib's DARTS, train the derived network from scratch as a distributed job, evaluate it and "
    "export it to ONNX.",
)
def darts_nas(
    warehouse_url: str,
    spec_json: str = DEFAULT_SPEC_JSON,
    overwrite: bool = False,
    num_layers: int = 3,
    darts_settings: str = '{"num_epochs": 10}',
    search_mode: str = "kubernetes",
    search_timeout_s: int = 86400,
    train_backend: str = "kubernetes",
    num_nodes: int = 2,
    nproc_per_node: int = 1,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 0.003,
    network_options: str = '{"model_options": {"init_channels": 16, "num_layers": 4}}',
    gpus_per_node: int = 0,
    node_selector: str = "{}",
    tolerations: str = "[]",
    namespace: str = "",
    checkpoint_pvc: str = "kwp-checkpoints",
    s3_endpoint: str = "",
    s3_secret_env: str = "{}",
):
    prep = preprocess_step(spec_json, warehouse_url, overwrite)
    experiment = darts_experiment(num_layers=num_layers, settings=darts_settings)
    experiment.set_display_name("DARTS Experiment")
    search = search_step(
        experiment,
        prep,
        "Katib DARTS search",
        mode=search_mode,
        namespace=namespace,
        timeout_s=search_timeout_s,
        s3_endpoint=s3_endpoint,
        secret_env=s3_secret_env,
    )
    network = genotype_training_args(
        genotype=search.outputs["best_objective"], base_extra_args=network_options
    )
    network.set_display_name("derived architecture")
    training_steps(
        prep,
        embed_preprocessing=False,
        backend=train_backend,
        num_nodes=num_nodes,
        nproc_per_node=nproc_per_node,
        model_type="darts",
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        extra_args=network.outputs["Output"],
        gpu=gpus_per_node,
        node_selector=node_selector,
        tolerations=tolerations,
        namespace=namespace,
        checkpoint_pvc=checkpoint_pvc,
        s3_endpoint=s3_endpoint,
        secret_env=s3_secret_env,
    )
