"""The statistics query: every fitted value, on the training split only, in ONE statement.

Result rows share one shape: ``kwp_kind, kwp_column, kwp_value, kwp_count, kwp_rank`` then the aggregate
columns ``stat_alias(i, name)`` as DOUBLE. One ``'aggregate'`` row carries every scalar statistic; each
categorical column adds its top-k ``'vocab'`` rows (value, count, rank). :func:`parse_stats_rows` reads
them back. Impute values are fitted first (a one-row subquery), so the scaler statistics see the imputed
values, as in a scikit-learn imputer → scaler pipeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlglot import exp

from components.preprocess.engines.base import TableRef
from components.preprocess.spec import SPLITS, ColumnSpec, PreprocessSpec
from components.preprocess.sqlbuild import (
    as_double,
    as_text,
    clip_sql,
    col,
    cte,
    log1p_sql,
    num,
    split_rows,
    string,
)

_SHAPE = ("kwp_kind", "kwp_column", "kwp_value", "kwp_count", "kwp_rank")
#: Builds the training rows as a new aliased subquery each time it is called.
Rel = Callable[[], exp.Expression]


def stat_alias(index: int, name: str) -> str:
    return f"kwp_c{index}_{name}"


def _raw_numeric(c: ColumnSpec) -> exp.Expression:
    return as_double(col(c.name))


def _impute_needs_fit(c: ColumnSpec) -> bool:
    return c.impute is not None and c.impute.strategy != "constant"


def pre_scale_sql(c: ColumnSpec, impute_value: exp.Expression | None) -> exp.Expression:
    """impute → clip → log1p of a numeric column, as DOUBLE (the input of standardize/minmax)."""
    e = _raw_numeric(c)
    if c.impute is not None and impute_value is not None:
        e = exp.Coalesce(this=e, expressions=[impute_value])
    clip = c.get("clip")
    if clip is not None:
        e = clip_sql(e, clip.low, clip.high)
    if c.get("log1p") is not None:
        e = log1p_sql(e)
    return e


def _median_sql(train: Rel, c: ColumnSpec) -> exp.Expression:
    """Exact median (mean of the middle two) with ROW_NUMBER: BigQuery has no MEDIAN aggregate.

    Scaling limit: one un-partitioned window sorts the whole training column (on BigQuery in a single
    worker), accepted so every engine gives the identical exact median (docs/warehouses.md).
    """
    v = _raw_numeric(c)
    ranked = exp.select(
        v.as_("kwp_v"),
        exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=v.copy())]))
        .as_("kwp_rn"),
        exp.Window(this=exp.Count(this=exp.Star())).as_("kwp_n"),
    ).from_(train()).where(exp.Not(this=exp.Is(this=col(c.name), expression=exp.Null())))
    rn2 = exp.Mul(this=exp.column("kwp_rn"), expression=exp.Literal.number(2))
    n = exp.column("kwp_n")
    window = exp.Between(this=rn2, low=n, high=exp.Add(this=n.copy(), expression=exp.Literal.number(2)))
    middle = exp.select(exp.Avg(this=exp.column("kwp_v"))).from_(ranked.subquery("kwp_m")).where(window)
    return middle.subquery()


def _top_values(train: Rel, value: exp.Expression, not_null: exp.Expression | None) -> exp.Select:
    """Distinct values with counts and rank (count desc, value asc)."""
    grouped = exp.select(value.as_("kwp_v"), exp.Count(this=exp.Star()).as_("kwp_n")).from_(train())
    if not_null is not None:
        grouped = grouped.where(not_null)
    grouped = grouped.group_by(value.copy())
    order = exp.Order(expressions=[exp.Ordered(this=exp.column("kwp_n"), desc=True),
                                   exp.Ordered(this=exp.column("kwp_v"))])
    rank = exp.Window(this=exp.RowNumber(), order=order)
    ranked = exp.select(exp.column("kwp_v"), exp.column("kwp_n"), rank.as_("kwp_rank"))
    return ranked.from_(grouped.subquery("kwp_g"))


def _mode_sql(train: Rel, c: ColumnSpec) -> exp.Expression:
    not_null = exp.Not(this=exp.Is(this=col(c.name), expression=exp.Null()))
    ranked = _top_values(train, _raw_numeric(c), not_null)
    first = exp.EQ(this=exp.column("kwp_rank"), expression=exp.Literal.number(1))
    return exp.select(exp.column("kwp_v")).from_(ranked.subquery("kwp_r")).where(first).subquery()


def _aggregates(spec: PreprocessSpec, train: Rel) -> tuple[list[exp.Expression], list[exp.Expression],
                                                          list[exp.Expression]]:
    """(impute-value projections, filled-row projections, final aggregate projections)."""
    imputes: list[exp.Expression] = []
    filled: list[exp.Expression] = []
    aggs: list[exp.Expression] = [as_double(exp.Count(this=exp.Star())).as_("kwp_rows")]
    for i, c in enumerate(spec.feature_specs):
        filled.append(col(c.name).as_(f"kwp_r{i}"))
        aggs.append(as_double(exp.Count(this=exp.column(f"kwp_r{i}"))).as_(stat_alias(i, "nonnull")))
        if c.is_categorical:
            continue
        impute_value = None
        if _impute_needs_fit(c):
            builder = {"mean": lambda c: exp.Avg(this=_raw_numeric(c)),
                       "median": lambda c: _median_sql(train, c),
                       "most_frequent": lambda c: _mode_sql(train, c)}[c.impute.strategy]
            imputes.append(as_double(builder(c)).as_(f"kwp_i{i}"))
            filled.append(exp.column(f"kwp_i{i}", table="kwp_imp").as_(f"kwp_fi{i}"))
            aggs.append(exp.Min(this=exp.column(f"kwp_fi{i}")).as_(stat_alias(i, "impute")))
            impute_value = exp.column(f"kwp_i{i}", table="kwp_imp")
        elif c.impute is not None:
            impute_value = num(c.impute.value)
        filled.append(pre_scale_sql(c, impute_value).as_(f"kwp_t{i}"))
        t = exp.column(f"kwp_t{i}")
        if c.get("standardize") is not None:
            aggs.append(as_double(exp.Avg(this=t)).as_(stat_alias(i, "mean")))
            aggs.append(as_double(exp.StddevSamp(this=t.copy())).as_(stat_alias(i, "std")))
        if c.get("minmax") is not None:
            aggs.append(as_double(exp.Min(this=t.copy())).as_(stat_alias(i, "min")))
            aggs.append(as_double(exp.Max(this=t.copy())).as_(stat_alias(i, "max")))
    return imputes, filled, aggs


def _null_shape(aggs: Sequence[exp.Expression]) -> list[exp.Expression]:
    return [exp.cast(exp.Null(), "DOUBLE").as_(a.alias) for a in aggs]


def stats_query(spec: PreprocessSpec, split_table: TableRef) -> exp.Expression:
    """The statistics of every feature column, fitted on the training split only, in one statement."""
    def train() -> exp.Expression:
        # A fresh subquery per use, not a CTE: DuckDB would materialize a CTE used several times
        # (the whole training split, spilled to disk), and BigQuery re-runs a CTE per reference anyway.
        return split_rows(split_table, SPLITS[0]).subquery("kwp_train")

    imputes, filled, aggs = _aggregates(spec, train)
    filled_q = exp.select(*filled).from_(train())
    if imputes:
        # COUNT(*) makes this an aggregate query: exactly one row even when every impute is a subquery.
        count = exp.Count(this=exp.Star()).as_("kwp_imp_rows")
        imp = exp.select(*imputes, count).from_(train()).subquery("kwp_imp")
        filled_q = filled_q.join(imp, join_type="CROSS")
    head = [string("aggregate").as_("kwp_kind"), exp.cast(exp.Null(), "BIGINT").as_("kwp_column"),
            exp.cast(exp.Null(), "VARCHAR").as_("kwp_value"), exp.cast(exp.Null(), "BIGINT").as_("kwp_count"),
            exp.cast(exp.Null(), "BIGINT").as_("kwp_rank")]
    parts: list[exp.Select] = [exp.select(*head, *aggs).from_(cte("kwp_filled"))]
    for i, c in enumerate(spec.feature_specs):
        if c.is_categorical:
            parts.append(_vocab_part(i, c, aggs, train))
    query: exp.Expression = functools.reduce(lambda a, b: exp.union(a, b, distinct=False), parts)
    query = exp.select(exp.Star()).from_(query.subquery("kwp_stats"))
    return query.with_("kwp_filled", as_=filled_q)


def categorical_value_sql(c: ColumnSpec) -> exp.Expression:
    """The text of a categorical value, with a constant imputation applied (most_frequent is a literal)."""
    v = as_text(col(c.name))
    if c.impute is not None and c.impute.strategy == "constant":
        v = exp.Coalesce(this=v, expressions=[string(c.impute.value)])
    return v


def _vocab_part(i: int, c: ColumnSpec, aggs: Sequence[exp.Expression], train: Rel) -> exp.Select:
    constant = c.impute is not None and c.impute.strategy == "constant"
    not_null = None if constant else exp.Not(this=exp.Is(this=col(c.name), expression=exp.Null()))
    ranked = _top_values(train, categorical_value_sql(c), not_null)
    keep = exp.LTE(this=exp.column("kwp_rank"), expression=exp.Literal.number(c.encoding.top_k))
    return exp.select(
        string("vocab").as_("kwp_kind"), exp.cast(exp.Literal.number(i), "BIGINT").as_("kwp_column"),
        exp.cast(exp.column("kwp_v"), "VARCHAR").as_("kwp_value"),
        exp.cast(exp.column("kwp_n"), "BIGINT").as_("kwp_count"),
        exp.cast(exp.column("kwp_rank"), "BIGINT").as_("kwp_rank"), *_null_shape(aggs),
    ).from_(ranked.subquery(f"kwp_v{i}")).where(keep)


def parse_stats_rows(spec: PreprocessSpec, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The result of :func:`stats_query` as ``{"aggregate": {alias: value}, "vocab": {i: [(v, n)]}}``."""
    aggregate: dict[str, Any] = {}
    vocab: dict[int, list[tuple[int, str, int]]] = {}
    for row in rows:
        row = {str(k).lower(): v for k, v in row.items()}  # Snowflake upper-cases unquoted aliases
        if row["kwp_kind"] == "aggregate":
            aggregate = {k: v for k, v in row.items() if k not in _SHAPE}
        else:
            vocab.setdefault(int(row["kwp_column"]), []).append(
                (int(row["kwp_rank"]), row["kwp_value"], int(row["kwp_count"])))
    ordered = {i: [(v, n) for _, v, n in sorted(entries)] for i, entries in vocab.items()}
    return {"aggregate": aggregate, "vocab": ordered}
