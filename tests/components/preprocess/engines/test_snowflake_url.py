"""snowflake_url: the URL becomes engine keywords; secrets in a URL are refused without being echoed."""

from __future__ import annotations

import pytest

from components.preprocess.engines import WarehouseUrlError
from components.preprocess.engines import parse_url as parse_any_url
from components.preprocess.engines.snowflake_url import parse_url


def test_url_parts_and_parameters() -> None:
    url = "snowflake://myorg-acct1/ANALYTICS/PUBLIC?warehouse=ETL_WH&role=ML&timeout=600&host=h.privatelink"
    assert parse_url(url) == {
        "account": "myorg-acct1",
        "database": "ANALYTICS",
        "schema": "PUBLIC",
        "warehouse": "ETL_WH",
        "role": "ML",
        "timeout_s": 600,
        "host": "h.privatelink",
    }
    assert parse_url("snowflake://xy12345.us-east-1.aws/D/S")["account"] == "xy12345.us-east-1.aws"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("snowflake://acct/DB", "exactly a database and a schema"),
        ("snowflake://acct/DB/S/extra", "exactly a database and a schema"),
        ("snowflake://acct//S", "exactly a database and a schema"),
        ("snowflake:///DB/S", "account ''"),
        ("snowflake://acct/DB/S?password=hunter2", "credential parameter(s) ['password']"),
        ("snowflake://acct/DB/S?private_key_file=/k.pem", "credential parameter(s)"),
        ("snowflake://acct/DB/S?token=hunter2", "credential parameter(s) ['token']"),
        ("snowflake://me:hunter2@acct/DB/S", "no user or password"),
        ("snowflake://acct/DB/S?wh=X", "unknown parameter"),
        ("snowflake://acct/DB/S?port=http", "port='http'"),
        ("bigquery://p/d", "not a Snowflake URL"),
    ],
)
def test_malformed_urls_are_refused_without_echoing_secrets(url: str, complaint: str) -> None:
    with pytest.raises(WarehouseUrlError) as caught:
        parse_url(url)
    assert complaint in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_split_form_of_engines_parse_url_gives_the_same_keywords() -> None:
    url = "snowflake://acct/DB/SCH?warehouse=WH&role=R&port=8443&network_timeout=5"
    assert parse_url(parse_any_url(url)) == parse_url(url)
