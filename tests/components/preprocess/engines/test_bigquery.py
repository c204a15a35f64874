"""BigQueryEngine: names offline, every Engine method against bqemulator on loopback."""

from __future__ import annotations

import pyarrow as pa
import pytest

from components.preprocess.engines import bigquery, bigquery_url, connect
from components.preprocess.engines.base import TableExistsError, TableNotFoundError, TableRef, WarehouseError
from components.preprocess.engines.bigquery import BigQueryEngine


def sample(rows: int = 250) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(-3, rows - 3), pa.int32()),
            "x": [i * 0.25 if i % 7 else None for i in range(rows)],
            "select": [f"v{i % 5}é" for i in range(rows)],
            "a'b -- c": [i % 2 == 0 for i in range(rows)],
        }
    )


def sql_name(engine: BigQueryEngine, name: str) -> str:
    return engine.sql_table(engine.qualify(name)).sql("bigquery")


# --- offline: names -----------------------------------------------------------------------


def test_connect_builds_the_engine_without_credentials_or_network() -> None:
    engine = connect("bigquery://my-project/sales?location=EU")
    assert isinstance(engine, BigQueryEngine)
    assert (engine.project, engine.dataset, engine.location) == ("my-project", "sales", "EU")
    assert engine._client is None  # created on first use only


def test_the_adapter_module_still_exports_the_url_names() -> None:
    assert (bigquery.parse_url, bigquery.SCHEME, bigquery.FORM) == (
        bigquery_url.parse_url, bigquery_url.SCHEME, bigquery_url.FORM,
    )  # fmt: skip


def test_qualify_completes_names_with_the_url_defaults() -> None:
    engine = BigQueryEngine("proj", "ds")
    assert engine.qualify("t") == TableRef("t", "ds", "proj")
    assert engine.qualify("other.t") == TableRef("t", "other", "proj")
    assert engine.qualify("p2.other.t") == TableRef("t", "other", "p2")
    assert engine.qualify("example.com:p.other.t") == TableRef("t", "other", "example.com:p")
    for bad in ("", "ds.", ".t", "a..t"):
        with pytest.raises(ValueError, match="empty part"):
            engine.qualify(bad)


def test_every_part_of_a_table_name_is_quoted() -> None:
    engine = BigQueryEngine("my-proj", "ds")
    assert sql_name(engine, "select") == "`my-proj`.`ds`.`select`"


def test_repr_names_the_location_and_no_credentials() -> None:
    assert (
        repr(BigQueryEngine("p", "d", location="EU"))
        == "BigQueryEngine(project='p', dataset='d', location='EU')"
    )


def test_loading_an_unsupported_arrow_type_names_the_column(bigquery_engine: BigQueryEngine) -> None:
    data = pa.table({"ok": [1], "nested": pa.array([{"a": 1}])})
    with pytest.raises(WarehouseError, match="'nested'"):
        bigquery_engine.load_arrow(bigquery_engine.qualify("t"), data)
    assert not bigquery_engine.table_exists(bigquery_engine.qualify("t"))


# --- against the emulator --------------------------------------------------------------------------------


def test_metadata_of_a_loaded_table(bigquery_engine: BigQueryEngine) -> None:
    table = bigquery_engine.qualify("source")
    assert not bigquery_engine.table_exists(table)
    bigquery_engine.load_arrow(table, sample())
    assert bigquery_engine.table_exists(table)
    assert bigquery_engine.column_types(table) == {
        "id": "INT64",
        "x": "FLOAT64",
        "select": "STRING",
        "a'b -- c": "BOOL",
    }


def test_missing_table_is_reported_as_such(bigquery_engine: BigQueryEngine) -> None:
    missing = bigquery_engine.qualify("nowhere")
    with pytest.raises(TableNotFoundError, match="nowhere"):
        bigquery_engine.column_types(missing)
    with pytest.raises(TableNotFoundError, match="nowhere"):
        list(bigquery_engine.iter_batches(missing))
    with pytest.raises(TableNotFoundError, match="nowhere"):
        source = sql_name(bigquery_engine, "nowhere")
        bigquery_engine.execute(f"CREATE TABLE {sql_name(bigquery_engine, 'x')} AS SELECT * FROM {source}")


def test_ctas_runs_in_the_warehouse_and_refuses_to_replace(bigquery_engine: BigQueryEngine) -> None:
    bigquery_engine.load_arrow(bigquery_engine.qualify("source"), sample())
    ctas = (
        f"CREATE TABLE {sql_name(bigquery_engine, 'derived')} AS "
        f"SELECT `id`, `x` * 2 AS `y` FROM {sql_name(bigquery_engine, 'source')} WHERE `id` >= 0"
    )
    bigquery_engine.execute(ctas)
    rows = bigquery_engine.fetch_rows(
        f"SELECT COUNT(*) AS n, SUM(`y`) AS s FROM {sql_name(bigquery_engine, 'derived')}"
    )
    expected = sum(
        2 * v
        for i, v in zip(sample()["id"].to_pylist(), sample()["x"].to_pylist(), strict=True)
        if i >= 0 and v is not None
    )
    assert rows == [{"n": 247, "s": pytest.approx(expected)}]
    with pytest.raises(TableExistsError, match="derived"):
        bigquery_engine.execute(ctas)


def test_fetch_rows_returns_plain_python_scalars(bigquery_engine: BigQueryEngine) -> None:
    rows = bigquery_engine.fetch_rows(
        "SELECT CAST(2 AS NUMERIC) AS whole, CAST(2.5 AS NUMERIC) AS half, 'é' AS s, NULL AS n"
    )
    assert rows == [{"whole": 2, "half": 2.5, "s": "é", "n": None}]
    assert type(rows[0]["whole"]) is int


def test_syntax_errors_become_warehouse_errors(bigquery_engine: BigQueryEngine) -> None:
    with pytest.raises(WarehouseError, match="SELEC"):
        bigquery_engine.execute("SELEC 1")


@pytest.mark.parametrize("storage_api", [True, False], ids=["storage-read", "rest-pages"])
def test_tables_stream_out_in_bounded_batches(bq_emulator, bq_dataset: str, storage_api: bool) -> None:
    engine = connect(bq_emulator.url(bq_dataset, storage_api=storage_api))
    data = sample(500)
    engine.load_arrow(engine.qualify("source"), data)
    batches = list(engine.iter_batches(engine.qualify("source"), batch_rows=64))
    assert all(isinstance(b, pa.RecordBatch) and 0 < b.num_rows <= 64 for b in batches)
    assert len(batches) >= 8
    streamed = pa.Table.from_batches(batches).sort_by("id")
    expected = data.cast(streamed.schema).sort_by("id")
    assert streamed.equals(expected)
    engine.close()


def test_injected_clients_are_used(bq_emulator, bq_dataset: str) -> None:
    engine = BigQueryEngine(
        bq_emulator.project, bq_dataset, client=bq_emulator.client(), read_client=bq_emulator.read_client()
    )
    engine.load_arrow(engine.qualify("t"), sample(10))
    assert sum(b.num_rows for b in engine.iter_batches(engine.qualify("t"))) == 10
    engine.close()


def test_an_empty_table_streams_one_empty_batch_with_its_schema(bigquery_engine: BigQueryEngine) -> None:
    bigquery_engine.load_arrow(bigquery_engine.qualify("source"), sample(5))
    source, empty = sql_name(bigquery_engine, "source"), sql_name(bigquery_engine, "empty")
    bigquery_engine.execute(f"CREATE TABLE {empty} AS SELECT `id`, `x` FROM {source} WHERE FALSE")
    batches = list(bigquery_engine.iter_batches(bigquery_engine.qualify("empty")))
    assert [b.num_rows for b in batches] == [0]
    assert batches[0].schema.names == ["id", "x"]
    assert batches[0].schema.field("x").type == pa.float64()


def test_load_refuses_an_existing_table_unless_told_to_overwrite(bigquery_engine: BigQueryEngine) -> None:
    table = bigquery_engine.qualify("source")
    bigquery_engine.load_arrow(table, sample(20))
    with pytest.raises(TableExistsError, match="overwrite=True"):
        bigquery_engine.load_arrow(table, pa.table({"other": [1.0]}))
    assert bigquery_engine.fetch_rows(f"SELECT COUNT(*) AS n FROM {sql_name(bigquery_engine, 'source')}") == [
        {"n": 20}
    ]
    bigquery_engine.load_arrow(table, pa.table({"other": [1.0, 2.0]}), overwrite=True)
    assert bigquery_engine.column_types(table) == {"other": "FLOAT64"}
    assert bigquery_engine.fetch_rows(
        f"SELECT SUM(`other`) AS s FROM {sql_name(bigquery_engine, 'source')}"
    ) == [{"s": 3.0}]


def test_drop_table_is_idempotent(bigquery_engine: BigQueryEngine) -> None:
    table = bigquery_engine.qualify("source")
    bigquery_engine.load_arrow(table, sample(3))
    bigquery_engine.drop_table(table)
    bigquery_engine.drop_table(table)
    assert not bigquery_engine.table_exists(table)


class FakeRunningJob:
    """A job that never finishes. bqemulator runs every job inside the insert call, so it cannot
    show a slow job; this fake stands in for the real service's asynchronous job."""

    job_id = "job_never_done"

    def __init__(self) -> None:
        self.cancelled = False

    def result(self, timeout: float) -> None:
        import concurrent.futures

        raise concurrent.futures.TimeoutError(f"not done after {timeout}s")

    def cancel(self) -> bool:
        self.cancelled = True
        return True


def test_a_job_past_its_timeout_is_cancelled_and_reported() -> None:
    engine, job = BigQueryEngine("p", "d", timeout_s=2.5), FakeRunningJob()
    with pytest.raises(WarehouseError, match=r"job_never_done did not finish within 2.5s and was cancelled"):
        engine._wait(job)
    assert job.cancelled
