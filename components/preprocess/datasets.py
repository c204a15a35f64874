"""Demo and test data: scikit-learn's bundled datasets (no download) and a synthetic table.

Every table gets an integer ``id`` key column, so splits are reproducible everywhere.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from components.preprocess.engines.base import Engine, TableRef
from components.preprocess.spec import ColumnSpec, PreprocessSpec, Transform

DATASETS = ("digits", "breast_cancer", "wine")


def _bunch(dataset: str):
    from sklearn import datasets as skd

    loaders = {"digits": skd.load_digits, "breast_cancer": skd.load_breast_cancer, "wine": skd.load_wine}
    if dataset not in loaders:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    return loaders[dataset]()


#: digits' column names, known without importing scikit-learn (a second on every ``kwp`` command, since
#: the pipelines' default spec is built from them); the seeding tests check them against the dataset.
_DIGITS_NAMES = tuple(f"pixel_{row}_{col}" for row in range(8) for col in range(8))


def feature_names(dataset: str) -> list[str]:
    """Column names as seeded: lower case, spaces replaced by underscores."""
    if dataset == "digits":
        return list(_DIGITS_NAMES)
    return _column_names(_bunch(dataset))


def _column_names(bunch) -> list[str]:
    return [str(n).replace(" ", "_").lower() for n in bunch.feature_names]


def sklearn_table(dataset: str) -> pa.Table:
    """``id`` (int64), the features (float64) and ``label`` (int64)."""
    bunch = _bunch(dataset)
    data = {"id": pa.array(np.arange(len(bunch.target), dtype=np.int64))}
    for j, name in enumerate(_column_names(bunch)):
        data[name] = pa.array(bunch.data[:, j].astype(np.float64))
    data["label"] = pa.array(bunch.target.astype(np.int64))
    return pa.table(data)


def seed(engine: Engine, dataset: str = "digits", table: str | None = None,
         overwrite: bool = False) -> TableRef:
    """Load a bundled dataset into ``engine`` as ``table`` (default: the dataset name)."""
    ref = engine.qualify(table or dataset)
    engine.load_arrow(ref, sklearn_table(dataset), overwrite=overwrite)
    return ref


def seed_duckdb(path: str, dataset: str = "digits", table: str | None = None,
                overwrite: bool = False) -> TableRef:
    """Seed a DuckDB file (created if missing) with a bundled dataset."""
    from components.preprocess.engines.duckdb import DuckDBEngine

    with DuckDBEngine(path) as engine:
        return seed(engine, dataset, table, overwrite)


def default_spec(dataset: str = "digits", table: str | None = None) -> PreprocessSpec:
    """A sensible spec: digits standardizes its 64 pixels; the others also impute medians first."""
    names = feature_names(dataset)
    if dataset == "digits":
        steps: tuple[Transform, ...] = (Transform("standardize"),)
    else:
        steps = (Transform("impute", strategy="median"), Transform("standardize"))
    return PreprocessSpec(
        source_table=table or dataset, key_column="id", label_column="label",
        columns=tuple(ColumnSpec(n, steps) for n in names),
        destination_prefix=f"{table or dataset}_kwp",
    )


# --- synthetic ------------------------------------------------------------------------------------

SYNTHETIC_NUMERIC = tuple(f"x{j}" for j in range(10))
SYNTHETIC_CATEGORICAL = ("city", "device")


def synthetic_table(rows: int, seed: int = 0, null_fraction: float = 0.05, offset: int = 0) -> pa.Table:
    """10 numeric columns with NULLs (``x0``..``x9``), 2 categorical ones (``city``, ``device``), ``label``.

    ``x9`` is constant, to exercise zero variance. ``offset`` shifts the ids, so a large table can be
    generated in chunks.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, pa.Array] = {"id": pa.array(np.arange(offset, offset + rows, dtype=np.int64))}
    for j, name in enumerate(SYNTHETIC_NUMERIC):
        values = np.full(rows, 7.0) if j == 9 else rng.normal(10.0 * j, 1.0 + j, rows)
        mask = rng.random(rows) < null_fraction
        data[name] = pa.array(values, mask=mask)
    cities = np.array([f"city_{k:02d}" for k in range(30)], dtype=object)
    weights = 1.0 / np.arange(1, 31)
    data["city"] = pa.array(cities[rng.choice(30, rows, p=weights / weights.sum())],
                            mask=rng.random(rows) < null_fraction)
    data["device"] = pa.array(np.array(["phone", "tablet", "desktop", "tv"], dtype=object)[
        rng.choice(4, rows, p=[0.6, 0.25, 0.1, 0.05])])
    data["label"] = pa.array(rng.integers(0, 2, rows, dtype=np.int64))
    return pa.table(data)


def synthetic_spec(table: str = "synthetic", top_k: int = 10) -> PreprocessSpec:
    """The benchmark's job: standardize+impute every numeric column, one-hot both categoricals."""
    numeric = tuple(ColumnSpec(n, (Transform("impute", strategy="mean"), Transform("standardize")))
                    for n in SYNTHETIC_NUMERIC)
    categorical = tuple(ColumnSpec(n, (Transform("one_hot", top_k=top_k),)) for n in SYNTHETIC_CATEGORICAL)
    return PreprocessSpec(source_table=table, key_column="id", label_column="label",
                          columns=numeric + categorical, destination_prefix=f"{table}_kwp")
