"""Snowflake adapter: ``snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE``.

Credentials never appear in the URL, in pipeline parameters or in logs: they are read from the
``SNOWFLAKE_*`` environment variables (fed by a Kubernetes Secret; the list is in
``snowflake_credentials``) at the moment the connection opens, and not kept on the engine.

Every identifier is quoted, so Snowflake matches it case-sensitively: ``amount`` is not ``AMOUNT``. Names
created without quotes are stored upper-case, so users write them the way Snowflake stores them.

Extra URL parameters, none secret: ``warehouse``, ``role``, ``timeout`` (statement timeout in seconds,
default 3600), ``login_timeout`` and ``network_timeout`` (seconds), and ``host``/``port``/``protocol``
for PrivateLink, proxies or a local emulator.

Beside this module: ``snowflake_url`` (URL → keywords), ``snowflake_credentials`` (the environment
variables), ``snowflake_types`` (Arrow ↔ Snowflake types, result schemas).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

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
from components.preprocess.engines.snowflake_credentials import (
    CREDENTIAL_ENV,
    MissingCredentialsError,
    credentials_from_env,
)
from components.preprocess.engines.snowflake_types import (
    conform,
    row_chunks,
    scalar,
    schema_from_description,
    snowflake_type,
    stable_schema,
)
from components.preprocess.engines.snowflake_url import FORM, SCHEME, parse_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3600
QUERY_TAG = "kwp"
# Rows bound per INSERT when loading: keep the bind count of one statement moderate.
_BINDS_PER_INSERT = 8_192
# ProgrammingError.errno values of the Snowflake server.
_ERRNO_DOES_NOT_EXIST = 2003
_ERRNO_ALREADY_EXISTS = 2002

__all__ = [
    "CREDENTIAL_ENV", "DEFAULT_TIMEOUT_S", "FORM", "QUERY_TAG", "SCHEME", "MissingCredentialsError",
    "SnowflakeEngine", "credentials_from_env", "parse_url",
]


class SnowflakeEngine(Engine):
    """Runs the builder's Snowflake SQL in ``DATABASE.SCHEMA`` through snowflake-connector-python.

    ``connection`` may be passed in (an open connector connection); otherwise one is opened on first
    use from the URL parts and the ``SNOWFLAKE_*`` environment variables.
    """

    dialect = "snowflake"

    def __init__(
        self,
        account: str,
        database: str,
        schema: str,
        *,
        warehouse: str | None = None,
        role: str | None = None,
        timeout_s: int = DEFAULT_TIMEOUT_S,
        login_timeout_s: int | None = None,
        network_timeout_s: int | None = None,
        host: str | None = None,
        port: int | None = None,
        protocol: str | None = None,
        connection: Any | None = None,
    ) -> None:
        self.account = account
        self.database = database
        self.schema = schema
        self.warehouse = warehouse
        self.role = role
        self.timeout_s = timeout_s
        self.login_timeout_s = login_timeout_s
        self.network_timeout_s = network_timeout_s
        self.endpoint = {k: v for k, v in (("host", host), ("port", port), ("protocol", protocol)) if v}
        self._connection = connection

    @classmethod
    def from_url(cls, url: str | WarehouseUrl, **overrides: Any) -> SnowflakeEngine:
        return cls(**{**parse_url(url), **overrides})

    def __repr__(self) -> str:
        # Holds no secret by construction; say so explicitly for whoever prints it.
        extra = "".join(f", {k}={v!r}" for k, v in (("warehouse", self.warehouse), ("role", self.role)) if v)
        return (
            f"SnowflakeEngine(account={self.account!r}, database={self.database!r}, "
            f"schema={self.schema!r}{extra}, credentials=<from environment>)"
        )

    # -- connection ------------------------------------------------------------------------------

    @property
    def connection(self) -> Any:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> Any:
        import snowflake.connector

        settings: dict[str, Any] = {
            "account": self.account,
            "database": self.database,
            "schema": self.schema,
            **{k: v for k, v in (("warehouse", self.warehouse), ("role", self.role)) if v},
            **self.endpoint,
        }
        if self.login_timeout_s:
            settings["login_timeout"] = self.login_timeout_s
        if self.network_timeout_s:
            settings["network_timeout"] = self.network_timeout_s
        log.info("connecting to Snowflake %s", settings)  # settings hold no credential
        try:
            return snowflake.connector.connect(
                **settings,
                **credentials_from_env(),
                paramstyle="qmark",
                application="kwp",
                session_parameters={"QUERY_TAG": QUERY_TAG, "STATEMENT_TIMEOUT_IN_SECONDS": self.timeout_s},
            )
        except snowflake.connector.errors.Error as err:
            # The connector's messages never echo the password; ours names the account only.
            raise WarehouseError(f"cannot connect to Snowflake account {self.account!r}: {err.msg}") from err

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- names -----------------------------------------------------------------------------------

    def qualify(self, name: str) -> TableRef:
        """``t`` → DATABASE.SCHEMA.t, ``s.t`` → DATABASE.s.t, ``d.s.t`` as written (case kept)."""
        parts = name.split(".")
        if not name or len(parts) > 3 or any(not p.strip() for p in parts):
            raise ValueError(f"table name {name!r} is not TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE")
        defaults = [self.database, self.schema][: 3 - len(parts)]
        catalog, schema, table = [*defaults, *parts]
        return TableRef(table, schema, catalog)

    def _full(self, table: TableRef) -> TableRef:
        return TableRef(table.name, table.schema or self.schema, table.catalog or self.database)

    def sql_table(self, table: TableRef) -> exp.Table:
        full = self._full(table)
        return exp.table_(full.name, db=full.schema, catalog=full.catalog, quoted=True)

    # -- metadata --------------------------------------------------------------------------------

    def _information_schema(self, view: str, table: TableRef, *columns: str) -> exp.Select:
        full = self._full(table)
        source = exp.table_(view, db="INFORMATION_SCHEMA", catalog=full.catalog, quoted=True)
        where = exp.and_(
            exp.column("TABLE_SCHEMA", quoted=True).eq(exp.Placeholder()),
            exp.column("TABLE_NAME", quoted=True).eq(exp.Placeholder()),
        )
        return exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(source).where(where)

    def table_exists(self, table: TableRef) -> bool:
        full = self._full(table)
        query = self._information_schema("TABLES", full, "TABLE_NAME")
        try:
            return bool(self._query(query.sql(self.dialect), [full.schema, full.name], f"looking up {full}"))
        except TableNotFoundError:  # the database itself is missing
            return False

    def column_types(self, table: TableRef) -> dict[str, str]:
        full = self._full(table)
        query = self._information_schema("COLUMNS", full, "COLUMN_NAME", "DATA_TYPE")
        query = query.order_by(exp.column("ORDINAL_POSITION", quoted=True))
        rows = self._query(query.sql(self.dialect), [full.schema, full.name], f"looking up {full}")
        if not rows:
            raise TableNotFoundError(
                f"Snowflake table {full} does not exist (quoted names are case-sensitive: "
                f"write them as stored, usually upper-case)"
            )
        return {name: kind for name, kind in rows}

    # -- statements ------------------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        with self._cursor("running a statement") as cursor:
            cursor.execute(sql)

    def fetch_rows(self, sql: str) -> list[dict[str, Any]]:
        with self._cursor("running a query") as cursor:
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return [{n: scalar(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    def drop_table(self, table: TableRef) -> None:
        self.execute(exp.Drop(tables=[self.sql_table(table)], kind="TABLE", exists=True).sql(self.dialect))

    def _query(self, sql: str, params: Sequence[Any], doing: str) -> list[tuple]:
        with self._cursor(doing) as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    @contextlib.contextmanager
    def _cursor(self, doing: str) -> Iterator[Any]:
        """A cursor whose errors become the engine's error classes, naming what was being done."""
        from snowflake.connector import errors

        cursor = self.connection.cursor()
        try:
            yield cursor
        except errors.ProgrammingError as err:
            raise _translate(err, doing) from err
        except errors.Error as err:
            raise WarehouseError(f"Snowflake failed while {doing}: {err.msg}") from err
        finally:
            cursor.close()

    # -- data ------------------------------------------------------------------------------------

    def iter_batches(self, table: TableRef, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream ``table``: the connector's Arrow result chunks where it has them, else ``fetchmany``.

        Either way at most one result chunk is held; an empty table yields one empty batch so that
        writers still learn the schema.
        """
        select = exp.select(exp.Star()).from_(self.sql_table(table)).sql(self.dialect)
        with self._cursor(f"reading {self._full(table)}") as cursor:
            cursor.execute(select)
            described = schema_from_description(cursor.description)
            if hasattr(cursor, "fetch_arrow_batches"):
                chunks = cursor.fetch_arrow_batches()
            else:
                chunks = row_chunks(cursor, described, batch_rows)
            schema = None
            for chunk in chunks:
                for batch in chunk.to_batches(max_chunksize=batch_rows):
                    schema = schema or stable_schema(batch.schema)
                    yield conform(batch, schema)
            if schema is None:
                yield pa.RecordBatch.from_pylist([], schema=described)

    def load_arrow(self, table: TableRef, data: pa.Table, overwrite: bool = False) -> None:
        """``CREATE TABLE`` with typed, quoted columns, then bound multi-row INSERTs.

        Without ``overwrite`` a plain CREATE TABLE fails on an existing table (no check-then-act race).
        Meant for seeding and tests; bulk loads belong to ``COPY INTO`` from a stage.
        """
        full = self._full(table)
        if not overwrite and self.table_exists(full):
            raise TableExistsError(f"Snowflake table {full} exists; pass overwrite=True to replace it")
        columns = [
            exp.ColumnDef(this=exp.to_identifier(f.name, quoted=True), kind=snowflake_type(f))
            for f in data.schema
        ]
        create = exp.Create(
            this=exp.Schema(this=self.sql_table(full), expressions=columns), kind="TABLE", replace=overwrite
        )
        self.execute(create.sql(self.dialect))
        per_insert = max(1, _BINDS_PER_INSERT // max(1, data.num_columns))
        with self._cursor(f"loading {full}") as cursor:
            for batch in data.to_batches(max_chunksize=per_insert):
                rows = [tuple(row.values()) for row in batch.to_pylist()]
                cursor.execute(self._insert_sql(full, data.column_names, len(rows)), _flat(rows))

    def _insert_sql(self, table: TableRef, names: list[str], rows: int) -> str:
        values = exp.values([tuple(exp.Placeholder() for _ in names)] * rows)
        columns = [exp.to_identifier(n, quoted=True) for n in names]
        return exp.insert(values, self.sql_table(table), columns=columns).sql(self.dialect)


def _translate(err: Any, doing: str) -> WarehouseError:
    message = " ".join(str(err.msg).split())
    if err.errno == _ERRNO_ALREADY_EXISTS or "already exists" in message.lower():
        return TableExistsError(f"Snowflake: already exists while {doing}: {message}")
    if err.errno == _ERRNO_DOES_NOT_EXIST or "does not exist" in message.lower():
        return TableNotFoundError(
            f"Snowflake: not found while {doing}: {message} (quoted names are case-sensitive)"
        )
    query_id = f" (query id {err.sfqid})" if getattr(err, "sfqid", None) else ""
    return WarehouseError(f"Snowflake failed while {doing}: {message}{query_id}")


def _flat(rows: list[tuple]) -> list[Any]:
    return [value for row in rows for value in row]

