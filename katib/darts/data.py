"""Read a labelled image table (Parquet: one column per pixel, a label, maybe a key) for a search.

The preprocessing step writes such tables with a statistics JSON beside them; when given, that JSON
says which columns are the key, the label and the features (in order). Without it every numeric
column except the label and the key is a feature, in table order.

Both may be local paths or object-store URIs (``gs://``, ``s3://``, ``file://``): a Katib trial pod
gets the pipeline artifacts' URIs. They are opened through ``pyarrow.fs``, whose GCS and S3 clients
ship with pyarrow and take credentials from the environment (Workload Identity, ``AWS_*``; a MinIO
or other S3-compatible endpoint through ``AWS_ENDPOINT_URL``). The trial image holds only
``katib/``, so this module does not share the trainer's storage helpers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from katib.darts.errors import DartsError, DataError
from katib.darts.network import infer_image_shape

STATS_KEYS = ("key_column", "label_column", "feature_columns")


@dataclass(frozen=True)
class ImageTable:
    """Features as float32 ``(rows, C*H*W)``, labels as class indices into ``classes``."""

    features: np.ndarray
    labels: np.ndarray
    classes: tuple
    feature_columns: tuple[str, ...]
    input_shape: tuple[int, int, int]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)


def resolve(path: str | Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the path inside it for a local path or a ``scheme://`` URI."""
    text = str(path)
    if "://" not in text:
        return pafs.LocalFileSystem(), str(Path(text).absolute())
    try:
        return pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"cannot open {text!r}: {exc}; use a local path or a gs://, s3:// or file:// URI"
        ) from None


def read_stats(path: str | Path) -> dict:
    """The statistics JSON of the preprocessing step; it must name the key, label and feature columns."""
    filesystem, inner = resolve(path)
    try:
        with filesystem.open_input_stream(inner) as stream:
            stats = json.loads(stream.read().decode("utf-8"))
    except (OSError, pa.ArrowInvalid, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read statistics JSON {path}: {exc}") from None
    missing = [k for k in STATS_KEYS if k not in stats] if isinstance(stats, dict) else list(STATS_KEYS)
    if missing:
        raise DataError(f"statistics JSON {path} lacks {missing}; it needs {', '.join(STATS_KEYS)}")
    if not isinstance(stats["feature_columns"], list) or not stats["feature_columns"]:
        raise DataError(f"statistics JSON {path}: feature_columns must be a non-empty list of column names")
    return stats


def load_image_table(
    path: str | Path,
    *,
    stats_path: str | Path | None = None,
    label_column: str | None = None,
    key_column: str | None = None,
    input_shape: Sequence[int] | None = None,
) -> ImageTable:
    """Load a Parquet file or directory (path or URI); ``input_shape`` defaults to a square image."""
    stats = read_stats(stats_path) if stats_path else {}
    label = label_column or stats.get("label_column") or "label"
    key = key_column or stats.get("key_column") or "key"
    filesystem, inner = resolve(path)
    try:
        table = pq.read_table(inner, filesystem=filesystem)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"cannot read Parquet data {path}: {exc}") from None
    if table.num_rows == 0:
        raise DataError(f"{path} has no rows")
    if label not in table.column_names:
        raise DataError(f"{path} has no label column {label!r}; columns: {table.column_names}")
    columns = tuple(stats["feature_columns"]) if stats else _numeric_columns(table, exclude=(label, key))
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(f"{path} lacks feature columns {missing}")
    features = np.stack([_column(table, c, path) for c in columns], axis=1).astype(np.float32)
    labels_raw = table.column(label).to_numpy(zero_copy_only=False)
    if table.column(label).null_count:
        raise DataError(f"label column {label!r} of {path} has {table.column(label).null_count} null values")
    classes, labels = np.unique(labels_raw, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"label column {label!r} of {path} has {len(classes)} class; a classifier needs >= 2")
    shape = tuple(int(s) for s in input_shape) if input_shape else _infer(len(columns))
    if len(shape) != 3 or int(np.prod(shape)) != len(columns):
        raise DataError(f"input shape {list(shape)} does not hold the {len(columns)} feature columns")
    return ImageTable(features, labels.astype(np.int64), tuple(classes.tolist()), columns, shape)  # type: ignore[arg-type]


def split_in_halves(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle cut in two: weights learn on the first half, alphas on the second (DARTS 3.1)."""
    if rows < 2:
        raise DataError(
            f"a DARTS search needs at least 2 rows to split into train and validation, got {rows}"
        )
    order = np.random.default_rng(seed).permutation(rows)
    return order[: rows // 2], order[rows // 2 :]


def _numeric_columns(table: pa.Table, exclude: Sequence[str]) -> tuple[str, ...]:
    columns, rejected = [], []
    for field in table.schema:
        if field.name in exclude:
            continue
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        (columns if numeric else rejected).append(field.name)
    if rejected:
        raise DataError(
            f"non-numeric columns {rejected} are neither the label nor the key; pass the statistics JSON "
            "(--stats) or --key-column / --label-column"
        )
    if not columns:
        raise DataError("the table has no numeric feature columns")
    return tuple(columns)


def _column(table: pa.Table, name: str, path: str | Path) -> np.ndarray:
    column = table.column(name)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise DataError(f"feature column {name!r} of {path} has type {column.type}; features must be numeric")
    if column.null_count:
        raise DataError(f"feature column {name!r} of {path} has {column.null_count} null values")
    return column.to_numpy(zero_copy_only=False)


def _infer(num_features: int) -> tuple[int, int, int]:
    try:
        return infer_image_shape(num_features)
    except DartsError as exc:
        raise DataError(f"{exc} (--input-shape C,H,W)") from None
