import numpy as np
import pytest

from components.evaluate.metrics import evaluate_predictions


def test_perfect_binary_predictions_score_one():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9]])
    result = evaluate_predictions([0, 1, 0, 1], probs, ["no", "yes"])
    assert result.scalars["test-accuracy"] == 1.0
    assert result.scalars["test-roc-auc"] == 1.0
    assert result.confusion_matrix == [[2, 0], [0, 2]]
    assert result.classes == ["no", "yes"]
    assert result.roc is not None and result.roc.fpr[0] == 0.0 and result.roc.tpr[-1] == 1.0
    assert all(t <= 1.0 for t in result.roc.thresholds)


def test_multiclass_confusion_matrix_counts_each_pair():
    probs = np.eye(3)[[0, 1, 2, 2, 1]]
    result = evaluate_predictions([0, 1, 2, 1, 1], probs, [0, 1, 2])
    assert result.confusion_matrix == [[1, 0, 0], [0, 2, 1], [0, 0, 1]]
    assert result.scalars["test-accuracy"] == pytest.approx(0.8)
    assert result.scalars["test-rows"] == 5.0


def test_roc_is_skipped_when_one_class_is_absent():
    result = evaluate_predictions([1, 1], np.array([[0.3, 0.7], [0.4, 0.6]]), [0, 1])
    assert result.roc is None and "test-roc-auc" not in result.scalars


def test_long_roc_curves_are_thinned_but_keep_both_ends():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p1 = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
    result = evaluate_predictions(y, np.column_stack([1 - p1, p1]), [0, 1])
    assert result.roc is not None and len(result.roc.fpr) <= 200
    assert result.roc.fpr[0] == 0.0 and result.roc.fpr[-1] == 1.0


@pytest.mark.parametrize(
    ("labels", "probs", "message"),
    [
        ([0], np.zeros((1, 3)), "expected \\(rows, 2\\)"),
        ([0, 1], np.zeros((1, 2)), "2 labels but 1 rows"),
        ([], np.zeros((0, 2)), "test split is empty"),
    ],
)
def test_bad_shapes_are_named(labels, probs, message):
    with pytest.raises(ValueError, match=message):
        evaluate_predictions(labels, probs, [0, 1])
