"""Errors for bad preprocessing input; each message names the bad value and what would be valid.

All subclass :class:`PreprocessError` (a ``ValueError``), except the "would overwrite" errors, which keep
their warehouse/file base classes so callers can catch them as such.
"""

from __future__ import annotations

from components.preprocess.engines.base import TableExistsError, TableNotFoundError
from components.preprocess.outputs import OutputExistsError


class PreprocessError(ValueError):
    """The data or spec cannot be preprocessed as asked."""


class MissingColumnError(PreprocessError):
    """A column named in the spec is not in the source table."""


class ColumnTypeError(PreprocessError):
    """A column's warehouse type does not fit its transforms (e.g. a text column declared numeric)."""


class EmptyTableError(PreprocessError):
    """The source table has no rows."""


class EmptySplitError(PreprocessError):
    """The training split has no rows, so nothing can be fitted."""


class NullKeyError(PreprocessError):
    """The key column has NULLs, which cannot be assigned to a split."""


class AllNullColumnError(PreprocessError):
    """A feature column has only NULLs (in the table or its training split): nothing to fit."""


class NonFiniteError(PreprocessError):
    """A fitted statistic is NaN or infinite (the training values contain NaN or infinity)."""


__all__ = [
    "AllNullColumnError", "ColumnTypeError", "EmptySplitError", "EmptyTableError", "MissingColumnError",
    "NonFiniteError", "NullKeyError", "OutputExistsError", "PreprocessError", "TableExistsError",
    "TableNotFoundError",
]
