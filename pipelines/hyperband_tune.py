"""``hyperband-tune``: preprocess -> Katib Hyperband -> train the best configuration fully -> ONNX."""

from kfp import dsl

from components.tune.steps import best_training_args, hyperband_experiment
from pipelines.defaults import DEFAULT_SPEC_JSON
from pipelines.steps import preprocess_step, search_step, training_steps


@dsl.pipeline(
    name="hyperband-tune",
    description="Preprocess in the warehouse, search learning rate, width and dropout with Katib "
    "(kwp-hyperband, resource = epochs), train the best configuration with the full resource, "
    "evaluate it and export it to ONNX.",
)
def hyperband_tune(
    warehouse_url: str,
    spec_json: str = DEFAULT_SPEC_JSON,
    overwrite: bool = False,
    max_epochs: int = 27,
    eta: int = 3,
    parallel_trials: int = 3,
    tune_mode: str = "kubernetes",
    tune_timeout_s: int = 86400,
    train_backend: str = "kubernetes",
    num_nodes: int = 2,
    nproc_per_node: int = 1,
    batch_size: int = 64,
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
    experiment = hyperband_experiment(max_epochs=max_epochs, eta=eta, parallel_trials=parallel_trials)
    experiment.set_display_name("Hyperband Experiment")
    search = search_step(
        experiment,
        prep,
        "Katib Hyperband search",
        mode=tune_mode,
        namespace=namespace,
        timeout_s=tune_timeout_s,
        s3_endpoint=s3_endpoint,
        secret_env=s3_secret_env,
    )
    best = best_training_args(best_parameters=search.outputs["best_parameters"], resource_name="epochs")
    best.set_display_name("best configuration")
    training_steps(
        prep,
        embed_preprocessing=embed_preprocessing,
        backend=train_backend,
        num_nodes=num_nodes,
        nproc_per_node=nproc_per_node,
        epochs=max_epochs,
        batch_size=batch_size,
        lr=best.outputs["lr"],
        extra_args=best.outputs["extra_args"],
        gpu=gpus_per_node,
        node_selector=node_selector,
        tolerations=tolerations,
        namespace=namespace,
        checkpoint_pvc=checkpoint_pvc,
        s3_endpoint=s3_endpoint,
        secret_env=s3_secret_env,
    )
