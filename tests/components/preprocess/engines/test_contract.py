"""One contract for every engine: the same data and spec give the same splits, statistics and features.

Each engine (DuckDB, BigQuery on bqemulator, Snowflake on fakesnow's server through the real connector
and on its in-process patch) is seeded with the same small table and runs the same ``run_preprocess``.
Every result must equal the DuckDB reference (statistics and features to 1e-9, split membership exactly)
and the pure-Python functions (``split.assign_split``, ``stats.apply``) that serving uses.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.preprocess import split, sql, stats
from components.preprocess.engines import connect
from components.preprocess.engines.base import Engine
from components.preprocess.run import run_preprocess
from components.preprocess.spec import SPLITS, ColumnSpec, PreprocessSpec, SplitFractions, Transform

ROWS = 240
#: A column name that would rewrite the statement if it were ever pasted into SQL unquoted; legal in real
#: BigQuery's flexible column names, which refuse ``"`` and ``;`` (``test_hostile_names.py`` runs those end
#: to end where the engine allows them).
HOSTILE = "score' OR '1'='1 --"
TOLERANCE = 1e-9
ENGINES = ("duckdb", "bigquery", "snowflake-server", "snowflake-patch")
INT_KEYS = [0, 1, -1, 7, -42, 10**6, -(10**12), 2**62, 123456789012345]
STRING_KEYS = [
    "",
    "a",
    "A",
    "0",
    "-1",
    "héllo",
    "日本語",
    "emoji 🚀",
    "it's",
    'say "hi"',
    "a;b",
    "select",
    "x\\y",
]


def contract_table(rows: int = ROWS) -> pa.Table:
    """Negative keys, NULLs, skew, a constant, unicode and quote-laden categories, integer features."""
    rng = np.random.default_rng(20261122)
    ids = np.arange(-40, rows - 40, dtype=np.int64)

    def with_nulls(values: np.ndarray, fraction: float) -> pa.Array:
        return pa.array(values, mask=rng.random(rows) < fraction)

    cities = np.array(["Zürich", "Łódź", "São Paulo", "O'Hare", "a;b", "select", "tokyo"], dtype=object)
    return pa.table(
        {
            "id": ids,
            "label": rng.integers(0, 3, rows, dtype=np.int64),
            "amount": with_nulls(rng.lognormal(3.0, 1.0, rows), 0.1),
            HOSTILE: with_nulls(rng.normal(0.0, 5.0, rows), 0.15),
            "delta": rng.normal(0.0, 20.0, rows),
            "visits": with_nulls(rng.integers(0, 5, rows).astype(np.int64), 0.1),
            "constant": np.full(rows, 3.5),
            "ratio": with_nulls(rng.random(rows), 0.2),
            "city": with_nulls(
                cities[rng.choice(len(cities), rows, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05])], 0.1
            ),
            "group": with_nulls(np.array(["phone", "tablet", "tv"], dtype=object)[rng.choice(3, rows)], 0.1),
        }
    )


def contract_spec() -> PreprocessSpec:
    """Every transform kind at least once."""
    t = Transform
    columns = (
        ColumnSpec("amount", (t("impute", strategy="mean"), t("log1p"), t("standardize"))),
        ColumnSpec(HOSTILE, (t("impute", strategy="median"), t("clip", low=-6.0, high=6.0), t("minmax"))),
        ColumnSpec("delta", (t("log1p"), t("standardize"))),
        ColumnSpec("visits", (t("impute", strategy="most_frequent"), t("standardize"))),
        ColumnSpec("constant", (t("standardize"),)),
        ColumnSpec("ratio", (t("impute", strategy="constant", value=0.5),)),
        ColumnSpec("city", (t("impute", strategy="most_frequent"), t("one_hot", top_k=4))),
        ColumnSpec("group", (t("impute", strategy="constant", value="unknown"), t("vocab_index", top_k=2))),
    )
    return PreprocessSpec(
        source_table="events",
        key_column="id",
        label_column="label",
        columns=columns,
        split=SplitFractions(0.6, 0.2, 0.2),
        salt="contract",
    )


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each engine, empty, built the way a user builds it (from its URL; DuckDB in memory)."""
    if request.param == "duckdb":
        return request.getfixturevalue("duck")
    if request.param == "bigquery":
        # REST pages: the emulator's Storage Read path costs ~0.5 s per table (covered in test_bigquery).
        emulator, dataset = request.getfixturevalue("bq_emulator"), request.getfixturevalue("bq_dataset")
        engine = connect(emulator.url(dataset, storage_api=False))
        request.addfinalizer(engine.close)
        return engine
    return request.getfixturevalue("snowflake_engines")(request.param.removeprefix("snowflake-"))


def run_contract(
    engine: Engine, outputs: Path
) -> tuple[dict[str, Any], dict[str, dict[int, dict[str, Any]]]]:
    engine.load_arrow(engine.qualify("events"), contract_table())
    result = run_preprocess(contract_spec(), engine, str(outputs))
    assert engine.table_exists(engine.qualify("events")), "the source table must survive"
    rows = {s: {r["id"]: r for r in pq.read_table(outputs / f"{s}.parquet").to_pylist()} for s in SPLITS}
    return result.stats, rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, dict[int, dict]]]:
    from components.preprocess.engines.duckdb import DuckDBEngine

    with DuckDBEngine(":memory:", threads=1, memory_limit="512MB") as duck:
        return run_contract(duck, tmp_path_factory.mktemp("reference"))


def comparable(fitted: dict[str, Any]) -> dict[str, Any]:
    """The statistics without the warehouse's own type names (``INT64`` vs ``BIGINT`` vs ``NUMBER``)."""
    return {
        **fitted,
        "columns": [{k: v for k, v in c.items() if k != "source_type"} for c in fitted["columns"]],
    }


def assert_close(got: Any, want: Any, where: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert isinstance(got, float | int), f"{where}: {got!r} vs {want!r}"
        assert math.isclose(got, want, rel_tol=TOLERANCE, abs_tol=TOLERANCE), f"{where}: {got!r} vs {want!r}"
    else:
        assert got == want, f"{where}: {got!r} vs {want!r}"


def test_every_engine_matches_the_reference_and_the_pure_python_functions(
    engine: Engine, reference, tmp_path: Path
) -> None:
    fitted, rows = run_contract(engine, tmp_path)
    want_stats, want_rows = reference
    assert_close(comparable(fitted), comparable(want_stats), "stats")
    for name in SPLITS:
        assert rows[name].keys() == want_rows[name].keys(), f"{name} membership differs"
        for key, row in rows[name].items():
            assert_close(row, want_rows[name][key], f"{name}[{key}]")
    assert_matches_pure_python(fitted, rows)


def assert_matches_pure_python(fitted: dict[str, Any], rows: dict[str, dict[int, dict[str, Any]]]) -> None:
    """Split membership is ``split.assign_split``; features are ``stats.apply`` of the source rows."""
    source = {r["id"]: r for r in contract_table().to_pylist()}
    assert sum(len(rows[s]) for s in SPLITS) == ROWS
    for name in SPLITS:
        assert {split.assign_split(k, "contract", contract_spec().split) for k in rows[name]} == {name}
        keys = sorted(rows[name])
        expected = stats.apply(fitted, (source[k] for k in keys))
        for key, vector in zip(keys, expected, strict=True):
            got = [rows[name][key][c] for c in fitted["feature_columns"]]
            assert_close(got, [float(v) for v in vector], f"{name}[{key}]")
            assert rows[name][key]["label"] == source[key]["label"]


@pytest.mark.parametrize(
    ("keys", "arrow_type"), [(INT_KEYS, pa.int64()), (STRING_KEYS, pa.string())], ids=["int", "string"]
)
def test_bucket_function_equals_python_in_every_engine(
    engine: Engine, keys: list, arrow_type: pa.DataType
) -> None:
    engine.load_arrow(engine.qualify("keys"), pa.table({"k": pa.array(keys, arrow_type)}))
    bucket = split.bucket_sql(sql.col("k"), "contract", engine.dialect).as_(sql.ident("b"))
    query = sql.exp.select(sql.col("k"), bucket).from_(sql.table(engine.qualify("keys")))
    got = {row["k"]: int(row["b"]) for row in engine.fetch_rows(sql.render(query, engine.dialect))}
    assert got == {k: split.bucket(k, "contract") for k in keys}
