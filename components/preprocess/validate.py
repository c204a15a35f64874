"""Checks made before anything is written: columns, their types, destinations, the profile counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError

from components.preprocess import outputs
from components.preprocess.engines.base import Engine, TableExistsError, TableRef
from components.preprocess.errors import (
    AllNullColumnError,
    ColumnTypeError,
    EmptyTableError,
    MissingColumnError,
    NullKeyError,
)
from components.preprocess.outputs import OutputExistsError
from components.preprocess.spec import ColumnSpec, PreprocessSpec


def type_class(type_name: str, dialect: str) -> str:
    """``"integer"``, ``"real"``, ``"text"``, ``"boolean"`` or ``"other"`` for a warehouse type name."""
    try:
        dt = exp.DataType.build(type_name, dialect=dialect, udt=True)
    except (ParseError, ValueError):
        return "other"
    if dt.is_type(*exp.DataType.INTEGER_TYPES):
        return "integer"
    if dt.is_type(exp.DataType.Type.DECIMAL) and len(dt.expressions) == 2 \
            and dt.expressions[1].this.name == "0":
        return "integer"  # Snowflake NUMBER(38,0) and other fixed-point with scale 0
    if dt.is_type(*exp.DataType.REAL_TYPES):
        return "real"
    if dt.is_type(*exp.DataType.TEXT_TYPES):
        return "text"
    if dt.is_type(exp.DataType.Type.BOOLEAN):
        return "boolean"
    return "other"


def check_columns(spec: PreprocessSpec, types: Mapping[str, str], table: TableRef) -> None:
    """Every named column exists in ``table`` (exact name)."""
    wanted = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    missing = [n for n in wanted if n not in types]
    if missing:
        folded = {n.casefold(): n for n in types}
        hints = [f"{n!r} (did you mean {folded[n.casefold()]!r}?)" if n.casefold() in folded else repr(n)
                 for n in missing]
        raise MissingColumnError(f"column(s) {', '.join(hints)} not found in table {table}; "
                                 f"its columns are {list(types)}")


def check_types(spec: PreprocessSpec, types: Mapping[str, str], dialect: str) -> None:
    key_class = type_class(types[spec.key_column], dialect)
    if key_class not in ("integer", "text"):
        raise ColumnTypeError(f"key column {spec.key_column!r} has type {types[spec.key_column]}; it must be "
                              "an integer or string column so every engine hashes the same text")
    for c in spec.feature_specs:
        _check_feature_type(c, types[c.name], type_class(types[c.name], dialect))


def _check_feature_type(c: ColumnSpec, type_name: str, klass: str) -> None:
    kinds = ", ".join(t.kind for t in c.transforms) or "passthrough"
    if c.is_categorical:
        if klass not in ("integer", "text", "boolean"):
            raise ColumnTypeError(f"column {c.name!r} has type {type_name}, but {kinds} needs a string, "
                                  "integer or boolean column (cast it in a view first)")
    elif klass not in ("integer", "real"):
        raise ColumnTypeError(f"column {c.name!r} has type {type_name} (not numeric), but {kinds} needs a "
                              "numeric column; declare categorical columns with one_hot or vocab_index")


def check_destinations(engine: Engine, source: TableRef, tables: Mapping[str, TableRef],
                       paths: Iterable[str], overwrite: bool) -> None:
    """Refuse to replace the source, or (without ``overwrite``) any existing table or file."""
    for ref in tables.values():
        if ref == source:
            raise TableExistsError(f"destination table {ref} is the source table; choose another "
                                   "destination_prefix")
    if overwrite:
        return
    existing = [str(ref) for ref in tables.values() if engine.table_exists(ref)]
    if existing:
        raise TableExistsError(f"destination table(s) {existing} already exist; nothing was changed. "
                               "Pass overwrite=True to replace them or choose another destination_prefix")
    files = [p for p in paths if outputs.exists(p)]
    if files:
        raise OutputExistsError(f"output file(s) {files} already exist; nothing was written. "
                                "Pass overwrite=True to replace them")


def check_profile(spec: PreprocessSpec, row: Mapping[str, Any], table: TableRef) -> dict[str, int]:
    """Null counts per column from ``sql.profile_query``'s row; refuses empty tables and NULL keys."""
    row = {str(k).lower(): v for k, v in row.items()}
    total = int(row["kwp_rows"])
    if total == 0:
        raise EmptyTableError(f"source table {table} has no rows")
    names = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    nulls = {n: total - int(row[f"kwp_nn{i}"]) for i, n in enumerate(names)}
    if nulls[spec.key_column]:
        raise NullKeyError(f"key column {spec.key_column!r} of {table} has {nulls[spec.key_column]} NULL "
                           "value(s); every row needs a key to be assigned a split")
    for c in spec.feature_specs:
        constant = c.impute is not None and c.impute.strategy == "constant"
        if nulls[c.name] == total and not constant:
            raise AllNullColumnError(f"column {c.name!r} of {table} has only NULL values: nothing to fit; "
                                     "drop it from the spec or impute it with a constant")
    return nulls
