"""SQL built once as sqlglot expressions and emitted for ``bigquery``, ``snowflake`` and ``duckdb``.

Every identifier is an ``exp.Identifier(quoted=True)``; user text only ever becomes a quoted identifier or
a string literal, never SQL to parse. Aliases the builder needs internally are generated (``kwp_t3``), so
they never collide with user names. The queries:

1. :func:`profile_query` — row count and non-NULL counts of the source (validation before any write).
2. :func:`split_table_query` — CTAS of the needed columns plus ``__kwp_split`` (see ``split.py``).
3. :func:`stats_query` — ONE statement fitting every statistic on the training split (see
   :func:`parse_stats_rows` for its result shape).
4. :func:`transform_query` — CTAS of one split with the fitted statistics inlined as literals; the
   per-feature semantics are those of ``stats.apply`` (documented in ``stats.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from components.preprocess import split as splitting
from components.preprocess.engines.base import TableRef
from components.preprocess.spec import SPLITS, ColumnSpec, PreprocessSpec

DIALECTS = ("bigquery", "snowflake", "duckdb")
SPLIT_COLUMN = "__kwp_split"
_BUCKET = "kwp_bucket"


class UnsafeIdentifierError(ValueError):
    """An identifier cannot be written safely in the target dialect."""


# --- building blocks ------------------------------------------------------------------------------


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


def _case(whens: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression) -> exp.Case:
    case = exp.Case()
    for cond, value in whens:
        case = case.when(cond, value)
    return case.else_(default)


def _cte(name: str) -> exp.Table:
    """A builder-generated CTE name (never user text)."""
    return exp.Table(this=exp.to_identifier(name))


# --- 1. profile and 2. split table ---------------------------------------------------------------


def profile_query(spec: PreprocessSpec, source: TableRef) -> exp.Select:
    """``kwp_rows`` plus ``kwp_nn<i>``: non-NULL counts of ``[key, label, *features]`` in that order."""
    names = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    projections = [exp.Count(this=exp.Star()).as_("kwp_rows")]
    projections += [exp.Count(this=col(n)).as_(f"kwp_nn{i}") for i, n in enumerate(names)]
    return exp.select(*projections).from_(table(source))


def split_table_query(spec: PreprocessSpec, source: TableRef, dest: TableRef, dialect: str,
                      replace: bool = False, temporary: bool = False) -> exp.Create:
    """CTAS ``dest`` with key, label, feature columns and ``__kwp_split``; the hash is computed once."""
    names = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    inner = exp.select(*(col(n) for n in names),
                       splitting.bucket_sql(col(spec.key_column), spec.salt, dialect).as_(_BUCKET))
    inner = inner.from_(table(source))
    outer = exp.select(*(col(n) for n in names),
                       splitting.split_case(exp.column(_BUCKET), spec.split).as_(ident(SPLIT_COLUMN)))
    outer = outer.from_(inner.subquery("kwp_src"))
    return _ctas(dest, outer, replace, temporary)


def _ctas(dest: TableRef, query: exp.Expression, replace: bool, temporary: bool = False) -> exp.Create:
    props = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    return exp.Create(this=table(dest), kind="TABLE", replace=replace, expression=query, properties=props)


def _split_rows(split_table: TableRef, split: str) -> exp.Select:
    cond = exp.EQ(this=col(SPLIT_COLUMN), expression=string(split))
    return exp.select(exp.Star()).from_(table(split_table)).where(cond)


# --- 3. statistics -------------------------------------------------------------------------------
#
# Result rows share one shape: kwp_kind, kwp_column, kwp_value, kwp_count, kwp_rank, then the
# aggregate columns stat_alias(i, name) as DOUBLE. One 'aggregate' row carries every scalar statistic;
# each categorical column adds its top-k 'vocab' rows (value, count, rank).

_SHAPE = ("kwp_kind", "kwp_column", "kwp_value", "kwp_count", "kwp_rank")
#: Builds the training rows as a new aliased subquery each time it is called.
Rel = Callable[[], exp.Expression]


def stat_alias(index: int, name: str) -> str:
    return f"kwp_c{index}_{name}"


def _raw_numeric(c: ColumnSpec) -> exp.Expression:
    return as_double(col(c.name))


def _impute_needs_fit(c: ColumnSpec) -> bool:
    return c.impute is not None and c.impute.strategy != "constant"


def clip_sql(e: exp.Expression, low: float | None, high: float | None) -> exp.Expression:
    """CASE keeps NULL as NULL on every engine (GREATEST/LEAST differ on NULLs)."""
    whens = []
    if low is not None:
        whens.append((exp.LT(this=e.copy(), expression=num(low)), num(low)))
    if high is not None:
        whens.append((exp.GT(this=e.copy(), expression=num(high)), num(high)))
    return _case(whens, e.copy())


def log1p_sql(e: exp.Expression) -> exp.Expression:
    """Signed log1p: ``ln(1 + x)`` for x >= 0, ``-ln(1 - x)`` below 0 (never NaN)."""
    one = num(1.0)
    neg = exp.Neg(this=exp.Ln(this=exp.Sub(this=one.copy(), expression=e.copy())))
    pos = exp.Ln(this=exp.Add(this=one, expression=e.copy()))
    return _case([(exp.LT(this=e.copy(), expression=num(0.0)), neg)], pos)


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
    """Exact median (mean of the middle two) with ROW_NUMBER: BigQuery has no MEDIAN aggregate."""
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
        return _split_rows(split_table, SPLITS[0]).subquery("kwp_train")

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
    parts: list[exp.Select] = [exp.select(*head, *aggs).from_(_cte("kwp_filled"))]
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


# --- 4. transform ---------------------------------------------------------------------------------


def feature_sql(column_stats: Mapping[str, Any]) -> list[exp.Expression]:
    """Output expressions (aliased) of one column, following its fitted ``steps`` (see stats.py)."""
    name = column_stats["name"]
    steps = {s["op"]: s for s in column_stats["steps"]}
    outputs = column_stats["outputs"]
    if column_stats["kind"] == "categorical":
        return _categorical_sql(name, steps, outputs)
    e = as_double(col(name))
    if "impute" in steps:
        e = exp.Coalesce(this=e, expressions=[num(steps["impute"]["value"])])
    if "clip" in steps:
        e = clip_sql(e, steps["clip"]["low"], steps["clip"]["high"])
    if "log1p" in steps:
        e = log1p_sql(e)
    if "standardize" in steps:
        e = _scaled(e, steps["standardize"]["mean"], steps["standardize"]["std"])
    if "minmax" in steps:
        mm = steps["minmax"]
        e = _scaled(e, mm["min"], mm["max"] - mm["min"])
    return [as_double(e).as_(ident(outputs[0]))]


def _scaled(e: exp.Expression, offset: float, scale: float) -> exp.Expression:
    """``(e - offset) / scale``; a zero scale gives 0 (NULL stays NULL), never NaN or infinity."""
    if scale == 0:
        return _case([(exp.Is(this=e.copy(), expression=exp.Null()), exp.Null())], num(0.0))
    return exp.Div(this=exp.Paren(this=exp.Sub(this=e, expression=num(offset))), expression=num(scale))


def _categorical_sql(name: str, steps: Mapping[str, Any], outputs: Sequence[str]) -> list[exp.Expression]:
    v = as_text(col(name))
    if "impute" in steps:
        v = exp.Coalesce(this=v, expressions=[string(steps["impute"]["value"])])
    one, zero = num(1.0), num(0.0)
    if "vocab_index" in steps:
        vocab = steps["vocab_index"]["vocabulary"]
        whens = [(exp.EQ(this=v.copy(), expression=string(t)), num(j)) for j, t in enumerate(vocab)]
        return [_case(whens, num(steps["vocab_index"]["oov_index"])).as_(ident(outputs[0]))]
    vocab = steps["one_hot"]["vocabulary"]
    out = [_case([(exp.EQ(this=v.copy(), expression=string(t)), one.copy())], zero.copy()).as_(ident(o))
           for t, o in zip(vocab, outputs, strict=False)]
    if vocab:
        seen = exp.In(this=v.copy(), expressions=[string(t) for t in vocab])
        out.append(_case([(seen, zero.copy())], one.copy()).as_(ident(outputs[-1])))
    else:
        out.append(one.copy().as_(ident(outputs[-1])))
    return out


def transform_query(stats: Mapping[str, Any], split_table: TableRef, dest: TableRef, split: str,
                    replace: bool = False) -> exp.Create:
    """CTAS of one split: key, label (as they are), then every feature column as DOUBLE in order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    projections: list[exp.Expression] = [col(stats["key_column"]), col(stats["label_column"])]
    for column_stats in stats["columns"]:
        projections += feature_sql(column_stats)
    cond = exp.EQ(this=col(SPLIT_COLUMN), expression=string(split))
    return _ctas(dest, exp.select(*projections).from_(table(split_table)).where(cond), replace)


def drop_query(ref: TableRef) -> exp.Drop:
    return exp.Drop(tables=[table(ref)], kind="TABLE", exists=True)


def output_tables(spec: PreprocessSpec, qualify: Any) -> dict[str, TableRef]:
    """Destination tables: ``<prefix>_split`` and ``<prefix>_<split>``, completed by ``qualify``."""
    return {name: qualify(f"{spec.prefix}_{name}") for name in ("split", *SPLITS)}


__all__ = [
    "DIALECTS", "SPLIT_COLUMN", "UnsafeIdentifierError", "categorical_value_sql", "clip_sql", "col",
    "drop_query", "feature_sql", "ident", "log1p_sql", "num", "output_tables", "parse_stats_rows",
    "pre_scale_sql", "profile_query", "render", "split_table_query", "stat_alias", "stats_query", "table",
    "transform_query",
]
