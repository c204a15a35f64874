import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from katib.darts.data import load_image_table, split_in_halves
from katib.darts.errors import DataError


def test_stats_json_names_the_feature_columns(digits_parquet, digits_stats):
    table = load_image_table(digits_parquet, stats_path=digits_stats)
    assert table.features.shape == (96, 64) and table.features.dtype == np.float32
    assert table.input_shape == (1, 8, 8)
    assert table.classes == (0, 1, 2) and table.num_classes == 3
    assert table.feature_columns[0] == "pixel_0"


def test_without_stats_every_numeric_column_but_label_and_key_is_a_feature(digits_parquet, digits_stats):
    with_stats = load_image_table(digits_parquet, stats_path=digits_stats)
    without = load_image_table(digits_parquet)
    np.testing.assert_array_equal(with_stats.features, without.features)
    np.testing.assert_array_equal(with_stats.labels, without.labels)


def test_string_labels_become_class_indices(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"label": ["b", "a", "b", "c"], **{f"p{i}": [0.0, 1.0, 2.0, 3.0] for i in range(4)}}), path
    )
    table = load_image_table(path)
    assert table.classes == ("a", "b", "c")
    assert table.labels.tolist() == [1, 0, 1, 2]
    assert table.input_shape == (1, 2, 2)
    assert load_image_table(path, input_shape=[4, 1, 1]).input_shape == (4, 1, 1)


@pytest.mark.parametrize(
    "columns, kwargs, message",
    [
        ({"label": [0, 1], "p0": [0.0, 1.0], "note": ["x", "y"]}, {}, "non-numeric columns \\['note'\\]"),
        ({"y": [0, 1], "p0": [0.0, 1.0]}, {}, "no label column 'label'"),
        ({"label": [0, 0], "p0": [0.0, 1.0]}, {}, "has 1 class"),
        ({"label": [0, 1], "p0": [0.0, None]}, {}, "'p0' .* has 1 null values"),
        (
            {"label": [0, 1], **{f"p{i}": [0.0, 1.0] for i in range(5)}},
            {},
            "5 features are not a square image",
        ),
        (
            {"label": [0, 1], "p0": [0.0, 1.0]},
            {"input_shape": [1, 2, 2]},
            "does not hold the 1 feature columns",
        ),
    ],
)
def test_unusable_tables_are_rejected(tmp_path, columns, kwargs, message):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(DataError, match=message):
        load_image_table(path, **kwargs)


def test_stats_json_must_name_key_label_and_features(tmp_path, digits_parquet):
    stats = tmp_path / "s.json"
    stats.write_text(json.dumps({"label_column": "label"}))
    with pytest.raises(DataError, match="lacks \\['key_column', 'feature_columns'\\]"):
        load_image_table(digits_parquet, stats_path=stats)
    stats.write_text(json.dumps({"key_column": "key", "label_column": "label", "feature_columns": ["nope"]}))
    with pytest.raises(DataError, match="lacks feature columns \\['nope'\\]"):
        load_image_table(digits_parquet, stats_path=stats)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read Parquet data"):
        load_image_table(tmp_path / "missing.parquet")


def test_halves_are_disjoint_cover_every_row_and_are_seeded():
    a, b = split_in_halves(11, seed=5)
    assert len(a) == 5 and len(b) == 6
    assert sorted([*a, *b]) == list(range(11))
    np.testing.assert_array_equal(split_in_halves(11, seed=5)[0], a)
    assert not np.array_equal(split_in_halves(11, seed=6)[0], a)
