"""bigquery_types: GoogleSQL names reported, BigQuery types declared for loads, plain Python results."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from google.cloud import bigquery

from components.preprocess.engines.base import WarehouseError
from components.preprocess.engines.bigquery_types import bigquery_type, load_arrow_type, scalar, type_name


@pytest.mark.parametrize(
    ("legacy", "mode", "reported"),
    [
        ("INTEGER", "NULLABLE", "INT64"),
        ("FLOAT", "REQUIRED", "FLOAT64"),
        ("BOOLEAN", "NULLABLE", "BOOL"),
        ("RECORD", "NULLABLE", "STRUCT"),
        ("STRING", "NULLABLE", "STRING"),
        ("INTEGER", "REPEATED", "ARRAY<INT64>"),
    ],
)
def test_legacy_rest_type_names_are_reported_as_googlesql(legacy: str, mode: str, reported: str) -> None:
    assert type_name(bigquery.SchemaField("c", legacy, mode=mode)) == reported


@pytest.mark.parametrize(
    ("arrow", "declared", "written"),
    [
        (pa.bool_(), "BOOL", pa.bool_()),
        (pa.int8(), "INT64", pa.int64()),
        (pa.uint32(), "INT64", pa.int64()),
        (pa.float32(), "FLOAT64", pa.float64()),
        (pa.large_string(), "STRING", pa.string()),
        (pa.dictionary(pa.int8(), pa.string()), "STRING", pa.string()),
        (pa.binary(), "BYTES", pa.binary()),
        (pa.date32(), "DATE", pa.date32()),
        (pa.timestamp("us"), "DATETIME", pa.timestamp("us")),
        (pa.timestamp("us", tz="UTC"), "TIMESTAMP", pa.timestamp("us", tz="UTC")),
        (pa.decimal128(38, 9), "NUMERIC", pa.decimal128(38, 9)),
        (pa.decimal128(38, 10), "BIGNUMERIC", pa.decimal128(38, 10)),
    ],
)
def test_load_types_match_the_parquet_written(
    arrow: pa.DataType, declared: str, written: pa.DataType
) -> None:
    field = pa.field("c", arrow)
    assert load_arrow_type(field) == written
    assert bigquery_type(pa.field("c", load_arrow_type(field))) == declared


def test_a_type_bigquery_cannot_store_names_the_column() -> None:
    with pytest.raises(WarehouseError, match=r"column 'nested' has Arrow type struct"):
        bigquery_type(pa.field("nested", pa.struct([("a", pa.int64())])))


def test_numeric_results_come_back_as_plain_ints_and_floats() -> None:
    assert [scalar(Decimal("2")), scalar(Decimal("2.50")), scalar("x"), scalar(None)] == [2, 2.5, "x", None]
    assert type(scalar(Decimal("2"))) is int
