from __future__ import annotations

import pytest

from components.preprocess.engines import WarehouseUrlError, connect, parse_url
from components.preprocess.engines.duckdb import DuckDBEngine


def test_parse_duckdb_forms():
    assert parse_url("duckdb:///tmp/w.duckdb").path == "/tmp/w.duckdb"
    assert parse_url("duckdb:///:memory:").path == ":memory:"
    assert parse_url("duckdb:data/w.duckdb").path == "data/w.duckdb"
    url = parse_url("duckdb:///tmp/a%20b.duckdb?threads=2&memory_limit=1GB")
    assert url.path == "/tmp/a b.duckdb" and dict(url.params) == {"threads": "2", "memory_limit": "1GB"}


def test_parse_cloud_forms():
    bq = parse_url("bigquery://my-proj/my_ds?location=EU")
    assert (bq.scheme, bq.project, bq.dataset) == ("bigquery", "my-proj", "my_ds")
    assert bq.params["location"] == "EU"
    sf = parse_url("snowflake://acct-1/DB/PUBLIC?warehouse=WH&role=R")
    assert (sf.account, sf.database, sf.schema, dict(sf.params)) == ("acct-1", "DB", "PUBLIC",
                                                                     {"warehouse": "WH", "role": "R"})
    assert str(sf) == "snowflake://acct-1/DB/PUBLIC?warehouse=WH&role=R"
    with pytest.raises(KeyError, match="has parts"):
        sf.part("dataset")


@pytest.mark.parametrize(("url", "problem"), [
    ("postgres://h/db", "unknown scheme 'postgres'"),
    ("duckdb://host/x.duckdb", "a duckdb URL has no host"),
    ("duckdb://", "needs a database file path"),
    ("duckdb:///x.duckdb?threads=2&colour=red", "unknown parameter(s) ['colour'] for duckdb"),
    ("bigquery://proj", "needs exactly 2 non-empty parts: project/dataset"),
    ("bigquery://proj/ds/extra", "needs exactly 2"),
    ("snowflake://acct/db", "needs exactly 3 non-empty parts: account/database/schema"),
    ("snowflake://user:pw@acct/db/s", "'snowflake://***@acct/db/s': credentials and fragments do not"),
    ("bigquery://p/d?location=", "have no value"),
    ("not a url", "unknown scheme ''"),
])
def test_malformed_urls_name_the_url_and_valid_forms(url, problem):
    with pytest.raises(WarehouseUrlError) as err:
        parse_url(url)
    message = str(err.value)
    assert problem in message and "Valid forms: duckdb:///path/to/file.duckdb" in message
    assert ":pw@" not in message


def test_secret_parameters_refused_without_echo():
    with pytest.raises(WarehouseUrlError, match=r"\['password'\] look like credentials") as err:
        parse_url("snowflake://a/b/c?warehouse=w&password=hunter2")
    assert "hunter2" not in str(err.value)


def test_connect_duckdb(tmp_path):
    with connect(f"duckdb://{tmp_path}/w.duckdb?threads=1&memory_limit=256MB") as engine:
        assert isinstance(engine, DuckDBEngine)
        query = "SELECT current_setting('threads') AS t, current_setting('memory_limit') AS m"
        settings = engine.fetch_rows(query)
        assert settings[0]["t"] == 1 and settings[0]["m"].startswith("244")
    with pytest.raises(ValueError, match="threads='x'"):
        connect("duckdb:///:memory:?threads=x")


def test_connect_dispatches_to_cloud_adapters_by_name():
    from components.preprocess.engines import SCHEMES

    assert SCHEMES["bigquery"][2] == "components.preprocess.engines.bigquery:BigQueryEngine"
    assert SCHEMES["snowflake"][2] == "components.preprocess.engines.snowflake:SnowflakeEngine"
