"""Building blocks of kwp's SQL: quoted identifiers, exact literals, rendering per dialect.

User text only ever becomes an ``exp.Identifier(quoted=True)`` or a string literal through these helpers;
nothing here parses SQL text. Aliases the builders need are generated (``kwp_t3``) so they never collide
with user names.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from components.preprocess import split as splitting
from components.preprocess.engines.base import TableRef

DIALECTS = ("bigquery", "snowflake", "duckdb")
SPLIT_COLUMN = "__kwp_split"


class UnsafeIdentifierError(ValueError):
    """An identifier cannot be written safely in the target dialect."""


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str) -> exp.Column:
    return exp.Column(this=ident(name))


def table(ref: TableRef) -> exp.Table:
    return exp.Table(
        this=ident(ref.name),
        db=ident(ref.schema) if ref.schema else None,
        catalog=ident(ref.catalog) if ref.catalog else None,
    )


def num(value: float) -> exp.Expression:
    """A DOUBLE literal that parses back to exactly ``value`` (``repr`` is the shortest exact form)."""
    return exp.cast(exp.Literal.number(repr(float(value))), "DOUBLE")


def string(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def as_double(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, "DOUBLE")


def as_text(e: exp.Expression) -> exp.Expression:
    return splitting.key_text_sql(e)


def render(expression: exp.Expression, dialect: str, pretty: bool = True) -> str:
    """SQL text for ``dialect``; refuses identifiers the dialect cannot quote safely."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; valid: {', '.join(DIALECTS)}")
    if dialect == "bigquery":
        # BigQuery escapes inside `...` with backslashes and allows no backtick in names at all.
        for node in expression.find_all(exp.Identifier):
            if any(ch in node.name for ch in "`\\\n\r"):
                raise UnsafeIdentifierError(
                    f"identifier {node.name!r} contains a backtick, backslash or newline, which BigQuery "
                    "names cannot contain; rename it in a view first"
                )
    return expression.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)


def case(whens: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression) -> exp.Case:
    out = exp.Case()
    for cond, value in whens:
        out = out.when(cond, value)
    return out.else_(default)


def cte(name: str) -> exp.Table:
    """A builder-generated CTE name (never user text)."""
    return exp.Table(this=exp.to_identifier(name))



def clip_sql(e: exp.Expression, low: float | None, high: float | None) -> exp.Expression:
    """CASE keeps NULL as NULL on every engine (GREATEST/LEAST differ on NULLs)."""
    whens = []
    if low is not None:
        whens.append((exp.LT(this=e.copy(), expression=num(low)), num(low)))
    if high is not None:
        whens.append((exp.GT(this=e.copy(), expression=num(high)), num(high)))
    return case(whens, e.copy())


def log1p_sql(e: exp.Expression) -> exp.Expression:
    """Signed log1p: ``ln(1 + x)`` for x >= 0, ``-ln(1 - x)`` below 0 (never NaN)."""
    one = num(1.0)
    neg = exp.Neg(this=exp.Ln(this=exp.Sub(this=one.copy(), expression=e.copy())))
    pos = exp.Ln(this=exp.Add(this=one, expression=e.copy()))
    return case([(exp.LT(this=e.copy(), expression=num(0.0)), neg)], pos)


def ctas(dest: TableRef, query: exp.Expression, replace: bool) -> exp.Create:
    return exp.Create(this=table(dest), kind="TABLE", replace=replace, expression=query)


def split_rows(split_table: TableRef, split: str) -> exp.Select:
    cond = exp.EQ(this=col(SPLIT_COLUMN), expression=string(split))
    return exp.select(exp.Star()).from_(table(split_table)).where(cond)
