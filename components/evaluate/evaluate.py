"""Evaluate a trained model (model.pt + model_config.json) on the test split Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from components.evaluate.metrics import Evaluation, evaluate_predictions


class EvaluationError(ValueError):
    """The model and the test data do not fit together."""


def evaluate_model(model_dir: str | Path, test_path: str | Path, batch_size: int = 4096) -> Evaluation:
    """Predict the test split with the saved model and compute classification metrics."""
    import torch

    from components.train.models import load_model

    model, config = load_model(str(model_dir))
    features, label_column = list(config["feature_columns"]), config["label_column"]
    table = pq.read_table(str(test_path))
    missing = [c for c in [*features, label_column] if c not in table.column_names]
    if missing:
        raise EvaluationError(
            f"test data {test_path} lacks columns {missing} that the model was trained on; "
            f"it has {table.column_names}"
        )
    x = np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in features]).astype(np.float32)
    labels = _label_indices(table[label_column].to_pylist(), config["classes"])
    model.eval()
    with torch.inference_mode():
        chunks = [
            torch.softmax(model(torch.from_numpy(x[i : i + batch_size])), dim=1).numpy()
            for i in range(0, len(x), batch_size)
        ]
    probs = np.concatenate(chunks) if chunks else np.zeros((0, len(config["classes"])))
    return evaluate_predictions(labels, probs, config["classes"])


def _label_indices(values: list[object], classes: list[object]) -> list[int]:
    index = {str(c): i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in values if str(v) not in index})
    if unknown:
        raise EvaluationError(f"test labels {unknown[:10]} were never seen in training; classes: {classes}")
    return [index[str(v)] for v in values]
