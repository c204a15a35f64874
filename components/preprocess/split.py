"""Engine-independent split assignment: the same key lands in the same split everywhere.

Warehouse hash functions differ (BigQuery FARM_FINGERPRINT, Snowflake HASH, DuckDB hash), so the bucket is
built from MD5, which every engine computes identically as lowercase hex of the UTF-8 bytes::

    text   = salt + ":" + key_text(key)
    value  = int(md5(text).hexdigest()[:8], 16)        # first 32 bits, always >= 0
    bucket = value % 10000
    split  = "train" if bucket < T1 else "validation" if bucket < T2 else "test"

with ``T1 = round(10000 * train)`` and ``T2 = round(10000 * (train + validation))``.

**Key text rule** (identical in SQL and Python): the key column must be a string or integer column
(fixed-point with scale 0 counts as integer). Strings are used as they are; integers as their plain
decimal digits with a leading ``-`` for negatives, never ``.0`` nor exponent notation. Floating-point,
boolean and date keys are refused, because their text forms differ between engines.

Turning the hex prefix into an integer is the one place the dialects differ: the per-dialect table
``HEX_TO_INT`` below holds the expression for each, and tests check every entry against :func:`bucket`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from decimal import Decimal
from numbers import Integral

from sqlglot import exp

from components.preprocess.spec import SPLITS, SplitFractions

BUCKETS = 10_000
HEX_DIGITS = 8
SEPARATOR = ":"


class KeyTypeError(TypeError):
    """A key value (or key column type) has no engine-independent text form."""


def key_text(key: object) -> str:
    """The text a key is hashed as; see the module docstring for the rule."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        raise KeyTypeError(f"key {key!r} is a boolean; use a string or integer key column")
    if isinstance(key, Integral):
        return str(int(key))
    if isinstance(key, Decimal) and key == key.to_integral_value():
        return str(int(key))
    raise KeyTypeError(f"key {key!r} ({type(key).__name__}) is not a string or integer; "
                       "floating-point keys have engine-dependent text forms")


def bucket(key: object, salt: str) -> int:
    """The bucket (0..9999) of ``key``; equal to the SQL from :func:`bucket_sql` on every engine."""
    digest = hashlib.md5((salt + SEPARATOR + key_text(key)).encode("utf-8")).hexdigest()
    return int(digest[:HEX_DIGITS], 16) % BUCKETS


def thresholds(fractions: SplitFractions) -> tuple[int, int]:
    """Integer bucket thresholds ``(T1, T2)`` shared by Python and SQL."""
    t1 = round(BUCKETS * fractions.train)
    t2 = round(BUCKETS * (fractions.train + fractions.validation))
    return t1, t2


def assign_split(key: object, salt: str, fractions: SplitFractions) -> str:
    """``"train"``, ``"validation"`` or ``"test"`` for ``key``."""
    b = bucket(key, salt)
    t1, t2 = thresholds(fractions)
    return SPLITS[0] if b < t1 else SPLITS[1] if b < t2 else SPLITS[2]


# --- SQL -------------------------------------------------------------------------------------------


def _hex_cast(int_type: str) -> Callable[[exp.Expression], exp.Expression]:
    """``CAST('0x' || hex AS <int>)``: DuckDB and BigQuery read hex literals when casting text."""

    def build(hex_prefix: exp.Expression) -> exp.Expression:
        return exp.cast(exp.Concat(expressions=[exp.Literal.string("0x"), hex_prefix]), int_type)

    return build


def _hex_digits(hex_prefix: exp.Expression) -> exp.Expression:
    """Sum of digit values times powers of 16, using only SUBSTRING and POSITION.

    Snowflake has ``TO_NUMBER(x, 'XXXXXXXX')``, but fakesnow (its local emulator) cannot run it, and this
    plain form runs on both and on any SQL engine.
    """
    terms = []
    for i in range(HEX_DIGITS):
        digit = exp.Substring(this=hex_prefix.copy(), start=exp.Literal.number(i + 1),
                              length=exp.Literal.number(1))
        value = exp.Sub(this=exp.StrPosition(this=exp.Literal.string("0123456789abcdef"), substr=digit),
                        expression=exp.Literal.number(1))
        terms.append(exp.Mul(this=exp.Paren(this=value),
                             expression=exp.Literal.number(16 ** (HEX_DIGITS - 1 - i))))
    return functools.reduce(lambda left, right: exp.Add(this=left, expression=right), terms)


#: dialect -> builder of "hex text -> non-negative integer".
HEX_TO_INT: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "duckdb": _hex_cast("BIGINT"),
    "bigquery": _hex_cast("BIGINT"),  # emitted as INT64
    "snowflake": _hex_digits,
}


def key_text_sql(key: exp.Expression) -> exp.Expression:
    """``CAST(key AS VARCHAR)``: integers print as plain digits on every engine (see key rule)."""
    return exp.cast(key, "VARCHAR")


def bucket_sql(key: exp.Expression, salt: str, dialect: str) -> exp.Expression:
    """SQL computing :func:`bucket` for the column expression ``key`` in ``dialect``."""
    if dialect not in HEX_TO_INT:
        raise ValueError(f"unknown dialect {dialect!r}; valid: {', '.join(HEX_TO_INT)}")
    text = exp.Concat(expressions=[exp.Literal.string(salt + SEPARATOR), key_text_sql(key)])
    prefix = exp.Substring(this=exp.MD5(this=text), start=exp.Literal.number(1),
                           length=exp.Literal.number(HEX_DIGITS))
    return exp.Mod(this=exp.Paren(this=HEX_TO_INT[dialect](prefix)), expression=exp.Literal.number(BUCKETS))


def split_case(b: exp.Expression, fractions: SplitFractions) -> exp.Expression:
    """``CASE WHEN b < T1 THEN 'train' WHEN b < T2 THEN 'validation' ELSE 'test' END``.

    ``b`` should be a column holding :func:`bucket_sql`, so the hash is computed once per row.
    """
    t1, t2 = thresholds(fractions)
    return (
        exp.Case()
        .when(exp.LT(this=b, expression=exp.Literal.number(t1)), exp.Literal.string(SPLITS[0]))
        .when(exp.LT(this=b.copy(), expression=exp.Literal.number(t2)), exp.Literal.string(SPLITS[1]))
        .else_(exp.Literal.string(SPLITS[2]))
    )
