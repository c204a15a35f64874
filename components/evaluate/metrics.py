"""Classification metrics of a trained model on the held-out test split.

Pure NumPy/scikit-learn so it is testable without KFP; the component only moves files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class RocCurve:
    """One ROC curve: binary, or micro-averaged one-vs-rest for several classes."""

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float]
    auc: float


@dataclass(frozen=True)
class Evaluation:
    """What the evaluation step reports; ``scalars`` become KFP ``Metrics``."""

    classes: list[str]
    confusion_matrix: list[list[int]]
    roc: RocCurve | None
    scalars: dict[str, float] = field(default_factory=dict)


def evaluate_predictions(
    labels: Sequence[int], probabilities: np.ndarray, classes: Sequence[object]
) -> Evaluation:
    """Accuracy, macro F1, log loss, confusion matrix and ROC from class probabilities.

    ``labels`` are class indices into ``classes``; ``probabilities`` has one column per class.
    """
    y = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ValueError(f"probabilities have shape {probs.shape}; expected (rows, {len(classes)})")
    if len(y) != len(probs):
        raise ValueError(f"{len(y)} labels but {len(probs)} rows of probabilities")
    if len(y) == 0:
        raise ValueError("the test split is empty: nothing to evaluate")
    probs = probs / probs.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only roughly
    predicted = probs.argmax(axis=1)
    indices = list(range(len(classes)))
    scalars = {
        "test-accuracy": float(skm.accuracy_score(y, predicted)),
        "test-f1-macro": float(skm.f1_score(y, predicted, labels=indices, average="macro", zero_division=0)),
        "test-loss": float(skm.log_loss(y, np.clip(probs, 1e-12, 1.0), labels=indices)),
        "test-rows": float(len(y)),
    }
    roc = _roc(y, probs)
    if roc is not None:
        scalars["test-roc-auc"] = roc.auc
    matrix = skm.confusion_matrix(y, predicted, labels=indices)
    return Evaluation([str(c) for c in classes], matrix.tolist(), roc, scalars)


def _roc(y: np.ndarray, probs: np.ndarray) -> RocCurve | None:
    """Binary ROC on the positive class, or micro-averaged one-vs-rest; None when a class is absent."""
    n_classes = probs.shape[1]
    if len(np.unique(y)) < 2:
        return None
    if n_classes == 2:
        truth, score = (y == 1).astype(int), probs[:, 1]
    else:
        truth = np.eye(n_classes, dtype=int)[y].ravel()
        score = probs.ravel()
    fpr, tpr, thresholds = skm.roc_curve(truth, score)
    area = float(skm.auc(fpr, tpr))
    thresholds = np.minimum(thresholds, 1.0)  # sklearn puts +inf first; KFP wants finite numbers
    fpr, tpr, thresholds = _thin(fpr, tpr, thresholds, limit=200)
    return RocCurve(fpr.tolist(), tpr.tolist(), thresholds.tolist(), area)


def _thin(*arrays: np.ndarray, limit: int) -> tuple[np.ndarray, ...]:
    """At most ``limit`` evenly spaced points (always keeping both ends) so the UI stays responsive."""
    size = len(arrays[0])
    if size <= limit:
        return arrays
    keep = np.unique(np.linspace(0, size - 1, limit).round().astype(int))
    return tuple(a[keep] for a in arrays)
