from __future__ import annotations

import pyarrow as pa
import pytest

from components.preprocess.engines.base import TableExistsError, TableNotFoundError, TableRef, WarehouseError


def test_qualify(duck):
    assert duck.qualify("t") == TableRef("t")
    assert duck.qualify("s.t") == TableRef("t", "s")
    assert duck.qualify("c.s.t") == TableRef("t", "s", "c")
    with pytest.raises(ValueError, match=r"must be name, schema\.name or catalog\.schema\.name"):
        duck.qualify("a..b")


def test_load_exists_types_and_drop(duck):
    ref = TableRef('we"ird; name')
    duck.load_arrow(ref, pa.table({"i": [1, 2], "s": ["a", None], "f": [0.5, 1.5]}))
    assert duck.table_exists(ref)
    assert duck.column_types(ref) == {"i": "BIGINT", "s": "VARCHAR", "f": "DOUBLE"}
    with pytest.raises(TableExistsError, match="pass overwrite=True"):
        duck.load_arrow(ref, pa.table({"i": [3]}))
    duck.load_arrow(ref, pa.table({"i": [3]}), overwrite=True)
    assert duck.column_types(ref) == {"i": "BIGINT"}
    duck.drop_table(ref)
    assert not duck.table_exists(ref)
    with pytest.raises(TableNotFoundError, match="does not exist"):
        duck.column_types(ref)


def test_schema_qualified_tables(duck):
    duck.execute('CREATE SCHEMA "s"')
    duck.load_arrow(TableRef("t", "s"), pa.table({"i": [1]}))
    assert duck.table_exists(duck.qualify("s.t")) and not duck.table_exists(duck.qualify("t"))


def test_iter_batches_streams_in_batches(duck):
    duck.execute("CREATE TABLE big AS SELECT range AS i FROM range(10000)")
    batches = list(duck.iter_batches(TableRef("big"), batch_rows=2048))
    assert len(batches) >= 4 and sum(b.num_rows for b in batches) == 10000
    assert max(b.num_rows for b in batches) <= 2048
    stream = duck.iter_batches(TableRef("big"), batch_rows=100)
    next(stream)  # an abandoned stream does not block the connection
    assert duck.fetch_rows("SELECT count(*) AS n FROM big") == [{"n": 10000}]
    with pytest.raises(TableNotFoundError):
        next(duck.iter_batches(TableRef("nope")))


def test_errors_are_warehouse_errors(duck):
    with pytest.raises(WarehouseError, match="DuckDB statement failed"):
        duck.execute("CREATE TABLE")
    with pytest.raises(WarehouseError, match="DuckDB query failed"):
        duck.fetch_rows("SELECT * FROM missing_table")


def test_empty_table_schema(duck):
    duck.execute("CREATE TABLE e (i BIGINT, s VARCHAR)")
    assert duck.arrow_schema(TableRef("e")).names == ["i", "s"]
    assert list(duck.iter_batches(TableRef("e"))) == [] or all(b.num_rows == 0 for b in
                                                                duck.iter_batches(TableRef("e")))
