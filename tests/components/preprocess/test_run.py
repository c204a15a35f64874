from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.preprocess import datasets, split
from components.preprocess.engines.base import TableExistsError, TableNotFoundError, TableRef
from components.preprocess.errors import (
    AllNullColumnError,
    ColumnTypeError,
    EmptySplitError,
    EmptyTableError,
    MissingColumnError,
    NullKeyError,
)
from components.preprocess.outputs import OutputExistsError
from components.preprocess.run import OutputPaths, run_preprocess
from components.preprocess.spec import ColumnSpec, PreprocessSpec, SplitFractions, Transform


def simple_spec(table: str = "t", **kw) -> PreprocessSpec:
    columns = kw.pop("columns", (ColumnSpec("x", (Transform("standardize"),)),))
    return PreprocessSpec(source_table=table, key_column="id", label_column="y", columns=columns, **kw)


def load(duck, name: str, **columns) -> None:
    n = len(next(iter(columns.values())))
    duck.load_arrow(TableRef(name), pa.table({"id": list(range(n)), "y": [0] * n, **columns}))


def test_end_to_end_outputs_and_counts(synthetic, tmp_path):
    result = run_preprocess(datasets.synthetic_spec().to_json(), synthetic, str(tmp_path))
    splits = ("train", "validation", "test")
    counts = {s: pq.read_metadata(tmp_path / f"{s}.parquet").num_rows for s in splits}
    assert counts == result.row_counts and sum(counts.values()) == 3000
    ids = {s: pq.read_table(tmp_path / f"{s}.parquet").column("id").to_pylist() for s in counts}
    spec = datasets.synthetic_spec()
    for name, keys in ids.items():  # DuckDB membership == the plain-Python split function
        assert {split.assign_split(k, spec.salt, spec.split) for k in keys} == {name}
    saved = json.loads((tmp_path / "stats.json").read_text())
    assert saved == result.stats and saved["row_counts"] == counts
    nulls = synthetic.fetch_rows("SELECT count(*) - count(x0) AS n FROM synthetic")[0]["n"]
    assert saved["null_counts"]["x0"] == nulls > 0
    assert {str(result.tables[s]) for s in counts} == {f"synthetic_kwp_{s}" for s in counts}
    assert tables(synthetic) == {"synthetic", *(f"synthetic_kwp_{s}" for s in (*counts, "split"))}


def tables(duck) -> set[str]:
    return {r["table_name"] for r in duck.fetch_rows("SELECT table_name FROM information_schema.tables")}


def test_split_table_is_kept_for_audit_and_guarded_like_the_others(synthetic, tmp_path):
    result = run_preprocess(datasets.synthetic_spec(), synthetic, str(tmp_path / "a"))
    assert str(result.tables["split"]) == "synthetic_kwp_split"
    query = 'SELECT "__kwp_split" AS s, count(*) AS n FROM synthetic_kwp_split GROUP BY 1'
    rows = synthetic.fetch_rows(query)
    assert {r["s"]: r["n"] for r in rows} == result.row_counts
    with pytest.raises(TableExistsError, match="synthetic_kwp_split"):
        run_preprocess(datasets.synthetic_spec(), synthetic, str(tmp_path / "b"))
    again = run_preprocess(datasets.synthetic_spec(), synthetic, str(tmp_path / "a"), overwrite=True)
    assert again.row_counts == result.row_counts


def test_zero_variance_gives_zero_never_nan(synthetic, tmp_path):
    result = run_preprocess(datasets.synthetic_spec(), synthetic, str(tmp_path))
    x9 = next(c for c in result.stats["columns"] if c["name"] == "x9")
    assert x9["steps"][-1] == {"op": "standardize", "mean": 7.0, "std": 0.0}
    values = pq.read_table(tmp_path / "train.parquet").column("x9").to_pylist()
    assert set(values) == {0.0}


def test_single_training_value_and_tiny_constant(duck, tmp_path):
    load(duck, "t", x=[0.1] * 50)
    spec = simple_spec(columns=(ColumnSpec("x", (Transform("standardize"),)),
                                ColumnSpec("x2", (Transform("minmax"),))))
    duck.execute('CREATE TABLE "t2" AS SELECT *, x AS x2 FROM "t"')
    result = run_preprocess(PreprocessSpec.from_dict({**spec.to_dict(), "source_table": "t2"}), duck,
                            str(tmp_path))
    assert result.stats["columns"][0]["steps"][0]["std"] == 0.0
    table = pq.read_table(tmp_path / "train.parquet")
    assert set(table.column("x").to_pylist()) == {0.0} and set(table.column("x2").to_pylist()) == {0.0}


def test_unseen_categories_go_to_oov(duck, tmp_path):
    fractions = SplitFractions()
    ids = list(range(300))
    cat = ["seen" if split.assign_split(i, "kwp", fractions) == "train" else f"new{i}" for i in ids]
    duck.load_arrow(TableRef("t"), pa.table({"id": ids, "y": [0] * 300, "c": cat}))
    spec = simple_spec(columns=(ColumnSpec("c", (Transform("one_hot", top_k=3),)),
                                ColumnSpec("d", (Transform("vocab_index", top_k=3),))))
    duck.execute('CREATE OR REPLACE TABLE "t" AS SELECT *, c AS d FROM "t"')
    run_preprocess(spec, duck, str(tmp_path))
    for name in ("validation", "test"):
        rows = pq.read_table(tmp_path / f"{name}.parquet").to_pylist()
        assert rows and all(r == {"id": r["id"], "y": 0, "c__0": 0.0, "c__oov": 1.0, "d": 1.0} for r in rows)


def test_hostile_identifiers_are_quoted_not_executed(duck, tmp_path):
    table = 'evil"; DROP TABLE canary; --'
    cols = {"select": [1.0, 2.0, 3.0, 4.0] * 20, "it's": ["a", "b"] * 40, "a`b;c": [0.5] * 80}
    duck.load_arrow(TableRef("canary"), pa.table({"alive": [1]}))
    duck.load_arrow(TableRef(table), pa.table({"key\"; --": list(range(80)), "y": [0] * 80, **cols}))
    spec = PreprocessSpec(source_table=table, key_column='key"; --', label_column="y",
                          columns=(ColumnSpec("select", (Transform("standardize"),)),
                                   ColumnSpec("it's", (Transform("one_hot", top_k=2),))),
                          passthrough=("a`b;c",), destination_prefix="out`; select 1")
    result = run_preprocess(spec, duck, str(tmp_path))
    assert duck.table_exists(TableRef("canary"))
    assert result.stats["feature_columns"] == ["select", "it's__0", "it's__1", "it's__oov", "a`b;c"]
    names = pq.read_table(tmp_path / "train.parquet").column_names
    assert names == ['key"; --', "y", *result.feature_columns]
    assert duck.table_exists(TableRef("out`; select 1_train"))


def test_missing_table_and_column(duck, tmp_path):
    with pytest.raises(TableNotFoundError, match="nowhere"):
        run_preprocess(simple_spec("nowhere"), duck, str(tmp_path))
    load(duck, "t", X=[1.0, 2.0])
    with pytest.raises(MissingColumnError, match=r"'x' \(did you mean 'X'\?\) not found in table t"):
        run_preprocess(simple_spec(), duck, str(tmp_path))


def test_categorical_declared_numeric(duck, tmp_path):
    load(duck, "t", x=["a", "b", "c"])
    with pytest.raises(ColumnTypeError, match=r"'x' has type VARCHAR .*declare categorical columns with"):
        run_preprocess(simple_spec(), duck, str(tmp_path))


def test_float_key_refused(duck, tmp_path):
    duck.load_arrow(TableRef("t"), pa.table({"id": [0.5, 1.5], "y": [0, 1], "x": [1.0, 2.0]}))
    with pytest.raises(ColumnTypeError, match="key column 'id' has type DOUBLE"):
        run_preprocess(simple_spec(), duck, str(tmp_path))


def test_empty_table(duck, tmp_path):
    duck.execute('CREATE TABLE "t" (id BIGINT, y BIGINT, x DOUBLE)')
    with pytest.raises(EmptyTableError, match="source table t has no rows"):
        run_preprocess(simple_spec(), duck, str(tmp_path))
    assert tables(duck) == {"t"}


def test_null_key(duck, tmp_path):
    duck.load_arrow(TableRef("t"), pa.table({"id": [1, None], "y": [0, 1], "x": [1.0, 2.0]}))
    with pytest.raises(NullKeyError, match="key column 'id' of t has 1 NULL"):
        run_preprocess(simple_spec(), duck, str(tmp_path))


def test_empty_training_split_leaves_nothing_behind(duck, tmp_path):
    fractions = SplitFractions(0.0001, 0.4999, 0.5)
    ids = [i for i in range(200) if split.assign_split(i, "kwp", fractions) != "train"][:30]
    duck.load_arrow(TableRef("t"), pa.table({"id": ids, "y": [0] * 30, "x": [1.0] * 30}))
    with pytest.raises(EmptySplitError, match="training split of 't' is empty"):
        run_preprocess(simple_spec(split=fractions), duck, str(tmp_path))
    assert tables(duck) == {"t"}
    assert list(tmp_path.iterdir()) == []


def test_all_null_column(duck, tmp_path):
    load(duck, "t", x=pa.array([None, None], pa.float64()))
    with pytest.raises(AllNullColumnError, match="column 'x' of t has only NULL values"):
        run_preprocess(simple_spec(), duck, str(tmp_path))


def test_all_null_in_training_split_only(duck, tmp_path):
    ids = list(range(100))
    x = [None if split.assign_split(i, "kwp", SplitFractions()) == "train" else 1.0 for i in ids]
    duck.load_arrow(TableRef("t"), pa.table({"id": ids, "y": [0] * 100, "x": pa.array(x, pa.float64())}))
    with pytest.raises(AllNullColumnError, match="only NULL values in the training split"):
        run_preprocess(simple_spec(), duck, str(tmp_path))
    assert tables(duck) == {"t"}


def test_all_null_column_imputed_with_constant_is_fine(duck, tmp_path):
    load(duck, "t", x=pa.array([None] * 40, pa.float64()))
    spec = simple_spec(columns=(ColumnSpec("x", (Transform("impute", strategy="constant", value=3),)),))
    run_preprocess(spec, duck, str(tmp_path))
    assert set(pq.read_table(tmp_path / "train.parquet").column("x").to_pylist()) == {3.0}


def test_existing_destination_refused_unless_overwrite(synthetic, tmp_path):
    spec = datasets.synthetic_spec()
    run_preprocess(spec, synthetic, str(tmp_path / "a"))
    before = (tmp_path / "a" / "stats.json").read_bytes()
    refused = r"destination table\(s\) \['synthetic_kwp_split', 'synthetic_kwp_train'"
    with pytest.raises(TableExistsError, match=refused):
        run_preprocess(spec, synthetic, str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()
    with pytest.raises(OutputExistsError, match="already exist; nothing was written"):
        run_preprocess(PreprocessSpec.from_dict({**spec.to_dict(), "destination_prefix": "other"}),
                       synthetic, str(tmp_path / "a"))
    assert not synthetic.table_exists(TableRef("other_train"))
    assert (tmp_path / "a" / "stats.json").read_bytes() == before
    again = run_preprocess(spec, synthetic, OutputPaths.in_directory(str(tmp_path / "a")), overwrite=True)
    # Parallel float sums may differ in the last bit between runs; everything else is identical.
    assert json.dumps(json.loads(before)["columns"][10:]) == json.dumps(again.stats["columns"][10:])
    for old, new in zip(json.loads(before)["columns"], again.stats["columns"], strict=True):
        assert old["steps"][-1]["mean"] == pytest.approx(new["steps"][-1].get("mean"), rel=1e-12) \
            if old["kind"] == "numeric" else old == new


def test_destination_may_not_be_the_source(duck, tmp_path):
    load(duck, "t_kwp_train", x=[1.0, 2.0])
    spec = simple_spec("t_kwp_train", destination_prefix="t_kwp")
    with pytest.raises(TableExistsError, match="is the source table"):
        run_preprocess(spec, duck, str(tmp_path), overwrite=True)


def test_runs_from_a_url(tmp_path):
    path = tmp_path / "w.duckdb"
    datasets.seed_duckdb(str(path), "wine")
    result = run_preprocess(datasets.default_spec("wine"), f"duckdb://{path}", str(tmp_path / "out"))
    assert sum(result.row_counts.values()) == 178
    assert len(result.feature_columns) == 13


def test_empty_validation_split_still_gets_a_parquet_file(duck, tmp_path):
    fractions = SplitFractions(0.9, 0.0, 0.1)
    load(duck, "t", x=[float(i) for i in range(50)])
    result = run_preprocess(simple_spec(split=fractions), duck, str(tmp_path))
    empty = pq.read_table(tmp_path / "validation.parquet")
    assert result.row_counts["validation"] == empty.num_rows == 0
    assert empty.column_names == ["id", "y", "x"]


def test_empty_split_schema_without_engine_help(duck):
    from components.preprocess.run import _schema

    load(duck, "t", x=[1.0], s=["a"])
    duck.arrow_schema = None  # as an adapter without the optional hook
    want = [("id", pa.int64()), ("y", pa.int64()), ("x", pa.float64()), ("s", pa.string())]
    assert _schema(duck, TableRef("t")) == pa.schema(want)
