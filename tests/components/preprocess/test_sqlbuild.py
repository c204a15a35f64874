from __future__ import annotations

import pytest

from components.preprocess import sqlbuild
from components.preprocess.engines.base import TableRef
from components.preprocess.fit_sql import stats_query
from components.preprocess.spec import ColumnSpec, PreprocessSpec, Transform


def test_bigquery_refuses_identifiers_it_cannot_quote():
    spec = PreprocessSpec(source_table="t", key_column="k", label_column="y",
                          columns=(ColumnSpec("a`b", (Transform("standardize"),)),))
    with pytest.raises(sqlbuild.UnsafeIdentifierError, match="'a`b' contains a backtick"):
        sqlbuild.render(stats_query(spec, TableRef("t")), "bigquery")


def test_float_literals_are_exact():
    value = 0.1 + 0.2
    assert float(sqlbuild.num(value).this.this) == value


def test_identifiers_are_always_quoted():
    assert sqlbuild.table(TableRef("t", "s", "c")).sql("duckdb") == '"c"."s"."t"'
    assert sqlbuild.col("select").sql("bigquery") == "`select`"
    with pytest.raises(ValueError, match="unknown dialect 'oracle'"):
        sqlbuild.render(sqlbuild.col("x"), "oracle")
