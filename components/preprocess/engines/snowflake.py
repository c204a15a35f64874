"""Snowflake adapter: ``snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE``.

Credentials never appear in the URL, in pipeline parameters or in logs: they are read from environment
variables (fed by a Kubernetes Secret) at the moment the connection opens, and not kept on the engine:

================================  ==========================================================
``SNOWFLAKE_USER``                login name (required)
``SNOWFLAKE_PASSWORD``            password
``SNOWFLAKE_PRIVATE_KEY_PATH``    key-pair authentication: path of a PKCS#8 PEM private key
``SNOWFLAKE_PRIVATE_KEY_PASSPHRASE``  passphrase of that key, if it is encrypted
``SNOWFLAKE_AUTHENTICATOR``       e.g. ``SNOWFLAKE_JWT``, ``OAUTH``, ``PROGRAMMATIC_ACCESS_TOKEN``
``SNOWFLAKE_TOKEN``               OAuth or programmatic access token
================================  ==========================================================

Every identifier is quoted, so Snowflake matches it case-sensitively: ``amount`` is not ``AMOUNT``. Names
created without quotes are stored upper-case, so users write them the way Snowflake stores them.

Extra URL parameters, none secret: ``warehouse``, ``role``, ``timeout`` (statement timeout in seconds,
default 3600), ``login_timeout`` and ``network_timeout`` (seconds), and ``host``/``port``/``protocol``
for PrivateLink, proxies or a local emulator.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa
from sqlglot import exp

from components.preprocess.engines import WarehouseUrl, WarehouseUrlError
from components.preprocess.engines.base import (
    Engine,
    TableExistsError,
    TableNotFoundError,
    TableRef,
    WarehouseError,
)

log = logging.getLogger(__name__)

SCHEME = "snowflake"
FORM = "snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=...&role=..."
DEFAULT_TIMEOUT_S = 3600
QUERY_TAG = "kwp"
#: environment variable -> snowflake.connector.connect keyword.
CREDENTIAL_ENV = {
    "SNOWFLAKE_USER": "user",
    "SNOWFLAKE_PASSWORD": "password",
    "SNOWFLAKE_PRIVATE_KEY_PATH": "private_key_file",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "private_key_file_pwd",
    "SNOWFLAKE_AUTHENTICATOR": "authenticator",
    "SNOWFLAKE_TOKEN": "token",
}
_URL_PARAMS = ("warehouse", "role", "timeout", "login_timeout", "network_timeout", "host", "port", "protocol")
_SECRET_PARAM = re.compile(r"password|passphrase|token|secret|private|key|credential|user", re.IGNORECASE)
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Rows bound per INSERT when loading: keep the bind count of one statement moderate.
_BINDS_PER_INSERT = 8_192
# ProgrammingError.errno values of the Snowflake server.
_ERRNO_DOES_NOT_EXIST = 2003
_ERRNO_ALREADY_EXISTS = 2002


class MissingCredentialsError(WarehouseError):
    """The environment holds no usable Snowflake credentials; the message lists the variables."""


def parse_url(url: str | WarehouseUrl) -> dict[str, Any]:
    """``snowflake://ACCOUNT/DATABASE/SCHEMA?k=v`` (text, or split by ``engines.parse_url``) as keywords."""
    if isinstance(url, WarehouseUrl):
        return _keywords(url.account, [url.database, url.schema], dict(url.params), str(url))
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise WarehouseUrlError(f"{url!r} is not a Snowflake URL; expected {FORM}")
    if "@" in parts.netloc:
        raise WarehouseUrlError(
            "a Snowflake URL carries no user or password: set SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or a "
            "key pair) as environment variables from a Kubernetes Secret"
        )
    path = [unquote(p) for p in parts.path.strip("/").split("/")]
    return _keywords(parts.netloc, path, dict(parse_qsl(parts.query, True)), url)


def _keywords(account: str, path: list[str], params: dict[str, str], shown: str) -> dict[str, Any]:
    if not _ACCOUNT_RE.match(account):
        raise WarehouseUrlError(f"account {account!r} is not an account identifier; expected {FORM}")
    if len(path) != 2 or not all(p.strip() for p in path):
        raise WarehouseUrlError(f"{shown!r} must name exactly a database and a schema; expected {FORM}")
    secret = sorted(k for k in params if _SECRET_PARAM.search(k))
    if secret:
        raise WarehouseUrlError(
            f"credential parameter(s) {secret} do not belong in a URL (it is a pipeline parameter and gets "
            f"logged); use the environment variables {', '.join(CREDENTIAL_ENV)}"
        )
    unknown = sorted(set(params) - set(_URL_PARAMS))
    if unknown:
        raise WarehouseUrlError(
            f"unknown parameter(s) {unknown} in Snowflake URL; known: {list(_URL_PARAMS)}"
        )
    kwargs: dict[str, Any] = {"account": account, "database": path[0], "schema": path[1]}
    kwargs.update({k: params[k] for k in ("warehouse", "role", "host", "protocol") if params.get(k)})
    numbers = {
        "timeout": "timeout_s",
        "login_timeout": "login_timeout_s",
        "network_timeout": "network_timeout_s",
    }
    for name, key in (*numbers.items(), ("port", "port")):
        if name in params:
            kwargs[key] = _positive_int(params[name], name)
    return kwargs


def _positive_int(text: str, name: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise WarehouseUrlError(f"{name}={text!r} must be a positive whole number")
    return int(text)


def credentials_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Connector keywords from the ``SNOWFLAKE_*`` variables; raises if no way to log in is set."""
    environ = os.environ if environ is None else environ
    found = {kw: environ[var] for var, kw in CREDENTIAL_ENV.items() if environ.get(var)}
    if "user" not in found or not ({"password", "private_key_file", "token", "authenticator"} & set(found)):
        raise MissingCredentialsError(
            "Snowflake credentials are not set: SNOWFLAKE_USER plus one of SNOWFLAKE_PASSWORD, "
            "SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_TOKEN or SNOWFLAKE_AUTHENTICATOR must be in the "
            "environment (mount them from a Kubernetes Secret; see docs/warehouses.md)"
        )
    return found


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
            return [{n: _scalar(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

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
            described = _schema_from_description(cursor.description)
            if hasattr(cursor, "fetch_arrow_batches"):
                chunks = cursor.fetch_arrow_batches()
            else:
                chunks = _row_chunks(cursor, described, batch_rows)
            schema = None
            for chunk in chunks:
                for batch in chunk.to_batches(max_chunksize=batch_rows):
                    schema = schema or _stable_schema(batch.schema)
                    yield _conform(batch, schema)
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
            exp.ColumnDef(this=exp.to_identifier(f.name, quoted=True), kind=_snowflake_type(f))
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


def _scalar(value: Any) -> Any:
    """NUMBER results arrive as Decimal; statistics are plain ints and floats on every engine."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _row_chunks(cursor: Any, schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """``fetchmany`` in chunks turned into Arrow (emulators without Arrow results, e.g. fakesnow)."""
    while rows := cursor.fetchmany(size):
        columns = list(zip(*rows, strict=True))
        yield pa.table(
            [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
        )


def _stable_schema(schema: pa.Schema) -> pa.Schema:
    """The first chunk's schema without per-chunk metadata and with integers widened to int64, since
    Snowflake may send later chunks in a wider integer width."""
    return pa.schema(
        [pa.field(f.name, pa.int64() if pa.types.is_integer(f.type) else f.type) for f in schema]
    )


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
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


def _schema_from_description(description: Sequence[Any]) -> pa.Schema:
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


def _snowflake_type(field: pa.Field) -> exp.DataType:
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    for matches, name in _SNOWFLAKE_TYPES:
        if matches(kind):
            return exp.DataType.build(name, dialect=SCHEME)
    if pa.types.is_timestamp(kind):
        return exp.DataType.build("TIMESTAMP_TZ" if kind.tz else "TIMESTAMP_NTZ", dialect=SCHEME)
    if pa.types.is_decimal(kind) and kind.precision <= 38:
        return exp.DataType.build(f"NUMBER({kind.precision}, {kind.scale})", dialect=SCHEME)
    raise WarehouseError(f"column {field.name!r} has Arrow type {kind} that kwp cannot load into Snowflake")
