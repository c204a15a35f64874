from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.preprocess import datasets, split, stats
from components.preprocess.run import run_preprocess
from components.preprocess.spec import ColumnSpec, PreprocessSpec, SplitFractions, Transform


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_apply_equals_sql_output(synthetic, tmp_path):
    result = run_preprocess(datasets.synthetic_spec(top_k=5), synthetic, str(tmp_path))
    source = synthetic.connection.sql("SELECT * FROM synthetic").to_arrow_table().to_pylist()
    by_key = {row["id"]: row for row in source}
    for name in ("train", "validation", "test"):
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.column_names == ["id", "label", *result.stats["feature_columns"]]
        assert all(pa.types.is_float64(table.schema.field(c).type) for c in result.stats["feature_columns"])
        out = table.to_pylist()
        expected = stats.apply(result.stats, (by_key[row["id"]] for row in out))
        for row, vector in zip(out, expected, strict=True):
            got = [row[c] for c in result.stats["feature_columns"]]
            assert all(_close(g, e) for g, e in zip(got, vector, strict=True)), (row["id"], got, vector)
            assert row["label"] == by_key[row["id"]]["label"]


def _leaky_table() -> tuple[pa.Table, list[int]]:
    """Training rows ~ N(5, 2); every other row is 1000 and a category only they have."""
    rng = np.random.default_rng(3)
    ids = list(range(400))
    train = [split.assign_split(i, "kwp", SplitFractions()) == "train" for i in ids]
    x = [float(rng.normal(5, 2)) if t else 1000.0 for t in train]
    cat = ["a" if i % 3 else "b" for i in ids]
    cat = [c if t else "only_outside_train" for c, t in zip(cat, train, strict=True)]
    return pa.table({"id": ids, "x": x, "cat": cat, "y": [0] * 400}), [i for i, t in zip(ids, train,
                                                                                         strict=True) if t]


def test_statistics_come_from_the_training_split_only(duck, tmp_path):
    table, train_ids = _leaky_table()
    duck.load_arrow(duck.qualify("leaky"), table)
    spec = PreprocessSpec(source_table="leaky", key_column="id", label_column="y",
                          columns=(ColumnSpec("x", (Transform("standardize"),)),
                                   ColumnSpec("cat", (Transform("one_hot", top_k=5),))))
    fitted = run_preprocess(spec, duck, str(tmp_path)).stats
    train_x = np.array([table["x"][i].as_py() for i in train_ids])
    step = fitted["columns"][0]["steps"][0]
    assert step["mean"] == pytest.approx(train_x.mean(), rel=1e-12)
    assert step["std"] == pytest.approx(train_x.std(ddof=1), rel=1e-9)
    assert fitted["columns"][1]["steps"][0]["vocabulary"] == ["a", "b"]
    test_rows = pq.read_table(tmp_path / "test.parquet").to_pylist()
    assert test_rows and all(r["cat__oov"] == 1.0 and r["cat__0"] == 0.0 for r in test_rows)
    assert fitted["row_counts"]["train"] == len(train_ids)


def test_matches_scikit_learn_pipeline_on_train(duck, tmp_path):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    duck.load_arrow(duck.qualify("syn"), datasets.synthetic_table(1500, seed=4))
    spec = PreprocessSpec(source_table="syn", key_column="id", label_column="label",
                          columns=(ColumnSpec("x3", (Transform("impute", strategy="median"),
                                                     Transform("standardize"))),))
    run_preprocess(spec, duck, str(tmp_path))
    out = pq.read_table(tmp_path / "train.parquet").to_pandas().sort_values("id")
    raw = duck.connection.execute("SELECT id, x3 FROM syn").df().set_index("id").loc[out["id"]]
    pipe = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    want = pipe.fit_transform(raw[["x3"]].to_numpy())[:, 0]
    # scikit-learn scales by the population std (ddof=0); ours is the sample std (ddof=1).
    n = len(want)
    np.testing.assert_allclose(out["x3"].to_numpy(), want * math.sqrt((n - 1) / n), rtol=1e-9, atol=1e-9)


STEPS = {
    "format": stats.FORMAT, "version": stats.VERSION, "key_column": "k", "label_column": "y",
    "feature_columns": ["n", "c__0", "c__1", "c__oov", "v", "z"],
    "columns": [
        {"name": "n", "kind": "numeric", "outputs": ["n"], "steps": [
            {"op": "impute", "strategy": "mean", "value": 2.0}, {"op": "clip", "low": -3.0, "high": 10.0},
            {"op": "log1p"}, {"op": "minmax", "min": 0.0, "max": 2.0}]},
        {"name": "c", "kind": "categorical", "outputs": ["c__0", "c__1", "c__oov"], "steps": [
            {"op": "one_hot", "vocabulary": ["x", "7"], "counts": [3, 2]}]},
        {"name": "v", "kind": "categorical", "outputs": ["v"], "steps": [
            {"op": "impute", "strategy": "constant", "value": "x"},
            {"op": "vocab_index", "vocabulary": ["x", "y"], "counts": [3, 2], "oov_index": 2}]},
        {"name": "z", "kind": "numeric", "outputs": ["z"], "steps": [
            {"op": "standardize", "mean": 4.0, "std": 0.0}]},
    ],
}


def test_apply_semantics_per_step():
    rows = [
        {"n": None, "c": "x", "v": None, "z": 9.0},
        {"n": 100.0, "c": 7, "v": "y", "z": None},
        {"n": -3.0, "c": "unseen", "v": "unseen", "z": float("nan")},
        {"n": float("nan"), "c": None, "v": "x", "z": 4.0},
    ]
    got = stats.apply(STEPS, rows)
    assert got[0] == [math.log(3.0) / 2, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert got[1] == [math.log(11.0) / 2, 0.0, 1.0, 0.0, 1.0, None]
    assert got[2] == [-math.log(4.0) / 2, 0.0, 0.0, 1.0, 2.0, None]
    assert got[3][:4] == [math.log(3.0) / 2, 0.0, 0.0, 1.0]
    assert stats.apply_dicts(STEPS, rows[:1])[0]["c__0"] == 1.0


def test_apply_equals_sql_for_hand_written_stats(duck):
    """The same hand-written stats through DuckDB (NULLs, unseen values, negative log1p input)."""
    from components.preprocess import sql
    from components.preprocess.engines.base import TableRef

    rows = [{"k": i, "y": 0, "n": n, "c": c, "v": v, "z": z, "__kwp_split": "train"}
            for i, (n, c, v, z) in enumerate([(None, "x", None, 9.0), (100.0, "7", "y", None),
                                              (-3.0, "unseen", "q", 1.0), (-0.5, None, "x", 4.0)])]
    duck.load_arrow(TableRef("hand"), pa.Table.from_pylist(rows))
    duck.execute(sql.render(sql.transform_query(STEPS, TableRef("hand"), TableRef("out"), "train"), "duckdb"))
    out = duck.fetch_rows('SELECT * FROM "out" ORDER BY "k"')
    for row, vector in zip(out, stats.apply(STEPS, rows), strict=True):
        assert all(_close(row[c], e) for c, e in zip(STEPS["feature_columns"], vector, strict=True))


def test_save_load_round_trip_and_version_check(tmp_path):
    path = str(tmp_path / "sub" / "stats.json")
    stats.save_stats(STEPS, path)
    assert stats.load_stats(path) == STEPS
    with pytest.raises(stats.StatsError, match="version 2 is not supported"):
        stats.check_stats({**STEPS, "version": 2})
    with pytest.raises(stats.StatsError, match=r"not a kwp\.preprocess\.stats artifact"):
        stats.check_stats({"format": "other"})
