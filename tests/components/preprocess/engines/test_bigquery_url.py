"""bigquery_url: the URL becomes engine keywords, and a malformed one is refused naming the bad part."""

from __future__ import annotations

import pytest

from components.preprocess.engines import WarehouseUrlError
from components.preprocess.engines import parse_url as parse_any_url
from components.preprocess.engines.bigquery_url import parse_url


def test_url_parts_and_parameters() -> None:
    url = "bigquery://my-project/sales_2024?location=europe-west4&timeout=120&storage_api=false"
    assert parse_url(url) == {
        "project": "my-project",
        "dataset": "sales_2024",
        "location": "europe-west4",
        "timeout_s": 120.0,
        "storage_api": False,
    }
    assert parse_url("bigquery://example.com:proj/ds")["project"] == "example.com:proj"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("bigquery://proj", "dataset ''"),
        ("bigquery:///ds", "project ''"),
        ("bigquery://proj/ds/extra", "dataset 'ds/extra'"),
        ("bigquery://proj/my-dataset", "dataset 'my-dataset'"),
        ("bigquery://proj/ds?region=EU", "unknown parameter"),
        ("bigquery://proj/ds?timeout=soon", "timeout='soon'"),
        ("bigquery://proj/ds?timeout=0", "timeout='0'"),
        ("bigquery://proj/ds?storage_api=maybe", "storage_api='maybe'"),
        ("bigquery://user:hunter2@proj/ds", "no user or password"),
        ("duckdb:///x.duckdb", "not a BigQuery URL"),
    ],
)
def test_malformed_urls_are_refused_with_the_bad_part_named(url: str, complaint: str) -> None:
    with pytest.raises(WarehouseUrlError) as caught:
        parse_url(url)
    assert complaint in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_split_form_of_engines_parse_url_gives_the_same_keywords() -> None:
    url = "bigquery://my-project/sales?location=EU&timeout=60"
    assert parse_url(parse_any_url(url)) == parse_url(url)
