"""SQL built once as sqlglot expressions and emitted for ``bigquery``, ``snowflake`` and ``duckdb``.

Every identifier is an ``exp.Identifier(quoted=True)``; user text only ever becomes a quoted identifier or
a string literal, never SQL to parse (building blocks in ``sqlbuild.py``). The queries:

1. :func:`profile_query` — row count and non-NULL counts of the source (validation before any write).
2. :func:`split_table_query` — CTAS of the needed columns plus ``__kwp_split`` (see ``split.py``).
3. :func:`stats_query` — ONE statement fitting every statistic on the training split (``fit_sql.py``).
4. :func:`transform_query` — CTAS of one split with the fitted statistics inlined as literals; the
   per-feature semantics are those of ``stats.apply`` (documented in ``stats.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from components.preprocess import split as splitting
from components.preprocess.engines.base import TableRef
from components.preprocess.fit_sql import categorical_value_sql, parse_stats_rows, stat_alias, stats_query
from components.preprocess.spec import SPLITS, PreprocessSpec
from components.preprocess.sqlbuild import (
    DIALECTS,
    SPLIT_COLUMN,
    UnsafeIdentifierError,
    as_double,
    as_text,
    case,
    clip_sql,
    col,
    ctas,
    ident,
    log1p_sql,
    num,
    render,
    string,
    table,
)

_BUCKET = "kwp_bucket"


# --- 1. profile and 2. split table ---------------------------------------------------------------


def profile_query(spec: PreprocessSpec, source: TableRef) -> exp.Select:
    """``kwp_rows`` plus ``kwp_nn<i>``: non-NULL counts of ``[key, label, *features]`` in that order."""
    names = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    projections = [exp.Count(this=exp.Star()).as_("kwp_rows")]
    projections += [exp.Count(this=col(n)).as_(f"kwp_nn{i}") for i, n in enumerate(names)]
    return exp.select(*projections).from_(table(source))


def split_table_query(spec: PreprocessSpec, source: TableRef, dest: TableRef, dialect: str,
                      replace: bool = False) -> exp.Create:
    """CTAS ``dest`` with key, label, feature columns and ``__kwp_split``; the hash is computed once."""
    names = [spec.key_column, spec.label_column, *(c.name for c in spec.feature_specs)]
    inner = exp.select(*(col(n) for n in names),
                       splitting.bucket_sql(col(spec.key_column), spec.salt, dialect).as_(_BUCKET))
    inner = inner.from_(table(source))
    outer = exp.select(*(col(n) for n in names),
                       splitting.split_case(exp.column(_BUCKET), spec.split).as_(ident(SPLIT_COLUMN)))
    outer = outer.from_(inner.subquery("kwp_src"))
    return ctas(dest, outer, replace)


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
        return case([(exp.Is(this=e.copy(), expression=exp.Null()), exp.Null())], num(0.0))
    return exp.Div(this=exp.Paren(this=exp.Sub(this=e, expression=num(offset))), expression=num(scale))


def _categorical_sql(name: str, steps: Mapping[str, Any], outputs: Sequence[str]) -> list[exp.Expression]:
    v = as_text(col(name))
    if "impute" in steps:
        v = exp.Coalesce(this=v, expressions=[string(steps["impute"]["value"])])
    one, zero = num(1.0), num(0.0)
    if "vocab_index" in steps:
        vocab = steps["vocab_index"]["vocabulary"]
        whens = [(exp.EQ(this=v.copy(), expression=string(t)), num(j)) for j, t in enumerate(vocab)]
        return [case(whens, num(steps["vocab_index"]["oov_index"])).as_(ident(outputs[0]))]
    vocab = steps["one_hot"]["vocabulary"]
    out = [case([(exp.EQ(this=v.copy(), expression=string(t)), one.copy())], zero.copy()).as_(ident(o))
           for t, o in zip(vocab, outputs, strict=False)]
    if vocab:
        seen = exp.In(this=v.copy(), expressions=[string(t) for t in vocab])
        out.append(case([(seen, zero.copy())], one.copy()).as_(ident(outputs[-1])))
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
    return ctas(dest, exp.select(*projections).from_(table(split_table)).where(cond), replace)


def drop_query(ref: TableRef) -> exp.Drop:
    return exp.Drop(tables=[table(ref)], kind="TABLE", exists=True)


def output_tables(spec: PreprocessSpec, qualify: Any) -> dict[str, TableRef]:
    """Destination tables: ``<prefix>_split`` and ``<prefix>_<split>``, completed by ``qualify``."""
    return {name: qualify(f"{spec.prefix}_{name}") for name in ("split", *SPLITS)}


__all__ = [
    "DIALECTS", "SPLIT_COLUMN", "UnsafeIdentifierError", "categorical_value_sql", "clip_sql", "col",
    "drop_query", "feature_sql", "ident", "log1p_sql", "num", "output_tables", "parse_stats_rows",
    "profile_query", "render", "split_table_query", "stat_alias", "stats_query", "table",
    "transform_query",
]
