from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from components.preprocess import datasets
from components.preprocess.report import markdown_summary, publish
from components.preprocess.run import run_preprocess


class FakeArtifact:
    """Stands in for a KFP artifact object (only what ``publish`` touches)."""

    def __init__(self, path: Path) -> None:
        self.path, self.metadata, self.metrics = str(path), {}, {}

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[name] = value


def test_publish_fills_metadata_metrics_and_summary(duck, tmp_path):
    datasets.seed(duck, "wine")
    result = run_preprocess(datasets.default_spec("wine"), duck, str(tmp_path))
    names = ("train", "validation", "test", "stats", "metrics", "summary")
    arts = {n: FakeArtifact(tmp_path / n) for n in names}
    publish(result, {s: arts[s] for s in ("train", "validation", "test")}, arts["stats"], arts["metrics"],
            arts["summary"])
    assert arts["train"].metadata["rows"] == result.row_counts["train"]
    assert arts["train"].metadata["feature_columns"] == result.feature_columns
    assert arts["metrics"].metrics["rows_test"] == result.row_counts["test"]
    assert arts["metrics"].metrics["nulls_alcohol"] == 0
    text = Path(arts["summary"].path).read_text()
    assert "| train |" in text and "| alcohol | numeric | 0 | impute median" in text


def test_markdown_escapes_hostile_names(duck, tmp_path):
    import pyarrow as pa

    from components.preprocess.engines.base import TableRef
    from components.preprocess.spec import ColumnSpec, PreprocessSpec, Transform

    duck.load_arrow(TableRef("t"), pa.table({"id": list(range(20)), "y": [0] * 20, "a|b`c": [1.0, 2.0] * 10}))
    spec = PreprocessSpec(source_table="t", key_column="id", label_column="y",
                          columns=(ColumnSpec("a|b`c", (Transform("standardize"),)),))
    text = markdown_summary(run_preprocess(spec, duck, str(tmp_path)))
    assert "| a\\|b\\`c | numeric |" in text


@pytest.mark.slow
def test_component_runs_through_kfp_local(kfp_local, tmp_path):
    from components.preprocess.component import preprocess

    db = tmp_path / "warehouse.duckdb"
    datasets.seed_duckdb(str(db), "breast_cancer")
    spec = datasets.default_spec("breast_cancer")
    task = preprocess(spec_json=spec.to_json(), warehouse_url=f"duckdb://{db}")
    train, stats = task.outputs["train"], task.outputs["stats"]
    table = pq.read_table(train.path)
    fitted = json.loads(Path(stats.path).read_text())
    assert table.column_names == ["id", "label", *fitted["feature_columns"]]
    assert table.num_rows == train.metadata["rows"] == fitted["row_counts"]["train"]
    assert sum(fitted["row_counts"].values()) == 569
    assert "| train |" in Path(task.outputs["summary"].path).read_text()
    with pytest.raises(RuntimeError):  # destination tables now exist: refused without overwrite
        preprocess(spec_json=spec.to_json(), warehouse_url=f"duckdb://{db}")
    again = preprocess(spec_json=spec.to_json(), warehouse_url=f"duckdb://{db}", overwrite=True)
    assert pq.read_table(again.outputs["test"].path).num_rows == fitted["row_counts"]["test"]
