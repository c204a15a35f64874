"""Read the preprocessed Parquet splits into in-memory tensors.

Preprocessing writes one row per example: a key column, a label column and float64 feature columns,
plus a statistics JSON that names them (``key_column``, ``label_column``, ``feature_columns`` in order).
Tabular splits fit in memory, and whole-tensor indexing by a batch of row numbers is an order of
magnitude faster than a per-row ``Dataset.__getitem__``, so the training loop never waits for data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from components.train import storage
from components.train.errors import DataError

STATS_KEYS = ("key_column", "label_column", "feature_columns")
DEFAULT_LABEL = "label"
DEFAULT_KEY = "key"


@dataclass(frozen=True)
class Columns:
    """Which columns are features (in model input order), which is the label and which the key."""

    feature_columns: tuple[str, ...]
    label_column: str
    key_column: str | None = None
    stats_uri: str | None = None


@dataclass(frozen=True)
class TensorSplit:
    """One split as tensors: ``features`` float32 (n, d), ``labels`` int64 class indices (n,)."""

    features: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def read_stats(path: str) -> dict[str, Any]:
    """The statistics JSON written by preprocessing; it must name the key, label and feature columns."""
    if not storage.exists(path):
        raise DataError(f"statistics file {path!r} does not exist")
    try:
        stats = json.loads(storage.read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"statistics file {path!r} is not valid JSON: {exc}") from exc
    missing = [k for k in STATS_KEYS if k not in stats]
    if missing:
        raise DataError(f"statistics file {path!r} lacks key(s) {missing}; required: {', '.join(STATS_KEYS)}")
    return stats


def read_schema(path: str) -> pa.Schema:
    """The Arrow schema of a Parquet file or directory of Parquet files."""
    if not storage.exists(path):
        raise DataError(f"data split {path!r} does not exist")
    fs, inner = storage.resolve(path)
    try:
        return pq.ParquetDataset(inner, filesystem=fs).schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"cannot read {path!r} as Parquet: {exc}") from exc


def resolve_columns(
    schema: pa.Schema,
    *,
    stats_path: str | None = None,
    label_column: str | None = None,
    key_column: str | None = None,
    feature_columns: Sequence[str] | None = None,
) -> Columns:
    """Columns from explicit options, else the statistics file, else the defaults; all must exist."""
    stats = read_stats(stats_path) if stats_path else {}
    label = label_column or stats.get("label_column") or DEFAULT_LABEL
    key = key_column or stats.get("key_column")
    if key is None and DEFAULT_KEY in schema.names:
        key = DEFAULT_KEY
    features = list(feature_columns or stats.get("feature_columns") or [])
    if not features:
        features = [
            f.name
            for f in schema
            if f.name not in (label, key) and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
        ]
    needed = [label, *features]
    missing = [c for c in needed if c not in schema.names]
    if missing:
        raise DataError(f"column(s) {missing} not found in the data; available: {', '.join(schema.names)}")
    if label in features:
        raise DataError(f"label column {label!r} is also listed as a feature column")
    if not features:
        raise DataError(f"no numeric feature columns besides label {label!r} and key {key!r}")
    bad = [f.name for f in schema if f.name in features and not _is_numeric(f.type)]
    if bad:
        raise DataError(f"feature column(s) {bad} are not numeric; preprocess them into numbers first")
    return Columns(tuple(features), label, key, stats_path)


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)


def read_table(path: str, columns: Columns) -> pa.Table:
    """Only the feature and label columns of a split, local or in an object store."""
    fs, inner = storage.resolve(path)
    table = pq.read_table(inner, filesystem=fs, columns=[*columns.feature_columns, columns.label_column])
    if table.num_rows == 0:
        raise DataError(f"data split {path!r} is empty (0 rows)")
    return table


def class_values(labels: pa.ChunkedArray, split: str) -> list[Any]:
    """Sorted distinct labels; fewer than two is an error (nothing to classify)."""
    if labels.null_count:
        raise DataError(f"{split} split has {labels.null_count} null label(s)")
    classes = sorted(labels.unique().to_pylist())
    if len(classes) < 2:
        raise DataError(
            f"{split} split has {len(classes)} distinct label value(s) {classes}; need at least 2"
        )
    return classes


def to_tensors(table: pa.Table, columns: Columns, classes: Sequence[Any], split: str) -> TensorSplit:
    """Features as one float32 matrix and labels as indices into ``classes``."""
    matrix = np.empty((table.num_rows, len(columns.feature_columns)), dtype=np.float32)
    for i, name in enumerate(columns.feature_columns):
        column = table.column(name)
        if column.null_count:
            raise DataError(f"{split} split: feature column {name!r} has {column.null_count} null value(s)")
        matrix[:, i] = column.to_numpy()
    if not np.isfinite(matrix).all():
        bad = [n for i, n in enumerate(columns.feature_columns) if not np.isfinite(matrix[:, i]).all()]
        raise DataError(f"{split} split: feature column(s) {bad} hold NaN or infinite values")
    labels = table.column(columns.label_column)
    if labels.null_count:
        raise DataError(f"{split} split has {labels.null_count} null label(s)")
    indices = pc.index_in(labels, value_set=pa.array(classes, type=labels.type))
    if indices.null_count:
        unknown = pc.unique(pc.filter(labels, pc.is_null(indices))).to_pylist()
        raise DataError(
            f"{split} split has label(s) {sorted(unknown, key=str)[:10]} not seen in the training split "
            f"{list(classes)}"
        )
    return TensorSplit(torch.from_numpy(matrix), torch.from_numpy(indices.to_numpy().astype(np.int64)))


def split_identity(path: str, split: TensorSplit) -> dict[str, Any]:
    """What tells one loaded split from another, for the checkpoint fingerprint: where it was read,
    its shape, and a SHA-256 of the feature and label tensors (exact, and about 0.1 s per 50 MB; the
    columns, their order and the class mapping are all in it)."""
    digest = hashlib.sha256()
    for tensor in (split.features, split.labels):
        digest.update(memoryview(np.ascontiguousarray(tensor.numpy())))
    return {
        "uri": storage.normalize(path),
        "rows": len(split),
        "features": int(split.features.shape[1]),
        "sha256": digest.hexdigest()[:16],
    }


def load_splits(
    train_path: str,
    validation_path: str,
    *,
    stats_path: str | None = None,
    label_column: str | None = None,
    key_column: str | None = None,
    feature_columns: Sequence[str] | None = None,
) -> tuple[TensorSplit, TensorSplit, Columns, list[Any]]:
    """Read both splits; classes are the sorted distinct labels of the training split."""
    columns = resolve_columns(
        read_schema(train_path),
        stats_path=stats_path,
        label_column=label_column,
        key_column=key_column,
        feature_columns=feature_columns,
    )
    train_table = read_table(train_path, columns)
    classes = class_values(train_table.column(columns.label_column), "training")
    val_schema = read_schema(validation_path)
    missing = [c for c in (*columns.feature_columns, columns.label_column) if c not in val_schema.names]
    if missing:
        raise DataError(f"column(s) {missing} not found in the validation split {validation_path!r}")
    val_table = read_table(validation_path, columns)
    train = to_tensors(train_table, columns, classes, "training")
    val = to_tensors(val_table, columns, classes, "validation")
    return train, val, columns, classes
