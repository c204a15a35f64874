"""SnowflakeEngine: names and credentials offline, every Engine method against fakesnow.

``snowflake_engine`` runs each engine test twice: against fakesnow's server through the real connector
(HTTP, Arrow result chunks) and against fakesnow's in-process patch (no Arrow: the fetchmany fallback).
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

from components.preprocess.engines import connect, snowflake, snowflake_credentials, snowflake_url
from components.preprocess.engines.base import TableExistsError, TableNotFoundError, TableRef, WarehouseError
from components.preprocess.engines.snowflake import MissingCredentialsError, SnowflakeEngine


def sample(rows: int = 250) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(-3, rows - 3), pa.int32()),
            "x": [i * 0.25 if i % 7 else None for i in range(rows)],
            "select": [f"v{i % 5}é" for i in range(rows)],
            'a;b "c"': [i % 2 == 0 for i in range(rows)],
        }
    )


def sql_name(engine: SnowflakeEngine, name: str) -> str:
    return engine.sql_table(engine.qualify(name)).sql("snowflake")


# --- offline: names, credentials ---------------------------------------------------------------


def test_the_adapter_module_still_exports_the_url_and_credential_names() -> None:
    assert (snowflake.parse_url, snowflake.SCHEME, snowflake.FORM) == (
        snowflake_url.parse_url, snowflake_url.SCHEME, snowflake_url.FORM,
    )  # fmt: skip
    assert snowflake.credentials_from_env is snowflake_credentials.credentials_from_env
    assert snowflake.MissingCredentialsError is snowflake_credentials.MissingCredentialsError
    assert snowflake.CREDENTIAL_ENV is snowflake_credentials.CREDENTIAL_ENV


def test_connect_builds_the_engine_without_connecting() -> None:
    engine = connect("snowflake://acct/DB/SCH?warehouse=WH&role=R")
    assert isinstance(engine, SnowflakeEngine)
    assert (engine.account, engine.database, engine.schema, engine.warehouse, engine.role) == (
        "acct", "DB", "SCH", "WH", "R",
    )  # fmt: skip
    assert engine._connection is None


def test_missing_credentials_fail_before_any_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SNOWFLAKE_AUTHENTICATOR", raising=False)
    with pytest.raises(MissingCredentialsError, match="Kubernetes Secret"):
        SnowflakeEngine("acct", "DB", "S").execute("SELECT 1")


def test_qualify_keeps_case_and_completes_with_the_url_defaults() -> None:
    engine = SnowflakeEngine("acct", "DB", "SCH")
    assert engine.qualify("t") == TableRef("t", "SCH", "DB")
    assert engine.qualify("Other.T") == TableRef("T", "Other", "DB")
    assert engine.qualify("d.s.t") == TableRef("t", "s", "d")
    for bad in ("", "a..t", "a.b.c.d", "t."):
        with pytest.raises(ValueError, match=repr(bad)):
            engine.qualify(bad)
    assert sql_name(engine, 'my"table') == '"DB"."SCH"."my""table"'


# --- against fakesnow (server through the real connector, and patch) --------------------------------------


def test_server_mode_uses_the_real_connector_and_its_arrow_results(snowflake_engine: SnowflakeEngine) -> None:
    cursor = snowflake_engine.connection.cursor()
    real = type(cursor).__module__.startswith("snowflake.connector")
    assert real == (snowflake_engine.endpoint.get("protocol") == "http")
    assert hasattr(cursor, "fetch_arrow_batches") == real


def test_metadata_of_a_loaded_table(snowflake_engine: SnowflakeEngine) -> None:
    table = snowflake_engine.qualify("source")
    assert not snowflake_engine.table_exists(table)
    snowflake_engine.load_arrow(table, sample())
    assert snowflake_engine.table_exists(table)
    assert snowflake_engine.column_types(table) == {
        "id": "NUMBER",
        "x": "FLOAT",
        "select": "TEXT",
        'a;b "c"': "BOOLEAN",
    }


def test_names_are_case_sensitive(snowflake_engine: SnowflakeEngine) -> None:
    snowflake_engine.load_arrow(snowflake_engine.qualify("source"), sample(3))
    assert not snowflake_engine.table_exists(snowflake_engine.qualify("SOURCE"))
    with pytest.raises(TableNotFoundError, match="case-sensitive"):
        snowflake_engine.column_types(snowflake_engine.qualify("SOURCE"))


def test_missing_tables_and_databases_are_reported_as_such(snowflake_engine: SnowflakeEngine) -> None:
    missing = snowflake_engine.qualify("nowhere")
    assert not snowflake_engine.table_exists(snowflake_engine.qualify("NO_DB.NO_SCHEMA.t"))
    with pytest.raises(TableNotFoundError, match="nowhere"):
        snowflake_engine.column_types(missing)
    with pytest.raises(TableNotFoundError, match="nowhere"):
        list(snowflake_engine.iter_batches(missing))
    with pytest.raises(TableNotFoundError, match="nowhere"):
        source = sql_name(snowflake_engine, "nowhere")
        snowflake_engine.execute(f"CREATE TABLE {sql_name(snowflake_engine, 'x')} AS SELECT * FROM {source}")


def test_ctas_runs_in_the_warehouse_and_refuses_to_replace(snowflake_engine: SnowflakeEngine) -> None:
    snowflake_engine.load_arrow(snowflake_engine.qualify("source"), sample())
    source, derived = sql_name(snowflake_engine, "source"), sql_name(snowflake_engine, "derived")
    ctas = f'CREATE TABLE {derived} AS SELECT "id", "x" * 2 AS "y" FROM {source} WHERE "id" >= 0'
    snowflake_engine.execute(ctas)
    rows = snowflake_engine.fetch_rows(f'SELECT COUNT(*) AS "n", SUM("y") AS "s" FROM {derived}')
    data = sample()
    pairs = zip(data["id"].to_pylist(), data["x"].to_pylist(), strict=True)
    assert rows == [{"n": 247, "s": pytest.approx(sum(2 * v for i, v in pairs if i >= 0 and v is not None))}]
    with pytest.raises(TableExistsError, match="derived"):
        snowflake_engine.execute(ctas)


def test_fetch_rows_returns_plain_python_scalars(snowflake_engine: SnowflakeEngine) -> None:
    rows = snowflake_engine.fetch_rows(
        'SELECT CAST(2 AS NUMBER(10, 0)) AS "whole", CAST(2.5 AS NUMBER(10, 2)) AS "half", \'é\' AS "s", '
        'NULL AS "n", 1 AS unquoted'
    )
    assert rows == [{"whole": 2, "half": 2.5, "s": "é", "n": None, "UNQUOTED": 1}]
    assert type(rows[0]["whole"]) is int


def test_syntax_errors_become_warehouse_errors(snowflake_engine: SnowflakeEngine) -> None:
    with pytest.raises(WarehouseError, match="SELEC"):
        snowflake_engine.execute("SELEC 1")


def test_tables_stream_out_in_bounded_batches(snowflake_engine: SnowflakeEngine) -> None:
    data = sample(500)
    snowflake_engine.load_arrow(snowflake_engine.qualify("source"), data)
    batches = list(snowflake_engine.iter_batches(snowflake_engine.qualify("source"), batch_rows=64))
    assert all(isinstance(b, pa.RecordBatch) and 0 < b.num_rows <= 64 for b in batches)
    assert len(batches) >= 8
    assert len({b.schema for b in batches}) == 1
    streamed = pa.Table.from_batches(batches).sort_by("id")
    assert streamed.schema.types == [pa.int64(), pa.float64(), pa.string(), pa.bool_()]
    assert streamed.equals(data.cast(streamed.schema).sort_by("id"))


def test_an_empty_table_streams_one_empty_batch_with_its_schema(snowflake_engine: SnowflakeEngine) -> None:
    snowflake_engine.load_arrow(snowflake_engine.qualify("source"), sample(5))
    source, empty = sql_name(snowflake_engine, "source"), sql_name(snowflake_engine, "empty")
    snowflake_engine.execute(f'CREATE TABLE {empty} AS SELECT "id", "x" FROM {source} WHERE "id" > 1000')
    batches = list(snowflake_engine.iter_batches(snowflake_engine.qualify("empty")))
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.names == ["id", "x"]
    assert batches[0].schema.field("x").type == pa.float64()


def test_load_refuses_an_existing_table_unless_told_to_overwrite(snowflake_engine: SnowflakeEngine) -> None:
    table = snowflake_engine.qualify("source")
    snowflake_engine.load_arrow(table, sample(20))
    with pytest.raises(TableExistsError, match="overwrite=True"):
        snowflake_engine.load_arrow(table, pa.table({"other": [1.0]}))
    assert snowflake_engine.fetch_rows(
        f'SELECT COUNT(*) AS "n" FROM {sql_name(snowflake_engine, "source")}'
    ) == [{"n": 20}]
    snowflake_engine.load_arrow(table, pa.table({"other": [1.0, 2.0]}), overwrite=True)
    assert snowflake_engine.column_types(table) == {"other": "FLOAT"}


def test_drop_table_is_idempotent(snowflake_engine: SnowflakeEngine) -> None:
    table = snowflake_engine.qualify("source")
    snowflake_engine.load_arrow(table, sample(3))
    snowflake_engine.drop_table(table)
    snowflake_engine.drop_table(table)
    assert not snowflake_engine.table_exists(table)


def test_secrets_never_reach_repr_or_logs(
    snowflake_engine: SnowflakeEngine, snowflake_credentials: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = snowflake_credentials["SNOWFLAKE_PASSWORD"]
    caplog.set_level(logging.DEBUG)
    fresh = SnowflakeEngine(**{k: getattr(snowflake_engine, k) for k in ("account", "database", "schema")},
                            **snowflake_engine.endpoint)  # fmt: skip
    fresh.execute("SELECT 1")
    fresh.close()
    assert secret not in repr(fresh) and secret not in str(fresh)
    assert "credentials=<from environment>" in repr(fresh)
    assert "connecting to Snowflake" in caplog.text
    assert secret not in caplog.text
    assert not any(secret in str(value) for value in vars(fresh).values())
