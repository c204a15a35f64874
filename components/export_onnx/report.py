"""What an export proved, in two places: the ONNX file's ``metadata_props`` and a JSON report.

Serving code reads the metadata from the model file alone (class names, feature order, how the model
was checked); pipelines read the JSON report or the KFP artifact metadata built from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx

FORMAT = "kwp.onnx"
VERSION = 1


@dataclass(frozen=True)
class ExportReport:
    """The outcome of one export: where the file is, its interface, parity and latency.

    ``latency_ms`` maps a runtime (``pytorch``, ``onnxruntime`` and, with embedded preprocessing,
    ``onnxruntime_raw_inputs``) to ``{"batch_1": ms, "batch_256": ms}``.
    """

    onnx_path: str
    report_path: str
    opset: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    parity_max_abs_diff: float
    parity_rows: int
    tolerance: float
    latency_ms: dict[str, dict[str, float]]
    threads: int
    embed_preprocessing: bool
    external_data: bool
    size_bytes: int
    architecture: str = ""
    classes: list[Any] = field(default_factory=list)
    feature_columns: list[str] = field(default_factory=list)
    #: Image models (cnn, darts) take flat rows and reshape them to this shape inside the graph.
    image_shape: list[int] | None = None
    #: Raw-input graph vs ``preprocess.stats.apply`` + PyTorch; None without embedded preprocessing.
    preprocessing_max_abs_diff: float | None = None
    raw_numeric_columns: list[str] = field(default_factory=list)
    raw_categorical_columns: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    def speedup(self, batch: int) -> float:
        """PyTorch latency divided by onnxruntime latency at ``batch`` rows (bare model, same threads)."""
        key = f"batch_{batch}"
        return self.latency_ms["pytorch"][key] / self.latency_ms["onnxruntime"][key]

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def metadata_props(report: ExportReport) -> dict[str, str]:
    """The key/value strings stored in the model file (ONNX allows only strings)."""
    props = {
        "kwp.format": FORMAT,
        "kwp.version": str(VERSION),
        "opset": str(report.opset),
        "inputs": json.dumps(report.inputs),
        "outputs": json.dumps(report.outputs),
        "architecture": report.architecture,
        "classes": json.dumps(report.classes),
        "feature_columns": json.dumps(report.feature_columns),
        "image_shape": json.dumps(report.image_shape),
        "parity_max_abs_diff": repr(report.parity_max_abs_diff),
        "parity_rows": str(report.parity_rows),
        "parity_tolerance": repr(report.tolerance),
        "latency_ms": json.dumps(report.latency_ms, sort_keys=True),
        "threads": str(report.threads),
        "embed_preprocessing": "true" if report.embed_preprocessing else "false",
    }
    if report.embed_preprocessing:
        props["raw_numeric_columns"] = json.dumps(report.raw_numeric_columns)
        props["raw_categorical_columns"] = json.dumps(report.raw_categorical_columns)
        props["preprocessing_max_abs_diff"] = repr(report.preprocessing_max_abs_diff)
    return props


def write_metadata(path: Path, props: dict[str, str]) -> None:
    """Store ``props`` in the model at ``path`` without loading (or rewriting) external weights."""
    model = onnx.load(str(path), load_external_data=False)
    onnx.helper.set_model_props(model, props)
    onnx.save_model(model, str(path))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file as a dict (what a serving process reads)."""
    model = onnx.load(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}
