"""Reading the preprocessed splits: column resolution, classes, and every bad-input message."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from components.train.data import TensorSplit, load_splits, resolve_columns, split_identity
from components.train.errors import DataError


def test_stats_file_fixes_feature_order_and_label(splits, feature_names):
    stats = json.loads(splits.stats.read_text())
    stats["feature_columns"] = list(reversed(feature_names))
    splits.stats.write_text(json.dumps(stats))
    train, val, columns, classes = load_splits(
        str(splits.train), str(splits.validation), stats_path=str(splits.stats)
    )
    assert columns.feature_columns == tuple(reversed(feature_names))
    assert (columns.label_column, columns.key_column, columns.stats_uri) == (
        "label",
        "key",
        str(splits.stats),
    )
    assert classes == [0, 1, 2]
    assert train.features.dtype == torch.float32 and train.features.shape == (240, 8)
    assert train.labels.dtype == torch.int64 and len(val) == 60
    raw = pq.read_table(splits.train).column("f7").to_numpy()
    assert torch.allclose(train.features[:, 0], torch.tensor(raw, dtype=torch.float32))


def test_defaults_use_every_numeric_column_but_label_and_key(splits, feature_names):
    columns = resolve_columns(pq.read_schema(splits.train))
    assert list(columns.feature_columns) == feature_names
    assert (columns.label_column, columns.key_column) == ("label", "key")


def test_explicit_columns_override_the_stats_file(splits):
    columns = resolve_columns(
        pq.read_schema(splits.train), stats_path=str(splits.stats), feature_columns=["f2", "f0"]
    )
    assert columns.feature_columns == ("f2", "f0")


def test_string_labels_become_sorted_classes(tmp_path, write_split):
    train = write_split(tmp_path / "t.parquet", 90, seed=1, label_kind="str")
    val = write_split(tmp_path / "v.parquet", 30, seed=2, label_kind="str")
    train_split, _, _, classes = load_splits(str(train), str(val))
    assert classes == ["class-0", "class-1", "class-2"]
    first = pq.read_table(train).column("label")[0].as_py()
    assert classes[int(train_split.labels[0])] == first


def test_object_store_uris_go_through_pyarrow_fs(splits):
    _, val, _, _ = load_splits(
        splits.train.as_uri(), splits.validation.as_uri(), stats_path=splits.stats.as_uri()
    )
    assert len(val) == 60


def test_missing_columns_are_named(splits):
    with pytest.raises(
        DataError, match=r"column\(s\) \['nope'\] not found in the data; available: key, label"
    ):
        load_splits(str(splits.train), str(splits.validation), feature_columns=["f0", "nope"])
    with pytest.raises(DataError, match=r"column\(s\) \['target'\] not found"):
        load_splits(str(splits.train), str(splits.validation), label_column="target")


def test_validation_split_needs_the_same_columns(splits, tmp_path):
    table = pq.read_table(splits.validation).drop_columns(["f3"])
    pq.write_table(table, tmp_path / "short.parquet")
    with pytest.raises(DataError, match=r"\['f3'\] not found in the validation split"):
        load_splits(str(splits.train), str(tmp_path / "short.parquet"))


def test_single_class_label_is_rejected(tmp_path, write_split, splits):
    one = write_split(tmp_path / "one.parquet", 40, seed=3, classes=1)
    with pytest.raises(
        DataError, match=r"training split has 1 distinct label value\(s\) \[0\]; need at least 2"
    ):
        load_splits(str(one), str(splits.validation))


def test_empty_split_is_rejected(tmp_path, splits):
    empty = pq.read_table(splits.train).slice(0, 0)
    pq.write_table(empty, tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"empty.parquet' is empty \(0 rows\)"):
        load_splits(str(splits.train), str(tmp_path / "empty.parquet"))
    with pytest.raises(DataError, match="is empty"):
        load_splits(str(tmp_path / "empty.parquet"), str(splits.validation))


def test_missing_file_and_unseen_validation_labels(tmp_path, write_split, splits):
    with pytest.raises(DataError, match="does not exist"):
        load_splits(str(tmp_path / "absent.parquet"), str(splits.validation))
    two = write_split(tmp_path / "two.parquet", 60, seed=4, classes=2)
    with pytest.raises(
        DataError, match=r"validation split has label\(s\) \[2\] not seen in the training split"
    ):
        load_splits(str(two), str(splits.validation))


def test_nan_features_and_non_numeric_features_are_rejected(tmp_path, splits):
    table = pq.read_table(splits.train)
    values = table.column("f1").to_pylist()
    values[5] = float("nan")
    pq.write_table(
        table.set_column(table.schema.get_field_index("f1"), "f1", pa.array(values)), tmp_path / "n.parquet"
    )
    with pytest.raises(DataError, match=r"feature column\(s\) \['f1'\] hold NaN"):
        load_splits(str(tmp_path / "n.parquet"), str(splits.validation))
    with pytest.raises(DataError, match=r"feature column\(s\) \['key'\] are not numeric"):
        load_splits(str(splits.train), str(splits.validation), feature_columns=["key", "f0"])


def test_stats_file_must_name_the_columns(tmp_path, splits):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"label_column": "label"}))
    with pytest.raises(DataError, match=r"lacks key\(s\) \['key_column', 'feature_columns'\]"):
        load_splits(str(splits.train), str(splits.validation), stats_path=str(bad))
    bad.write_text("{not json")
    with pytest.raises(DataError, match="is not valid JSON"):
        load_splits(str(splits.train), str(splits.validation), stats_path=str(bad))


def test_split_identity_names_the_split_and_hashes_its_tensors(splits, monkeypatch):
    train, _, _, _ = load_splits(str(splits.train), str(splits.validation))
    identity = split_identity(str(splits.train), train)
    assert identity == {"uri": str(splits.train), "rows": 240, "features": 8, "sha256": identity["sha256"]}
    monkeypatch.chdir(splits.train.parent)  # the same file named relative to another directory
    assert split_identity(splits.train.name, train) == identity
    assert split_identity(splits.train.as_uri(), train)["uri"] == splits.train.as_uri()
    one_label = train.labels.clone()
    one_label[7] = (one_label[7] + 1) % 3
    assert (
        split_identity(str(splits.train), TensorSplit(train.features, one_label))["sha256"]
        != identity["sha256"]
    )
    nudged = train.features.clone()
    nudged[3, 5] += 1e-6
    assert (
        split_identity(str(splits.train), TensorSplit(nudged, train.labels))["sha256"] != identity["sha256"]
    )
