from __future__ import annotations

import hashlib
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from sqlglot import exp

from components.preprocess import split
from components.preprocess.spec import SplitFractions
from components.preprocess.sql import render

KEYS = [0, 1, -7, 42, 2**40, 10**15 + 3, "a", "", "it's", 'back`tick"quote', "ünïcödé ☃", "select;--"]


def test_bucket_is_md5_prefix_mod_10000():
    expected = int(hashlib.md5(b"salt:42").hexdigest()[:8], 16) % 10_000
    assert split.bucket(42, "salt") == expected
    assert split.bucket("42", "salt") == expected  # an integer key hashes as its digits


def test_key_text_rule():
    assert split.key_text(np.int64(5)) == "5"
    assert split.key_text(Decimal("12")) == "12"
    assert split.key_text(-3) == "-3"
    for bad in (1.5, 2.0, True, None):
        with pytest.raises(split.KeyTypeError, match=r"use a string or integer|not a string or integer"):
            split.key_text(bad)


def test_deterministic_and_salted():
    f = SplitFractions(0.6, 0.2, 0.2)
    first = [split.assign_split(k, "s", f) for k in range(2000)]
    assert first == [split.assign_split(k, "s", f) for k in range(2000)]
    assert first != [split.assign_split(k, "other", f) for k in range(2000)]
    counts = {s: first.count(s) for s in ("train", "validation", "test")}
    assert 1100 < counts["train"] < 1300 and 330 < counts["test"] < 470


def test_thresholds_follow_fractions():
    assert split.thresholds(SplitFractions(0.8, 0.1, 0.1)) == (8000, 9000)
    assert split.thresholds(SplitFractions(1.0, 0.0, 0.0)) == (10000, 10000)


@pytest.mark.parametrize("dialect", sorted(split.HEX_TO_INT))
def test_hex_to_int_table_agrees_with_python(duck, dialect):
    """Every dialect's hex->int expression, run on DuckDB, equals int(hex, 16)."""
    digests = [hashlib.md5(str(i).encode()).hexdigest()[:8] for i in range(200)] + ["00000000", "ffffffff"]
    con = duck.connection
    con.register("hexes", pa.table({"h": digests}))
    expression = split.HEX_TO_INT[dialect](exp.column("h"))
    if dialect != "duckdb":  # emit for the dialect, then read it back for DuckDB to run
        import sqlglot

        expression = sqlglot.parse_one(expression.sql(dialect), read=dialect)
    rows = con.execute(f"SELECT {expression.sql('duckdb')} FROM hexes").fetchall()
    assert [r[0] for r in rows] == [int(h, 16) for h in digests]


def _duckdb_buckets(duck, keys, salt, dialect="duckdb"):
    con = duck.connection
    con.register("keys", pa.table({"k": keys}))
    sql = render(exp.select(split.bucket_sql(exp.column("k"), salt, dialect)).from_("keys"), "duckdb")
    return [r[0] for r in con.execute(sql).fetchall()]


def test_python_equals_duckdb_for_integer_and_string_keys(duck):
    ints = [k for k in KEYS if isinstance(k, int)] + list(range(500))
    assert _duckdb_buckets(duck, ints, "s") == [split.bucket(k, "s") for k in ints]
    strs = [k for k in KEYS if isinstance(k, str)]
    assert _duckdb_buckets(duck, strs, "s'x\\") == [split.bucket(k, "s'x\\") for k in strs]


def test_snowflake_form_equals_python_when_run_on_duckdb(duck):
    keys = list(range(300))
    assert _duckdb_buckets(duck, keys, "s", dialect="snowflake") == [split.bucket(k, "s") for k in keys]


def test_split_membership_python_equals_duckdb(duck):
    fractions = SplitFractions(0.5, 0.3, 0.2)
    keys = list(range(3000))
    duck.connection.register("keys", pa.table({"k": keys}))
    b = split.bucket_sql(exp.column("k"), "kwp", "duckdb").as_("b")
    inner = exp.select(exp.column("k"), b).from_("keys")
    case = split.split_case(exp.column("b"), fractions)
    query = exp.select(exp.column("k"), case).from_(inner.subquery("q"))
    got = dict(duck.connection.execute(render(query, "duckdb")).fetchall())
    assert got == {k: split.assign_split(k, "kwp", fractions) for k in keys}


def test_sql_per_dialect_uses_md5():
    e = split.bucket_sql(exp.column("k", quoted=True), "s", "bigquery")
    assert "TO_HEX(MD5(" in render(e, "bigquery") and "AS INT64" in render(e, "bigquery")
    assert "CHARINDEX" in render(split.bucket_sql(exp.column("k"), "s", "snowflake"), "snowflake")
    with pytest.raises(ValueError, match="unknown dialect 'oracle'"):
        split.bucket_sql(exp.column("k"), "s", "oracle")
