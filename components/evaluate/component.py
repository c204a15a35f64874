"""KFP component ``evaluate``: test-split metrics the KFP UI can show."""

from kfp import dsl

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def evaluate(
    model: dsl.Input[dsl.Model],
    test_data: dsl.Input[dsl.Dataset],
    metrics: dsl.Output[dsl.Metrics],
    classification_metrics: dsl.Output[dsl.ClassificationMetrics],
):
    """Evaluate the trained model on the test split: accuracy, F1, log loss, confusion matrix, ROC."""
    from components.evaluate.evaluate import evaluate_model

    result = evaluate_model(model.path, test_data.path)
    for name, value in result.scalars.items():
        metrics.log_metric(name, value)
    classification_metrics.log_confusion_matrix(result.classes, result.confusion_matrix)
    if result.roc is not None:
        classification_metrics.log_roc_curve(result.roc.fpr, result.roc.tpr, result.roc.thresholds)
