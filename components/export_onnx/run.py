"""Artifacts in, artifacts out: the file-level glue between the KFP component and ``export_onnx``.

Kept out of the component body (KFP ships only the function's source) and free of KFP imports, so the
same code is unit-tested directly and runs unchanged inside the component.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as pa_dataset

from components.export_onnx.errors import ExportError
from components.export_onnx.export import export_onnx
from components.export_onnx.report import ExportReport

ONNX_FILE = "model.onnx"
REPORT_FILE = "export_report.json"


def run_export(
    model_dir: str | Path,
    test_data: str | Path,
    output_dir: str | Path,
    *,
    stats_path: str | Path | None = None,
    embed_preprocessing: bool = False,
    opset: int = 20,
    tolerance: float = 1e-4,
    sample_rows: int = 256,
    threads: int = 1,
    latency_repeats: int = 100,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``model_dir`` into ``output_dir/model.onnx`` (+ ``export_report.json``).

    The held-out batch is the first ``sample_rows`` rows of the Parquet file or directory ``test_data``
    (the preprocessed test split), read in the model's feature-column order.
    """
    model_dir = Path(model_dir)
    config_path = model_dir / "model_config.json"
    sample = None
    if config_path.is_file():  # otherwise export_onnx raises the clear "missing model" error
        feature_columns = json.loads(config_path.read_text()).get("feature_columns")
        sample = read_feature_sample(test_data, feature_columns, sample_rows) if feature_columns else None
    output_dir = Path(output_dir)
    return export_onnx(
        model_dir,
        output_dir / ONNX_FILE,
        opset=opset,
        sample=sample,
        tolerance=tolerance,
        embed_preprocessing=embed_preprocessing,
        stats=Path(stats_path) if stats_path else None,
        overwrite=overwrite,
        threads=threads,
        latency_repeats=latency_repeats,
        report_path=output_dir / REPORT_FILE,
    )


def read_feature_sample(path: str | Path, feature_columns: list[str], rows: int) -> np.ndarray:
    """The first ``rows`` rows of ``feature_columns`` from Parquet, as a float32 matrix."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"sample_rows must be a positive int, got {rows!r}")
    if not Path(path).exists():
        raise ExportError(f"held-out data {str(path)!r} does not exist")
    dataset = pa_dataset.dataset(str(path), format="parquet")
    missing = [c for c in feature_columns if c not in dataset.schema.names]
    if missing:
        raise ExportError(f"held-out data {str(path)!r} lacks feature column(s) {missing}; "
                          f"it has {dataset.schema.names}")
    table = dataset.head(rows, columns=list(feature_columns))
    if table.num_rows == 0:
        raise ExportError(f"held-out data {str(path)!r} has no rows")
    columns = [table.column(c).to_numpy(zero_copy_only=False).astype(np.float32) for c in feature_columns]
    return np.stack(columns, axis=1)


def artifact_metadata(report: ExportReport) -> dict[str, Any]:
    """Flat metadata for the ONNX ``Model`` artifact (what the KFP UI lists)."""
    meta: dict[str, Any] = {
        "framework": "onnx",
        "file": ONNX_FILE,
        "opset": report.opset,
        "inputs": report.inputs,
        "outputs": report.outputs,
        "classes": report.classes,
        "feature_columns": report.feature_columns,
        "parity_max_abs_diff": report.parity_max_abs_diff,
        "parity_tolerance": report.tolerance,
        "embed_preprocessing": report.embed_preprocessing,
        "external_data": report.external_data,
        "threads": report.threads,
    }
    for runtime, by_batch in report.latency_ms.items():
        for batch, ms in by_batch.items():
            meta[f"latency_ms_{runtime}_{batch}"] = ms
    if report.embed_preprocessing:
        meta["preprocessing_max_abs_diff"] = report.preprocessing_max_abs_diff
    return meta


def metrics(report: ExportReport) -> dict[str, float]:
    """Scalars for the ``Metrics`` artifact: parity, latency and onnxruntime speed-up per batch size."""
    scalars = {
        "onnx-parity-max-abs-diff": report.parity_max_abs_diff,
        "onnx-size-bytes": float(report.size_bytes),
    }
    for batch in ("1", "256"):
        for runtime in ("pytorch", "onnxruntime"):
            scalars[f"{runtime}-latency-ms-batch{batch}"] = report.latency_ms[runtime][f"batch_{batch}"]
        scalars[f"onnx-speedup-batch{batch}"] = report.speedup(int(batch))
    if report.preprocessing_max_abs_diff is not None:
        scalars["onnx-preprocessing-max-abs-diff"] = report.preprocessing_max_abs_diff
    return scalars


def markdown_summary(report: ExportReport) -> str:
    """A small Markdown page for the KFP UI: interface, parity and the latency table."""
    lines = [
        f"# ONNX export ({report.architecture or 'model'}, opset {report.opset})",
        "",
        "| input | dtype | shape |",
        "|---|---|---|",
        *[f"| `{i['name']}` | {i['dtype']} | {i['shape']} |" for i in report.inputs],
        "",
        f"Parity: max |PyTorch − onnxruntime| = {report.parity_max_abs_diff:.3g} on {report.parity_rows} "
        f"held-out rows (tolerance {report.tolerance:g}).",
    ]
    if report.preprocessing_max_abs_diff is not None:
        lines.append(f"Embedded preprocessing: max difference {report.preprocessing_max_abs_diff:.3g} "
                     "against the statistics applied in Python.")
    lines += ["", f"Latency in ms ({report.threads} thread(s), median):", "",
              "| runtime | batch 1 | batch 256 |", "|---|---|---|"]
    for runtime, by_batch in report.latency_ms.items():
        lines.append(f"| {runtime} | {by_batch['batch_1']:.4f} | {by_batch['batch_256']:.4f} |")
    lines += ["", f"onnxruntime speed-up: {report.speedup(1):.2f}× at batch 1, "
              f"{report.speedup(256):.2f}× at batch 256."]
    return "\n".join(lines) + "\n"
