"""Errors the trainer raises for input it cannot use.

Every class derives from :class:`TrainingInputError` (a ``ValueError``), so the command line can tell a
user mistake (clear message, exit status 2) from a crash (traceback, exit status 1).
"""

from __future__ import annotations


class TrainingInputError(ValueError):
    """Input the trainer cannot use; the message names the bad value and what would be valid."""


class OptionError(TrainingInputError):
    """A training option is out of range or contradicts another option."""


class DataError(TrainingInputError):
    """A data split or the statistics file is missing, empty, or lacks a needed column."""


class ModelError(TrainingInputError):
    """An unknown architecture, bad model options, or a model directory that cannot be read."""


class OutputError(TrainingInputError):
    """The model, checkpoint or TensorBoard directory cannot be written, or would overwrite a model."""


class CheckpointError(TrainingInputError):
    """A checkpoint exists but belongs to a different run (another model or data)."""
