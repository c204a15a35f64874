"""Model directories written through the real registry (components.train.models), shared per module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from components.train import models

PIXELS = [f"px{i}" for i in range(64)]
TABULAR = [f"f{i}" for i in range(12)]


def write_model_dir(root: Path, architecture: str, options: dict, feature_columns: list[str],
                    classes: list, seed: int = 0) -> Path:
    """A model directory as training leaves it, with seeded random weights and fitted-looking BN stats."""
    torch.manual_seed(seed)
    config = models.make_config(architecture, options, classes=classes, feature_columns=feature_columns,
                                label_column="label")
    module = models.build_model(config)
    for sub in module.modules():  # non-trivial running statistics so eval-mode BatchNorm is exercised
        if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
            sub.running_mean.uniform_(-0.5, 0.5)
            sub.running_var.uniform_(0.5, 2.0)
    model_dir = root / architecture
    models.save_model(module.state_dict(), config, model_dir)
    return model_dir


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mlp")
    return write_model_dir(root, "mlp", {"hidden_sizes": [32, 16], "batch_norm": True, "dropout": 0.1},
                           TABULAR, ["no", "yes", "maybe"])


@pytest.fixture(scope="module")
def cnn_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cnn")
    return write_model_dir(root, "cnn", {"channels": [4, 8]}, PIXELS, list(range(10)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    torch.set_num_threads(1)


# --- a fitted preprocessing run on the embedded DuckDB warehouse ------------------------------------

SPEC = {
    "source_table": "raw",
    "key_column": "id",
    "label_column": "label",
    "columns": [
        {"name": "a", "transforms": [{"kind": "impute", "strategy": "mean"}, {"kind": "standardize"}]},
        {"name": "b", "transforms": [{"kind": "impute", "strategy": "median"},
                                     {"kind": "clip", "low": 0, "high": 12}, {"kind": "log1p"},
                                     {"kind": "minmax"}]},
        {"name": "flat", "transforms": ["standardize"]},  # zero variance -> 0
        {"name": "e", "transforms": [{"kind": "impute", "strategy": "constant", "value": -1.5},
                                     {"kind": "log1p"}, {"kind": "standardize"}]},
        {"name": "m", "transforms": [{"kind": "impute", "strategy": "most_frequent"},
                                     {"kind": "clip", "low": 1, "high": 4}]},
        {"name": "color", "transforms": [{"kind": "impute", "strategy": "most_frequent"},
                                         {"kind": "one_hot", "top_k": 3}]},
        {"name": "city", "transforms": [{"kind": "vocab_index", "top_k": 2}]},
        {"name": "code", "transforms": [{"kind": "impute", "strategy": "constant", "value": "none"},
                                        {"kind": "one_hot", "top_k": 2}]},
    ],
    "passthrough": ["c"],
}


class Warehouse:
    """Raw rows, the fitted statistics and the SQL-preprocessed features of every row (by id)."""

    def __init__(self, stats: dict, raw_rows: list[dict], sql_features: np.ndarray) -> None:
        self.stats = stats
        self.raw_rows = raw_rows
        self.sql_features = sql_features


def _raw_table(rows: int) -> dict[str, list]:
    rng = np.random.default_rng(11)

    def with_nulls(values, share=0.1):
        return [None if rng.random() < share else v for v in values]

    return {
        "id": list(range(rows)),
        "label": rng.integers(0, 3, rows).tolist(),
        "a": with_nulls(rng.normal(50, 10, rows).tolist()),
        "b": with_nulls((rng.exponential(5, rows) - 1).tolist()),
        "flat": [3.0] * rows,
        "e": with_nulls(rng.normal(-2, 3, rows).tolist()),
        "m": with_nulls(rng.integers(0, 6, rows).astype(float).tolist()),
        "c": rng.normal(size=rows).tolist(),
        "color": with_nulls(rng.choice(["red", "green", "blue", "teal", "pink"], rows,
                                       p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist()),
        "city": with_nulls(rng.choice(["Oslo", "Rome", "Lima", "Pune"], rows).tolist()),
        "code": with_nulls(rng.choice([7, 11, 42, 99], rows).tolist()),
    }


@pytest.fixture(scope="module")
def warehouse() -> Warehouse:
    """Split, fit (training split only) and transform with the project's own SQL, run by DuckDB."""
    import duckdb
    import pyarrow as pa

    from components.preprocess import sql
    from components.preprocess import stats as fitted_stats
    from components.preprocess.engines.base import TableRef
    from components.preprocess.spec import PreprocessSpec

    spec = PreprocessSpec.from_dict(SPEC)
    con = duckdb.connect(config={"threads": 1})

    def run(expression):
        return con.execute(sql.render(expression, "duckdb"))

    con.register("raw_arrow", pa.table(_raw_table(240)))
    con.execute("CREATE TABLE raw AS SELECT * FROM raw_arrow")
    split = TableRef("raw_split")
    run(sql.split_table_query(spec, TableRef("raw"), split, "duckdb"))
    cursor = run(sql.stats_query(spec, split))
    names = [d[0] for d in cursor.description]
    fitted = sql.parse_stats_rows(spec, [dict(zip(names, r, strict=True)) for r in cursor.fetchall()])
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'raw'").fetchall())
    stats = fitted_stats.build_stats(spec, fitted, types, {}, {})
    for part in ("train", "validation", "test"):
        run(sql.transform_query(stats, split, TableRef(f"raw_{part}"), part))
    features = con.sql("SELECT * FROM raw_train UNION ALL SELECT * FROM raw_validation "
                       "UNION ALL SELECT * FROM raw_test ORDER BY id").to_arrow_table()
    matrix = np.stack([features.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                       for c in stats["feature_columns"]], axis=1)
    raw_rows = con.sql("SELECT * FROM raw ORDER BY id").to_arrow_table().to_pylist()
    con.close()
    return Warehouse(stats, raw_rows, matrix)


@pytest.fixture(scope="module")
def tabular_dir(tmp_path_factory, warehouse) -> Path:
    """An MLP trained on nothing (seeded weights) over the statistics' feature columns."""
    root = tmp_path_factory.mktemp("tabular")
    return write_model_dir(root, "mlp", {"hidden_sizes": [16]}, warehouse.stats["feature_columns"],
                           ["x", "y", "z"], seed=5)
