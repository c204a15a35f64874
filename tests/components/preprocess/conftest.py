"""DuckDB fixtures for the preprocessing tests (real engine, tiny data)."""

from __future__ import annotations

import pytest

from components.preprocess import datasets
from components.preprocess.engines.duckdb import DuckDBEngine


@pytest.fixture
def duck():
    """An in-memory DuckDB engine with two threads."""
    engine = DuckDBEngine(":memory:", threads=2, memory_limit="1GB")
    yield engine
    engine.close()


@pytest.fixture
def synthetic(duck):
    """``duck`` holding the 3,000-row synthetic table ``synthetic`` (NULLs, categoricals, a constant)."""
    duck.load_arrow(duck.qualify("synthetic"), datasets.synthetic_table(3000, seed=1))
    return duck
