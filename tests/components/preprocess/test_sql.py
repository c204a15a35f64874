from __future__ import annotations

import pytest
import sqlglot

from components.preprocess import sql
from components.preprocess.engines.base import TableRef
from components.preprocess.spec import ColumnSpec, PreprocessSpec, Transform

SOURCE = TableRef("events", "analytics", "proj")
SPLIT = TableRef("events_kwp_split", "analytics", "proj")

# Fitted statistics written out by hand: the transform query only inlines them.
STATS = {
    "key_column": "id", "label_column": "label",
    "columns": [
        {"name": "age", "kind": "numeric", "outputs": ["age"], "steps": [
            {"op": "impute", "strategy": "median", "value": 41.5},
            {"op": "clip", "low": 0.0, "high": 120.0},
            {"op": "standardize", "mean": 40.25, "std": 12.5}]},
        {"name": "income", "kind": "numeric", "outputs": ["income"], "steps": [
            {"op": "impute", "strategy": "mean", "value": 5.0e4}, {"op": "log1p"},
            {"op": "minmax", "min": 1.0, "max": 12.0}]},
        {"name": "visits", "kind": "numeric", "outputs": ["visits"], "steps": [
            {"op": "impute", "strategy": "most_frequent", "value": 3.0}]},
        {"name": "score", "kind": "numeric", "outputs": ["score"], "steps": [
            {"op": "impute", "strategy": "constant", "value": 0.5},
            {"op": "standardize", "mean": 0.5, "std": 0.0}]},
        {"name": "city", "kind": "categorical", "outputs": ["city__0", "city__1", "city__oov"], "steps": [
            {"op": "impute", "strategy": "constant", "value": "none"},
            {"op": "one_hot", "vocabulary": ["paris", "it's"], "counts": [9, 4]}]},
        {"name": "device", "kind": "categorical", "outputs": ["device"], "steps": [
            {"op": "vocab_index", "vocabulary": ["phone", "tv"], "counts": [7, 2], "oov_index": 2}]},
        {"name": "raw", "kind": "passthrough", "outputs": ["raw"], "steps": []},
    ],
}


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_golden_split_table(spec, dialect, golden):
    query = sql.split_table_query(spec, SOURCE, SPLIT, dialect)
    golden(f"sql/{dialect}/split_table.sql", sql.render(query, dialect) + "\n")


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_golden_transform(dialect, golden):
    query = sql.transform_query(STATS, SPLIT, TableRef("events_kwp_train", "analytics", "proj"), "train")
    golden(f"sql/{dialect}/transform_train.sql", sql.render(query, dialect) + "\n")


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_golden_profile(spec, dialect, golden):
    golden(f"sql/{dialect}/profile.sql", sql.render(sql.profile_query(spec, SOURCE), dialect) + "\n")


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_emitted_sql_parses_back_in_its_dialect(spec, dialect):
    for query in (sql.split_table_query(spec, SOURCE, SPLIT, dialect), sql.stats_query(spec, SPLIT),
                  sql.transform_query(STATS, SPLIT, SPLIT, "test", replace=True)):
        text = sql.render(query, dialect)
        assert len(sqlglot.parse(text, read=dialect)) == 1  # exactly one statement


HOSTILE = ['x"; DROP TABLE t; --', "select", "it's", "semi;colon", 'a"b', "tab\tname"]


@pytest.mark.parametrize("dialect", ["snowflake", "duckdb"])
@pytest.mark.parametrize("name", [*HOSTILE, "back`tick"])
def test_hostile_identifiers_stay_one_quoted_identifier(dialect, name):
    spec = PreprocessSpec(source_table=name, key_column=name + "k", label_column="y",
                          columns=(ColumnSpec(name, (Transform("standardize"),)),))
    text = sql.render(sql.split_table_query(spec, TableRef(name), TableRef(name + "_out"), dialect), dialect)
    statements = sqlglot.parse(text, read=dialect)
    assert len(statements) == 1
    tables = {t.name for t in statements[0].find_all(sqlglot.exp.Table)}
    assert tables == {name, name + "_out"}
    assert name in {c.name for c in statements[0].find_all(sqlglot.exp.Column)}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_identifiers_bigquery(name):
    spec = PreprocessSpec(source_table="t", key_column="k", label_column="y",
                          columns=(ColumnSpec(name, (Transform("standardize"),)),))
    text = sql.render(sql.stats_query(spec, TableRef("t")), "bigquery")
    assert len(sqlglot.parse(text, read="bigquery")) == 1


def test_hostile_category_values_are_string_literals():
    stats = {**STATS, "columns": [{"name": "c", "kind": "categorical", "outputs": ["c__0", "c__oov"],
                                   "steps": [{"op": "one_hot", "vocabulary": ["'); DROP TABLE t; --"],
                                              "counts": [1]}]}]}
    for dialect in sql.DIALECTS:
        text = sql.render(sql.transform_query(stats, SPLIT, SPLIT, "train", replace=True), dialect)
        (statement,) = sqlglot.parse(text, read=dialect)
        literals = {lit.this for lit in statement.find_all(sqlglot.exp.Literal) if lit.is_string}
        assert "'); DROP TABLE t; --" in literals


def test_unknown_dialect_and_split(spec):
    with pytest.raises(ValueError, match="unknown dialect 'oracle'"):
        sql.render(sql.profile_query(spec, SOURCE), "oracle")
    with pytest.raises(ValueError, match="unknown split 'holdout'"):
        sql.transform_query(STATS, SPLIT, SPLIT, "holdout")
