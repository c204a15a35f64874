"""Default arguments shared by the pipelines: the preprocessing spec of scikit-learn's digits.

``warehouse_url`` has no default on purpose: a cluster run must name its warehouse (``bigquery://...``,
``snowflake://...``); ``kwp run --local`` seeds an embedded DuckDB file and passes its URL.
"""

from __future__ import annotations

from components.preprocess.datasets import default_spec

DEFAULT_SPEC_JSON = default_spec("digits").to_json()
