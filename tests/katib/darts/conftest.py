"""Tiny 8x8 image tables and search networks for the DARTS tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from katib.darts.search_space import DartsSearchSpace

torch.set_num_threads(1)

SMALL_SPACE = DartsSearchSpace(("separable_convolution_3x3", "max_pooling_3x3", "skip_connection"))


def write_digits(path: Path, rows: int = 96, classes: int = 3, seed: int = 0) -> Path:
    """Standardised 8x8 digits from scikit-learn as the preprocessing step writes them: key, label, pixels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < classes)[:rows]
    x = digits.data[keep]
    std = x.std(0)
    x = (x - x.mean(0)) / np.where(std > 0, std, 1.0)
    order = np.random.default_rng(seed).permutation(len(keep))
    columns = {f"pixel_{i}": x[order, i].astype(np.float64) for i in range(64)}
    table = pa.table(
        {"key": [f"row-{i}" for i in keep[order]], "label": digits.target[keep][order], **columns}
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def digits_parquet(tmp_path: Path) -> Path:
    return write_digits(tmp_path / "digits.parquet")


@pytest.fixture
def digits_stats(tmp_path: Path) -> Path:
    path = tmp_path / "stats.json"
    stats = {
        "key_column": "key",
        "label_column": "label",
        "feature_columns": [f"pixel_{i}" for i in range(64)],
    }
    path.write_text(json.dumps(stats))
    return path


@pytest.fixture
def small_space() -> DartsSearchSpace:
    return SMALL_SPACE
