"""Steps every pipeline shares, with their cluster settings, retries and caching in one place."""

from __future__ import annotations

from kfp import dsl

from components.evaluate.component import evaluate
from components.export_onnx.component import export_onnx
from components.preprocess.component import preprocess
from components.train.component import train
from components.train.launchers.spec import GPU_RESOURCE
from components.tune.component import tune
from pipelines import cluster


def preprocess_step(spec_json: str, warehouse_url: str, overwrite: bool) -> dsl.PipelineTask:
    """Warehouse push-down preprocessing; retried because warehouses have transient failures.

    Not cached: the same spec and URL read whatever the warehouse table holds today.
    """
    task = preprocess(spec_json=spec_json, warehouse_url=warehouse_url, overwrite=overwrite)
    task.set_display_name("preprocess in the warehouse")
    task.set_retry(num_retries=2, backoff_duration="30s")
    task.set_caching_options(enable_caching=False)
    cluster.with_warehouse_credentials(task)
    return cluster.light(task, memory="4Gi")


def training_steps(prep: dsl.PipelineTask, backend: str, gpu: int, embed_preprocessing: bool,
                   **options) -> None:
    """Train, then evaluate and export: torchrun in the step's own pod, or a PyTorchJob / TrainJob.

    Two branches because only the first trains in its own pod: there the GPUs (``gpu`` per pod, with
    the usual ``nvidia.com/gpu`` taint tolerated) go on the step itself; a launcher pod gets none, its
    job's pods do. Evaluation and export sit in each branch rather than after a ``dsl.OneOf`` of the
    two models: kfp.local (2.17) runs ``OneOf`` of parameters but not of artifacts.
    Retrying is safe: a restarted launcher re-attaches to the job it created (named after the run and
    task) instead of starting a second one, and training resumes from its last checkpoint.
    """
    with dsl.If(backend == "local", "train in the step's pod"):
        here = _train_task(prep, "train (torchrun in this pod)", backend=backend, gpu=gpu, **options)
        here.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(gpu)
        cluster.tolerate_gpu_nodes(here)
        evaluate_and_export(here.outputs["model"], prep, embed_preprocessing)
    with dsl.Else("train as a Kubernetes job"):
        job = _train_task(prep, "train (PyTorchJob / TrainJob)", backend=backend, gpu=gpu, **options)
        evaluate_and_export(job.outputs["model"], prep, embed_preprocessing)


def _train_task(prep: dsl.PipelineTask, display_name: str, **options) -> dsl.PipelineTask:
    task = train(
        train_data=prep.outputs["train"],
        validation_data=prep.outputs["validation"],
        stats=prep.outputs["stats"],
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        task_id=dsl.PIPELINE_TASK_ID_PLACEHOLDER,
        **options,
    )
    task.set_display_name(display_name)
    task.set_retry(num_retries=2, backoff_duration="60s")
    return cluster.light(task, cpu="2", memory="8Gi")


def search_step(
    experiment: dsl.PipelineTask, prep: dsl.PipelineTask, display_name: str, **options
) -> dsl.PipelineTask:
    """Run a Katib Experiment over the preprocessed splits (on the cluster or as local trials).

    Retrying is safe: the Experiment is named after the run and task, so a restarted step re-attaches
    to it instead of starting a second search.
    """
    task = tune(
        experiment_spec=experiment.output,
        train=prep.outputs["train"],
        validation=prep.outputs["validation"],
        stats=prep.outputs["stats"],
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        task_id=dsl.PIPELINE_TASK_ID_PLACEHOLDER,
        **options,
    )
    task.set_display_name(display_name)
    task.set_retry(num_retries=2, backoff_duration="60s")
    return cluster.light(task)


def evaluate_and_export(
    model: dsl.PipelineChannel, prep: dsl.PipelineTask, embed_preprocessing: bool
) -> tuple[dsl.PipelineTask, dsl.PipelineTask]:
    """Test-split metrics for the UI, then the ONNX model checked against onnxruntime."""
    ev = evaluate(model=model, test_data=prep.outputs["test"])
    ev.set_display_name("evaluate on the test split")
    cluster.light(ev, memory="4Gi")
    ex = export_onnx(
        model=model,
        test_data=prep.outputs["test"],
        stats=prep.outputs["stats"],
        embed_preprocessing=embed_preprocessing,
    )
    ex.set_display_name("export ONNX")
    cluster.light(ex, memory="4Gi")
    return ev, ex
