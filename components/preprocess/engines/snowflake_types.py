"""Type mapping between Arrow and Snowflake, and the Arrow form of the connector's results.

- :func:`schema_from_description`: the Arrow schema of a result from the cursor's metadata, matching
  what the connector's own Arrow path produces (for cursors without Arrow results, e.g. fakesnow's patch).
- :func:`row_chunks`, :func:`stable_schema`, :func:`conform`: one schema for every exported batch.
- :func:`snowflake_type`: the column type ``load_arrow`` declares for an Arrow field.
- :func:`scalar`: NUMBER results as plain ints and floats.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from components.preprocess.engines.base import WarehouseError

DIALECT = "snowflake"


def scalar(value: Any) -> Any:
    """NUMBER results arrive as Decimal; statistics are plain ints and floats on every engine."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def row_chunks(cursor: Any, schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """``fetchmany`` in chunks turned into Arrow (emulators without Arrow results, e.g. fakesnow)."""
    while rows := cursor.fetchmany(size):
        columns = list(zip(*rows, strict=True))
        yield pa.table(
            [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
        )


def stable_schema(schema: pa.Schema) -> pa.Schema:
    """The first chunk's schema without per-chunk metadata and with integers widened to int64, since
    Snowflake may send later chunks in a wider integer width."""
    return pa.schema(
        [pa.field(f.name, pa.int64() if pa.types.is_integer(f.type) else f.type) for f in schema]
    )


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Give every batch the same schema (the connector attaches per-chunk field metadata)."""
    if batch.schema.equals(schema, check_metadata=False):
        return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    return batch.cast(schema)


# Result type codes of snowflake.connector.constants.FIELD_TYPES -> Arrow types, matching what the
# connector's own Arrow path produces by default (scaled NUMBER becomes float64 there too).
_ARROW_OF_TYPE_CODE = {
    1: pa.float64(),  # REAL
    2: pa.string(),  # TEXT
    3: pa.date32(),  # DATE
    5: pa.string(),  # VARIANT (JSON text)
    9: pa.string(),  # OBJECT
    10: pa.string(),  # ARRAY
    11: pa.binary(),  # BINARY
    12: pa.time64("ns"),  # TIME
    13: pa.bool_(),  # BOOLEAN
}
_TIMESTAMP_CODES = {4: None, 6: "UTC", 7: "UTC", 8: None}


def schema_from_description(description: Sequence[Any]) -> pa.Schema:
    """Arrow schema of a result from ``cursor.description`` (name, type code, ..., scale at index 5)."""
    fields = []
    for column in description:
        name, code, scale = column[0], column[1], column[5]
        if code == 0:  # FIXED (NUMBER)
            kind = pa.int64() if not scale else pa.float64()
        elif code in _TIMESTAMP_CODES:
            kind = pa.timestamp("ns", tz=_TIMESTAMP_CODES[code])
        else:
            kind = _ARROW_OF_TYPE_CODE.get(code, pa.string())
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


_SNOWFLAKE_TYPES = (
    (pa.types.is_boolean, "BOOLEAN"),
    (pa.types.is_integer, "BIGINT"),
    (pa.types.is_floating, "DOUBLE"),
    (pa.types.is_string, "VARCHAR"),
    (pa.types.is_large_string, "VARCHAR"),
    (pa.types.is_binary, "BINARY"),
    (pa.types.is_date32, "DATE"),
)


def snowflake_type(field: pa.Field) -> exp.DataType:
    """The Snowflake column type ``load_arrow`` declares for an Arrow field; refuses what it cannot store."""
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    for matches, name in _SNOWFLAKE_TYPES:
        if matches(kind):
            return exp.DataType.build(name, dialect=DIALECT)
    if pa.types.is_timestamp(kind):
        return exp.DataType.build("TIMESTAMP_TZ" if kind.tz else "TIMESTAMP_NTZ", dialect=DIALECT)
    if pa.types.is_decimal(kind) and kind.precision <= 38:
        return exp.DataType.build(f"NUMBER({kind.precision}, {kind.scale})", dialect=DIALECT)
    raise WarehouseError(f"column {field.name!r} has Arrow type {kind} that kwp cannot load into Snowflake")
