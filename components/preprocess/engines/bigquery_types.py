"""Type mapping between Arrow and BigQuery, and the plain Python values statistics are read as.

One table per direction: what ``column_types`` reports (GoogleSQL names, not the REST API's legacy
ones), what ``load_arrow`` declares for each Arrow column, and how NUMERIC results come back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
from google.cloud import bigquery

from components.preprocess.engines.base import WarehouseError

# The REST API still answers with legacy SQL type names; report the GoogleSQL ones.
_STANDARD_TYPE = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}

_ARROW_TO_BIGQUERY = (
    (pa.types.is_boolean, "BOOL"),
    (pa.types.is_integer, "INT64"),
    (pa.types.is_floating, "FLOAT64"),
    (pa.types.is_string, "STRING"),
    (pa.types.is_binary, "BYTES"),
    (pa.types.is_date32, "DATE"),
)


def type_name(field: bigquery.SchemaField) -> str:
    """The GoogleSQL type of a schema field (``ARRAY<...>`` for repeated fields)."""
    name = _STANDARD_TYPE.get(field.field_type, field.field_type)
    return f"ARRAY<{name}>" if field.mode == "REPEATED" else name


def scalar(value: Any) -> Any:
    """NUMERIC results arrive as Decimal; statistics are plain ints and floats everywhere."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def load_arrow_type(field: pa.Field) -> pa.DataType:
    """Widen types BigQuery stores in 64 bits so the Parquet file matches the declared schema."""
    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_integer(kind):
        return pa.int64()
    if pa.types.is_floating(kind):
        return pa.float64()
    if pa.types.is_large_string(kind):
        return pa.string()
    return kind


def bigquery_type(field: pa.Field) -> str:
    """The BigQuery column type a load job declares for an Arrow field; refuses what it cannot store."""
    kind = field.type
    for matches, name in _ARROW_TO_BIGQUERY:
        if matches(kind):
            return name
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP" if kind.tz else "DATETIME"
    if pa.types.is_decimal(kind):
        return "NUMERIC" if kind.precision <= 38 and kind.scale <= 9 else "BIGNUMERIC"
    raise WarehouseError(f"column {field.name!r} has Arrow type {kind} that kwp cannot load into BigQuery")
