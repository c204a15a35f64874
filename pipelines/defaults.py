"""Default arguments shared by the pipelines: the digits spec and a local DuckDB warehouse.

Cluster users override ``warehouse_url`` with ``bigquery://...`` or ``snowflake://...`` and ``spec_json``
with their own table's spec; ``kwp run --local`` seeds the DuckDB file itself.
"""

from __future__ import annotations

from components.preprocess.datasets import default_spec

DEFAULT_WAREHOUSE_URL = "duckdb:///tmp/kwp/warehouse.duckdb"
DEFAULT_SPEC_JSON = default_spec("digits").to_json()
