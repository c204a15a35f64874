import json
from pathlib import Path

from kfp import dsl

from components.evaluate.component import evaluate


def test_evaluate_runs_through_kfp_local(kfp_local, trained_model):
    model_dir, test_path = trained_model

    @dsl.pipeline(name="evaluate-only")
    def pipeline():
        model = dsl.importer(artifact_uri=str(model_dir), artifact_class=dsl.Model)
        test = dsl.importer(artifact_uri=test_path, artifact_class=dsl.Dataset)
        evaluate(model=model.output, test_data=test.output)

    pipeline()
    (executor_output,) = Path(kfp_local).rglob("evaluate/executor_output.json")
    artifacts = json.loads(executor_output.read_text())["artifacts"]

    def metadata(name: str) -> dict:
        return artifacts[name]["artifacts"][0]["metadata"]

    assert metadata("metrics")["test-accuracy"] > 0.85
    matrix = metadata("classification_metrics")["confusionMatrix"]
    assert [a["displayName"] for a in matrix["annotationSpecs"]] == ["0", "1"]
    assert sum(sum(r["row"]) for r in matrix["rows"]) == 89
    assert metadata("classification_metrics")["confidenceMetrics"]
