"""KFP component ``export_onnx``: Model artifact (a trained model directory) -> ONNX Model artifact.

A lightweight component whose body only translates artifacts into a call of
``components.export_onnx.run.run_export``; the work and its tests live there. No
``from __future__ import annotations`` here: KFP reads the annotations as types.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def export_onnx(
    model: Input[Model],
    test_data: Input[Dataset],
    onnx_model: Output[Model],
    metrics: Output[Metrics],
    summary: Output[Markdown],
    stats: Input[Artifact] = None,
    embed_preprocessing: bool = False,
    opset: int = 20,
    tolerance: float = 1e-4,
    sample_rows: int = 256,
    threads: int = 1,
    latency_repeats: int = 100,
):
    """Export a trained model to ONNX (dynamo exporter, dynamic batch), check it with onnx.checker,
    compare onnxruntime with PyTorch on held-out rows (fails above ``tolerance``) and time both at batch
    1 and 256. ``embed_preprocessing`` folds the fitted statistics into the graph (raw inputs)."""
    from components.export_onnx import run

    report = run.run_export(
        model.path, test_data.path, onnx_model.path, stats_path=stats.path if stats else None,
        embed_preprocessing=embed_preprocessing, opset=opset, tolerance=tolerance,
        sample_rows=sample_rows, threads=threads, latency_repeats=latency_repeats,
    )
    onnx_model.metadata.update(run.artifact_metadata(report))
    for name, value in run.metrics(report).items():
        metrics.log_metric(name, value)
    with open(summary.path, "w") as handle:
        handle.write(run.markdown_summary(report))
