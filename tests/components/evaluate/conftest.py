from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _write_split(path: Path, x: np.ndarray, y: np.ndarray, offset: int) -> str:
    columns = {"id": pa.array(np.arange(len(y)) + offset), "label": pa.array(y)}
    columns.update({f"f{i}": pa.array(x[:, i]) for i in range(x.shape[1])})
    pq.write_table(pa.table(columns), path)
    return str(path)


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """A small MLP really trained on scikit-learn's breast_cancer data, and the test split."""
    from sklearn.datasets import load_breast_cancer

    from components.train.api import train
    from components.train.options import TrainOptions

    root = tmp_path_factory.mktemp("trained")
    data = load_breast_cancer()
    x = (data.data - data.data.mean(0)) / data.data.std(0)
    y = data.target
    order = np.random.default_rng(0).permutation(len(y))
    parts = np.split(order, [400, 480])
    paths = [
        _write_split(root / f"{name}.parquet", x[idx], y[idx], int(idx.min()))
        for name, idx in zip(("train", "validation", "test"), parts, strict=True)
    ]
    options = TrainOptions(epochs=3, batch_size=32, lr=3e-3, key_column="id", tensorboard=False,
                           model_options={"hidden_sizes": [16]})
    train(options, paths[0], paths[1], str(root / "model"))
    return root / "model", paths[2]
