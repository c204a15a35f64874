import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.evaluate.evaluate import EvaluationError, evaluate_model


def test_a_trained_model_scores_well_on_the_held_out_split(trained_model):
    model_dir, test_path = trained_model
    result = evaluate_model(model_dir, test_path)
    assert result.scalars["test-accuracy"] > 0.85
    assert result.scalars["test-rows"] == 89
    assert sum(map(sum, result.confusion_matrix)) == 89
    assert result.classes == ["0", "1"] and result.roc is not None


def test_missing_feature_columns_are_named(trained_model, tmp_path):
    model_dir, test_path = trained_model
    table = pq.read_table(test_path).drop_columns(["f3"])
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(EvaluationError, match=r"lacks columns \['f3'\]"):
        evaluate_model(model_dir, tmp_path / "t.parquet")


def test_labels_unseen_in_training_are_named(trained_model, tmp_path):
    model_dir, test_path = trained_model
    table = pq.read_table(test_path)
    table = table.set_column(table.column_names.index("label"), "label", pa.array([7] * table.num_rows))
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(EvaluationError, match=r"\['7'\] were never seen"):
        evaluate_model(model_dir, tmp_path / "t.parquet")
