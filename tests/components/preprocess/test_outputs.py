from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.preprocess import outputs
from components.preprocess.run import OutputPaths, run_preprocess


def test_uri_outputs_go_through_pyarrow_fs(synthetic, tmp_path):
    """``file://`` takes the same ``FileSystem.from_uri`` path as ``gs://`` and ``s3://``."""
    from components.preprocess import datasets

    base = f"file://{tmp_path}/nested/dir"
    paths = OutputPaths.in_directory(base)
    assert not outputs.exists(paths.train)
    result = run_preprocess(datasets.synthetic_spec(), synthetic, paths)
    assert outputs.exists(paths.stats)
    assert pq.read_metadata(tmp_path / "nested/dir/train.parquet").num_rows == result.row_counts["train"]


def test_write_parquet_streams_batches_and_skips_float_dictionaries(tmp_path):
    schema = pa.schema([("k", pa.int64()), ("f", pa.float64())])
    batches = (pa.record_batch([pa.array([i, i + 1]), pa.array([0.5, 1.5])], schema=schema) for i in range(3))
    path = str(tmp_path / "x.parquet")
    assert outputs.write_parquet(path, batches) == 6
    meta = pq.read_metadata(path)
    encodings = meta.row_group(0).column(1).encodings
    assert meta.num_rows == 6 and "PLAIN_DICTIONARY" not in encodings and "RLE_DICTIONARY" not in encodings


def test_write_parquet_without_rows_needs_a_schema(tmp_path):
    with pytest.raises(ValueError, match="no rows and no schema"):
        outputs.write_parquet(str(tmp_path / "e.parquet"), iter(()))
    schema = pa.schema([("k", pa.int64())])
    assert outputs.write_parquet(str(tmp_path / "e.parquet"), iter(()), schema) == 0
    assert pq.read_table(tmp_path / "e.parquet").schema == schema
