"""DuckDB fixtures for the preprocessing tests (real engine, tiny data)."""

from __future__ import annotations

import pytest

from components.preprocess import datasets
from components.preprocess.engines.duckdb import DuckDBEngine
from components.preprocess.spec import ColumnSpec, PreprocessSpec, SplitFractions, Transform


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


@pytest.fixture
def spec() -> PreprocessSpec:
    """A spec that uses every transform once (the golden SQL files are built from it)."""
    return PreprocessSpec(
        source_table="events", key_column="id", label_column="label",
        columns=(
            ColumnSpec("age", (Transform("impute", strategy="median"), Transform("clip", low=0, high=120),
                               Transform("standardize"))),
            ColumnSpec("income", (Transform("impute", strategy="mean"), Transform("log1p"),
                                  Transform("minmax"))),
            ColumnSpec("visits", (Transform("impute", strategy="most_frequent"),)),
            ColumnSpec("score", (Transform("impute", strategy="constant", value=0.5),
                                 Transform("standardize"))),
            ColumnSpec("city", (Transform("impute", strategy="constant", value="none"),
                                Transform("one_hot", top_k=3))),
            ColumnSpec("device", (Transform("vocab_index", top_k=2),)),
        ),
        passthrough=("raw",), split=SplitFractions(0.7, 0.15, 0.15), salt="golden",
    )  # fmt: skip
