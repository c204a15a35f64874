"""The embedded DuckDB warehouse: the laptop default and the engine most tests run against.

Uses every core by default and a bounded memory limit (``DEFAULT_MEMORY_LIMIT``; DuckDB spills to disk
beyond it). Override both with the URL parameters ``threads`` and ``memory_limit``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from components.preprocess.engines import WarehouseUrl
from components.preprocess.engines.base import (
    Engine,
    TableExistsError,
    TableNotFoundError,
    TableRef,
    WarehouseError,
)

#: DuckDB's buffer pool; it spills to disk beyond it, so the step's peak RSS stays near 1.3 GB whatever
#: the table size (on a 24 GB machine DuckDB's own default would be ~19 GB). Raise it with
#: ``?memory_limit=8GB`` where memory is plentiful.
DEFAULT_MEMORY_LIMIT = "1GB"


class DuckDBEngine(Engine):
    """A DuckDB database file (or ``:memory:``)."""

    dialect = "duckdb"

    def __init__(self, path: str = ":memory:", threads: int | None = None,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        self.path = path
        config = {"threads": int(threads or os.cpu_count() or 1), "memory_limit": memory_limit}
        try:
            self._con = duckdb.connect(path, config=config)
        except duckdb.Error as err:
            raise WarehouseError(f"cannot open DuckDB database {path!r}: {err}") from err

    @classmethod
    def from_url(cls, url: WarehouseUrl, **options: Any) -> DuckDBEngine:
        params = dict(url.params)
        if "threads" in params:
            if not params["threads"].isdigit() or int(params["threads"]) < 1:
                raise ValueError(f"threads={params['threads']!r} in {url} must be a positive integer")
            options.setdefault("threads", int(params["threads"]))
        if "memory_limit" in params:
            options.setdefault("memory_limit", params["memory_limit"])
        return cls(url.path, **options)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying connection, for seeding and tests."""
        return self._con

    def qualify(self, name: str) -> TableRef:
        """``t``, ``schema.t`` or ``catalog.schema.t`` (a dot always separates parts)."""
        parts = name.split(".")
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise ValueError(f"table name {name!r} must be name, schema.name or catalog.schema.name")
        return TableRef(*reversed(parts))

    def _where(self, table: TableRef) -> tuple[str, list[str]]:
        sql = ("table_name = ? AND table_schema = coalesce(nullif(?, ''), current_schema()) "
               "AND table_catalog = coalesce(nullif(?, ''), current_database())")
        return sql, [table.name, table.schema, table.catalog]

    def table_exists(self, table: TableRef) -> bool:
        where, params = self._where(table)
        found = self._con.execute(f"SELECT count(*) FROM information_schema.tables WHERE {where}", params)
        return bool(found.fetchall()[0][0])

    def column_types(self, table: TableRef) -> dict[str, str]:
        where, params = self._where(table)
        rows = self._con.execute(
            f"SELECT column_name, data_type FROM information_schema.columns WHERE {where} "
            "ORDER BY ordinal_position", params,
        ).fetchall()
        if not rows:
            raise TableNotFoundError(f"table {table} does not exist in DuckDB database {self.path!r}")
        return dict(rows)

    def execute(self, sql: str) -> None:
        try:
            self._con.execute(sql)
        except duckdb.Error as err:
            raise WarehouseError(f"DuckDB statement failed: {err}") from err

    def fetch_rows(self, sql: str) -> list[dict[str, Any]]:
        try:
            cursor = self._con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as err:
            raise WarehouseError(f"DuckDB query failed: {err}") from err

    def _select_all(self, table: TableRef) -> str:
        from components.preprocess.sql import render
        from components.preprocess.sql import table as table_sql

        return render(exp.select(exp.Star()).from_(table_sql(table)), self.dialect, pretty=False)

    def iter_batches(self, table: TableRef, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        if not self.table_exists(table):
            raise TableNotFoundError(f"table {table} does not exist in DuckDB database {self.path!r}")
        # A cursor of its own: an abandoned stream must not block the main connection.
        cursor = self._con.cursor()
        try:
            yield from cursor.sql(self._select_all(table)).to_arrow_reader(batch_rows)
        finally:
            cursor.close()

    def arrow_schema(self, table: TableRef) -> pa.Schema:
        """The Arrow schema of ``table`` (for an empty split's Parquet file)."""
        return self._con.sql(self._select_all(table)).limit(0).to_arrow_table().schema

    def drop_table(self, table: TableRef) -> None:
        from components.preprocess.sql import drop_query, render

        self.execute(render(drop_query(table), self.dialect))

    def load_arrow(self, table: TableRef, data: pa.Table, overwrite: bool = False) -> None:
        from components.preprocess.sql import render
        from components.preprocess.sql import table as table_sql

        if self.table_exists(table) and not overwrite:
            raise TableExistsError(f"table {table} exists in {self.path!r}; "
                                   "pass overwrite=True to replace it")
        create = exp.Create(this=table_sql(table), kind="TABLE", replace=overwrite,
                            expression=exp.select(exp.Star()).from_(exp.to_identifier("kwp_arrow_input")))
        self._con.register("kwp_arrow_input", data)
        try:
            self.execute(render(create, self.dialect))
        finally:
            self._con.unregister("kwp_arrow_input")

    def close(self) -> None:
        self._con.close()
