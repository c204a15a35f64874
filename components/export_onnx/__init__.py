"""ONNX export of trained models: dynamo exporter, checker, parity and latency against PyTorch.

The public surface is re-exported here; the KFP component lives in ``component.py`` and is imported
from there so this package loads without KFP.
"""

from components.export_onnx.errors import (
    ExportError,
    ModelDirError,
    ModelNotFoundError,
    OutputExistsError,
    ParityError,
    PreprocessingGraphError,
)
from components.export_onnx.export import export_onnx, export_trained_module
from components.export_onnx.report import ExportReport, read_metadata

__all__ = [
    "ExportError",
    "ExportReport",
    "ModelDirError",
    "ModelNotFoundError",
    "OutputExistsError",
    "ParityError",
    "PreprocessingGraphError",
    "export_onnx",
    "export_trained_module",
    "read_metadata",
]
