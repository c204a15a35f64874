"""Hostile identifiers run END TO END on every warehouse: quoted, never executed, results unchanged.

Each engine gets the hostile names its real service accepts (Snowflake quotes anything, including ``"``
and ``;``; BigQuery's flexible column names allow spaces, ``'``, ``-``, ``<>``, ``#``, ``|``, ``=``, ``%``,
``&``, ``+``, ``:`` but no ``"``, ``;`` or backtick, and its table names only letters, digits, ``_``,
``-`` and spaces). The same table and spec run through ``run_preprocess`` on the engine and on DuckDB
(which accepts every name); then:

- the source table and a ``canary`` table survive, and the warehouse holds exactly the tables it held
  before plus the four destination tables (nothing else created, nothing dropped);
- statistics and every feature value equal the DuckDB run to 1e-9, split membership is identical, and
  both equal ``split.assign_split`` and ``stats.apply`` of the source rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from components.preprocess import split, sql, sqlbuild, stats
from components.preprocess.engines import connect
from components.preprocess.engines.base import Engine
from components.preprocess.engines.bigquery import BigQueryEngine
from components.preprocess.engines.duckdb import DuckDBEngine
from components.preprocess.run import run_preprocess
from components.preprocess.spec import SPLITS, ColumnSpec, PreprocessSpec, SplitFractions, Transform
from components.preprocess.sqlbuild import UnsafeIdentifierError

ROWS = 48
TOLERANCE = 1e-9
SALT = "hostile"


@dataclass(frozen=True)
class Names:
    """The identifiers of one hostile run."""

    source: str
    key: str
    numeric: str  # median impute + standardize
    clipped: str  # clip + min-max
    category: str  # most-frequent impute + one-hot
    passthrough: str
    prefix: str


SNOWFLAKE = Names(
    source='src"; DROP TABLE "canary"; --',
    key='key"; --',
    numeric="select",
    clipped='a;b "c"',
    category='cat`q`; "drop"',
    passthrough="x' FROM \"canary\"; --",
    prefix='out"; drop table "canary"; --',
)
BIGQUERY = Names(
    source="select",
    key="key -- x",
    numeric="select",
    clipped="a'b -- c",
    category="city's <name> #1",
    passthrough="x = 1 | y & z % 2 : +",
    prefix="from--drop-table-canary",
)
ENGINES = {"bigquery": BIGQUERY, "snowflake-server": SNOWFLAKE, "snowflake-patch": SNOWFLAKE}


def hostile_table(names: Names, rows: int = ROWS) -> pa.Table:
    """Integer keys, NULLs in the imputed columns, a category value that is itself SQL."""
    categories = ["'; drop table canary; --", "select", "plain", 'say "hi"']
    return pa.table(
        {
            names.key: pa.array(range(-5, rows - 5), pa.int64()),
            "label": [i % 3 for i in range(rows)],
            names.numeric: [None if i % 7 == 0 else (i * 37 % 11) - 4.5 for i in range(rows)],
            names.clipped: [((i * 13) % 17) / 4.0 - 2.0 for i in range(rows)],
            names.category: [None if i % 9 == 0 else categories[i * 5 % 4] for i in range(rows)],
            names.passthrough: [float(i % 5) for i in range(rows)],
        }
    )


def hostile_spec(names: Names) -> PreprocessSpec:
    t = Transform
    columns = (
        ColumnSpec(names.numeric, (t("impute", strategy="median"), t("standardize"))),
        ColumnSpec(names.clipped, (t("clip", low=-1.0, high=1.5), t("minmax"))),
        ColumnSpec(names.category, (t("impute", strategy="most_frequent"), t("one_hot", top_k=2))),
    )
    return PreprocessSpec(
        source_table=names.source,
        key_column=names.key,
        label_column="label",
        columns=columns,
        passthrough=(names.passthrough,),
        split=SplitFractions(0.5, 0.25, 0.25),
        destination_prefix=names.prefix,
        salt=SALT,
    )


# --- listing what a warehouse holds --------------------------------------------------------------------


def table_names(engine: Engine) -> set[str]:
    """Every table in the engine's default dataset/schema, read from the warehouse's own catalogue."""
    if engine.dialect == "bigquery":
        return {t.table_id for t in engine.client.list_tables(f"{engine.project}.{engine.dataset}")}
    if engine.dialect == "snowflake":
        where = exp.column("TABLE_SCHEMA", quoted=True).eq(exp.Literal.string(engine.schema))
        source = exp.table_("TABLES", db="INFORMATION_SCHEMA", catalog=engine.database, quoted=True)
        query = exp.select(exp.column("TABLE_NAME", quoted=True)).from_(source).where(where)
        return {row["TABLE_NAME"] for row in engine.fetch_rows(query.sql("snowflake"))}
    rows = engine.fetch_rows("SELECT table_name FROM information_schema.tables")
    return {row["table_name"] for row in rows}


# --- running and comparing ----------------------------------------------------------------------------


def run_hostile(engine: Engine, names: Names, outputs: Path) -> tuple[dict[str, Any], dict[str, dict]]:
    """Seed source + canary, run, check nothing but the destinations appeared; stats and rows by key."""
    engine.load_arrow(engine.qualify("canary"), pa.table({"alive": [1]}))
    engine.load_arrow(engine.qualify(names.source), hostile_table(names))
    before = table_names(engine)
    result = run_preprocess(hostile_spec(names), engine, str(outputs))
    destinations = {f"{names.prefix}_{s}" for s in (*SPLITS, "split")}
    assert table_names(engine) == before | destinations, "only the destination tables may appear"
    assert {"canary", names.source} <= before
    canary_query = exp.select(exp.Star()).from_(sqlbuild.table(engine.qualify("canary")))
    canary = engine.fetch_rows(sqlbuild.render(canary_query, engine.dialect))
    assert [row.get("alive", row.get("ALIVE")) for row in canary] == [1]
    rows = {
        s: {r[names.key]: r for r in pq.read_table(outputs / f"{s}.parquet").to_pylist()} for s in SPLITS
    }
    return result.stats, rows


def rounded(value: Any) -> Any:
    """Floats to 12 significant digits (1e-9 relative and then some), recursively; the warehouse's
    own type names (``INT64`` vs ``BIGINT`` vs ``NUMBER``) left out."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items() if k != "source_type"}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        return float(f"{value:.12g}") if math.isfinite(value) else value
    return value


def assert_close(got: list[Any], want: list[Any], where: str) -> None:
    assert len(got) == len(want), where
    for g, w in zip(got, want, strict=True):
        if isinstance(w, float):
            assert g is not None and math.isclose(g, w, rel_tol=TOLERANCE, abs_tol=TOLERANCE), where
        else:
            assert g == w, f"{where}: {g!r} vs {w!r}"


@pytest.fixture(params=list(ENGINES))
def hostile_engine(request: pytest.FixtureRequest) -> tuple[Engine, Names]:
    """Each cloud engine, empty, built from its URL, with the hostile names it accepts."""
    if request.param == "bigquery":
        # Storage Read, the production default (the contract run covers REST pages): flexible column
        # names must survive the Arrow stream too.
        engine = request.getfixturevalue("bigquery_engine")
    else:
        engine = request.getfixturevalue("snowflake_engines")(request.param.removeprefix("snowflake-"))
    return engine, ENGINES[request.param]


def test_hostile_names_run_end_to_end_and_match_duckdb_and_python(hostile_engine, tmp_path: Path) -> None:
    engine, names = hostile_engine
    fitted, rows = run_hostile(engine, names, tmp_path / "engine")
    with DuckDBEngine(":memory:", threads=1, memory_limit="256MB") as duck:
        want_stats, want_rows = run_hostile(duck, names, tmp_path / "duckdb")

    assert rounded(fitted) == rounded(want_stats)
    one_hot = next(c for c in fitted["columns"] if c["name"] == names.category)
    assert one_hot["outputs"] == [f"{names.category}__0", f"{names.category}__1", f"{names.category}__oov"]
    assert fitted["feature_columns"] == [names.numeric, names.clipped, *one_hot["outputs"], names.passthrough]

    source = {r[names.key]: r for r in hostile_table(names).to_pylist()}
    assert sum(len(rows[s]) for s in SPLITS) == ROWS
    for name in SPLITS:
        assert rows[name], f"{name} is empty: the test would prove less"
        assert rows[name].keys() == want_rows[name].keys(), f"{name} membership differs from DuckDB"
        assert {split.assign_split(k, SALT, hostile_spec(names).split) for k in rows[name]} == {name}
        keys = sorted(rows[name])
        for key, vector in zip(keys, stats.apply(fitted, (source[k] for k in keys)), strict=True):
            got = [rows[name][key][c] for c in fitted["feature_columns"]]
            assert_close(got, [float(v) for v in vector], f"{name}[{key}] vs stats.apply")
            want = [want_rows[name][key][c] for c in fitted["feature_columns"]]
            assert_close(got, want, f"{name}[{key}] vs DuckDB")
            assert rows[name][key]["label"] == source[key]["label"]


def test_a_prefix_bigquery_cannot_name_is_refused_before_anything_is_written(
    bq_emulator, bq_dataset: str, tmp_path: Path
) -> None:
    engine = connect(bq_emulator.url(bq_dataset, storage_api=False))
    try:
        engine.load_arrow(engine.qualify(BIGQUERY.source), hostile_table(BIGQUERY))
        before = table_names(engine)
        spec = PreprocessSpec.from_dict({**hostile_spec(BIGQUERY).to_dict(), "destination_prefix": "out`x"})
        with pytest.raises(UnsafeIdentifierError, match=r"'out`x_split' contains a backtick"):
            run_preprocess(spec, engine, str(tmp_path))
        assert table_names(engine) == before
        assert not any(tmp_path.iterdir())
    finally:
        engine.close()


@pytest.mark.parametrize("name", ["select from", "out -- drop table canary", "events 2024-01"])
def test_bigquery_table_names_with_spaces_render_as_one_quoted_name(name: str) -> None:
    """Real BigQuery allows spaces in table names; bqemulator refuses them (ids are [A-Za-z0-9_-]), so
    this checks offline that every statement names exactly the intended tables."""
    engine = BigQueryEngine("kwp-test", "ds")
    spec = PreprocessSpec.from_dict({**hostile_spec(BIGQUERY).to_dict(), "source_table": name,
                                     "destination_prefix": name})
    source, tables = engine.qualify(name), sql.output_tables(spec, engine.qualify)
    statements = [
        sql.split_table_query(spec, source, tables["split"], "bigquery"),
        sql.stats_query(spec, tables["split"]),
        sql.drop_query(tables["train"]),
    ]
    expected = [{name, f"{name}_split"}, {f"{name}_split"}, {f"{name}_train"}]
    for statement, names in zip(statements, expected, strict=True):
        parsed = sqlglot.parse(sql.render(statement, "bigquery"), read="bigquery")
        assert len(parsed) == 1
        assert {t.name for t in parsed[0].find_all(exp.Table) if t.db} == names
