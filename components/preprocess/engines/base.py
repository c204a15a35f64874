"""The one interface every warehouse adapter implements.

An engine runs SQL that the builder produced *inside* the warehouse and streams tables out as Arrow
record batches; it never parses or assembles SQL from user text itself. Table names travel as
:class:`TableRef` and are quoted by sqlglot when turned into SQL.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table or URL involved."""


class TableNotFoundError(WarehouseError):
    """The named table does not exist."""


class TableExistsError(WarehouseError):
    """A destination table exists and ``overwrite`` was not set: nothing was changed."""


@dataclass(frozen=True)
class TableRef:
    """A table addressed by its parts: ``(catalog, schema, name)``.

    For BigQuery catalog/schema are project/dataset, for Snowflake database/schema, for DuckDB
    catalog/schema of the attached file. Empty parts mean the engine's default.
    """

    name: str
    schema: str = ""
    catalog: str = ""

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in (self.catalog, self.schema, self.name) if p)

    def __str__(self) -> str:
        return ".".join(self.parts)


class Engine(abc.ABC):
    """A warehouse connection addressed by URL (see ``engines.connect``)."""

    #: sqlglot dialect name of the SQL this engine runs.
    dialect: str = ""

    @abc.abstractmethod
    def qualify(self, name: str) -> TableRef:
        """A table name as the user wrote it (``t``, ``schema.t``) completed with the URL's defaults."""

    @abc.abstractmethod
    def table_exists(self, table: TableRef) -> bool: ...

    @abc.abstractmethod
    def column_types(self, table: TableRef) -> dict[str, str]:
        """Column name → the warehouse's type name, in table order; TableNotFoundError if absent."""

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing of interest (CREATE TABLE ... AS SELECT, DROP)."""

    @abc.abstractmethod
    def fetch_rows(self, sql: str) -> list[dict[str, Any]]:
        """Run a query with a small result (statistics) and return its rows."""

    @abc.abstractmethod
    def iter_batches(self, table: TableRef, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream a whole table as Arrow record batches, never holding it all in memory."""

    @abc.abstractmethod
    def drop_table(self, table: TableRef) -> None: ...

    def load_arrow(self, table: TableRef, data: pa.Table, overwrite: bool = False) -> None:
        """Create ``table`` from Arrow data (seeding and tests); refuses to replace unless told to."""
        raise NotImplementedError(f"{type(self).__name__} cannot load Arrow data")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def redact(url_params: Mapping[str, str]) -> dict[str, str]:
    """URL parameters safe to log: anything that looks like a secret is masked."""
    secret_words = ("password", "token", "secret", "key", "credential", "passcode")
    return {
        k: ("***" if any(w in k.lower() for w in secret_words) else v) for k, v in url_params.items()
    }
