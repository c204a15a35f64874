"""snowflake_types: result schemas from cursor metadata, load types, one schema for every batch."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from components.preprocess.engines.base import WarehouseError
from components.preprocess.engines.snowflake_types import (
    conform,
    row_chunks,
    scalar,
    schema_from_description,
    snowflake_type,
    stable_schema,
)


def test_description_types_map_like_the_connectors_arrow_path() -> None:
    # (name, type_code, display_size, internal_size, precision, scale, is_nullable)
    description = [
        ("k", 0, None, None, 38, 0, True),
        ("amount", 0, None, None, 10, 2, True),
        ("f", 1, None, None, None, None, True),
        ("s", 2, None, 16777216, None, None, True),
        ("b", 13, None, None, None, None, True),
        ("d", 3, None, None, None, None, True),
        ("ts", 8, None, None, 0, 9, True),
    ]
    schema = schema_from_description(description)
    assert schema.types == [
        pa.int64(), pa.float64(), pa.float64(), pa.string(), pa.bool_(), pa.date32(), pa.timestamp("ns"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("arrow", "declared"),
    [
        (pa.bool_(), "BOOLEAN"),
        (pa.int32(), "BIGINT"),
        (pa.float32(), "DOUBLE"),
        (pa.large_string(), "VARCHAR"),
        (pa.dictionary(pa.int8(), pa.string()), "VARCHAR"),
        (pa.binary(), "BINARY"),
        (pa.date32(), "DATE"),
        (pa.timestamp("us"), "TIMESTAMPNTZ"),  # Snowflake's alias of TIMESTAMP_NTZ
        (pa.timestamp("us", tz="UTC"), "TIMESTAMPTZ"),
        (pa.decimal128(12, 3), "DECIMAL(12, 3)"),  # = NUMBER(12, 3)
    ],
)
def test_load_types(arrow: pa.DataType, declared: str) -> None:
    assert snowflake_type(pa.field("c", arrow)).sql("snowflake") == declared


def test_a_type_snowflake_cannot_store_names_the_column() -> None:
    with pytest.raises(WarehouseError, match=r"column 'nested' has Arrow type struct"):
        snowflake_type(pa.field("nested", pa.struct([("a", pa.int64())])))


def test_numbers_come_back_as_plain_ints_and_floats() -> None:
    assert [scalar(Decimal("2")), scalar(Decimal("2.50")), scalar("x"), scalar(None)] == [2, 2.5, "x", None]
    assert type(scalar(Decimal("2"))) is int


class FakeCursor:
    """Stands in for a DB-API cursor's ``fetchmany`` (fakesnow's patch has the real one; this one
    needs no warehouse for a pure conversion test)."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def fetchmany(self, size: int) -> list[tuple]:
        taken, self.rows = self.rows[:size], self.rows[size:]
        return taken


def test_fetchmany_chunks_become_arrow_with_the_described_schema() -> None:
    schema = pa.schema([("k", pa.int64()), ("x", pa.float64())])
    chunks = list(row_chunks(FakeCursor([(i, i / 2 if i % 2 else None) for i in range(5)]), schema, 2))
    assert [c.num_rows for c in chunks] == [2, 2, 1]
    assert all(c.schema == schema for c in chunks)
    assert pa.concat_tables(chunks).column("x").to_pylist() == [None, 0.5, None, 1.5, None]


def test_every_batch_gets_the_first_chunks_schema_with_integers_widened() -> None:
    tagged = pa.schema([pa.field("k", pa.int16(), metadata={b"chunk": b"1"}), pa.field("s", pa.string())])
    first = pa.RecordBatch.from_pylist([{"k": 1, "s": "a"}], schema=tagged)
    schema = stable_schema(first.schema)
    assert schema.types == [pa.int64(), pa.string()] and schema.field("k").metadata is None
    wider = pa.RecordBatch.from_pylist([{"k": 2**40, "s": "b"}], schema=pa.schema([("k", pa.int64()),
                                                                                   ("s", pa.string())]))
    assert [conform(b, schema).schema for b in (first, wider)] == [schema, schema]

