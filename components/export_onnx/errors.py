"""Errors of the ONNX export: each names the bad value and what would have been valid."""

from __future__ import annotations


class ExportError(RuntimeError):
    """The model could not be exported, checked or measured; nothing was written to the output path."""


class ModelDirError(ExportError, ValueError):
    """The model directory cannot be rebuilt: bad config, unknown architecture, weights that do not fit."""


class ModelNotFoundError(ModelDirError, FileNotFoundError):
    """The model directory, or one of its two files (model.pt, model_config.json), does not exist."""


class OutputExistsError(ExportError, FileExistsError):
    """The output file exists and ``overwrite`` was not set: the existing file was left untouched."""


class ParityError(ExportError):
    """onnxruntime and PyTorch disagree by more than the tolerance on the held-out batch."""


class PreprocessingGraphError(ExportError, ValueError):
    """The preprocessing statistics cannot be turned into an ONNX graph (unknown transform, bad fields)."""
