"""ONNX export of trained models: dynamo exporter, checker, parity and latency against PyTorch.

The public surface is re-exported here, lazily: importing the KFP component (``component.py``) or a
light submodule does not import torch. The component is imported from ``component.py`` so this package
loads without KFP.
"""

from components.lazy import lazy_exports

_EXPORTS = {
    "ExportError": "errors",
    "ModelDirError": "errors",
    "ModelNotFoundError": "errors",
    "OutputExistsError": "errors",
    "ParityError": "errors",
    "PreprocessingGraphError": "errors",
    "export_onnx": "export",
    "export_trained_module": "export",
    "ExportReport": "report",
    "read_metadata": "report",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
