"""The export_onnx KFP component, run through kfp.local, and the file glue it calls."""

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Metrics, Model

from components.export_onnx import preprocessing_graph as pg
from components.export_onnx import run
from components.export_onnx.errors import ExportError

pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping:RuntimeWarning")  # no containers here


def write_test_split(path: Path, columns: list[str], rows: int = 50) -> np.ndarray:
    values = np.random.default_rng(3).normal(size=(rows, len(columns))).astype(np.float32)
    table = {"key": [f"k{i}" for i in range(rows)], **{c: values[:, i] for i, c in enumerate(columns)},
             "label": np.zeros(rows, np.int64)}
    pq.write_table(pa.table(table), path)
    return values


def test_read_feature_sample_keeps_config_order(tmp_path):
    write_test_split(tmp_path / "t.parquet", ["a", "b", "c"])
    full = pq.read_table(tmp_path / "t.parquet")
    got = run.read_feature_sample(tmp_path / "t.parquet", ["c", "a"], rows=5)
    assert got.dtype == np.float32 and got.shape == (5, 2)
    np.testing.assert_array_equal(got[:, 0], full.column("c").to_numpy()[:5])
    with pytest.raises(ExportError, match=r"lacks feature column\(s\) \['zz'\]"):
        run.read_feature_sample(tmp_path / "t.parquet", ["a", "zz"], rows=5)
    with pytest.raises(ExportError, match="does not exist"):
        run.read_feature_sample(tmp_path / "none.parquet", ["a"], rows=5)


def test_run_export_writes_directory_artifact(mlp_dir, tmp_path):
    config = json.loads((mlp_dir / "model_config.json").read_text())
    values = write_test_split(tmp_path / "test.parquet", config["feature_columns"])
    report = run.run_export(mlp_dir, tmp_path / "test.parquet", tmp_path / "onnx", sample_rows=20,
                            latency_repeats=2)
    assert report.parity_rows == 20 and report.onnx_path == str(tmp_path / "onnx" / run.ONNX_FILE)
    assert json.loads((tmp_path / "onnx" / run.REPORT_FILE).read_text())["parity_rows"] == 20
    meta, scalars = run.artifact_metadata(report), run.metrics(report)
    assert meta["opset"] == 20 and meta["latency_ms_pytorch_batch_256"] > 0
    assert scalars["onnx-speedup-batch1"] == report.speedup(1)
    assert "| onnxruntime |" in run.markdown_summary(report)
    session = ort.InferenceSession(report.onnx_path)
    assert session.run(None, {"features": values[:4]})[0].shape == (4, 3)


def test_component_runs_locally_with_embedded_preprocessing(kfp_local, warehouse, tabular_dir, tmp_path):
    from components.export_onnx.component import export_onnx

    stats = warehouse.stats
    columns = {"id": [r["id"] for r in warehouse.raw_rows], "label": [r["label"] for r in warehouse.raw_rows]}
    columns |= {c: warehouse.sql_features[:, i] for i, c in enumerate(stats["feature_columns"])}
    pq.write_table(pa.table(columns), tmp_path / "test.parquet")
    (tmp_path / "stats.json").write_text(json.dumps(stats))

    class Outputs(NamedTuple):
        onnx_model: Model
        metrics: Metrics

    @dsl.pipeline(name="export-onnx-local")
    def pipeline(model_uri: str, test_uri: str, stats_uri: str) -> Outputs:
        model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=False)
        test = dsl.importer(artifact_uri=test_uri, artifact_class=Dataset, reimport=False)
        fitted = dsl.importer(artifact_uri=stats_uri, artifact_class=Artifact, reimport=False)
        task = export_onnx(model=model.output, test_data=test.output, stats=fitted.output,
                           embed_preprocessing=True, latency_repeats=2, sample_rows=64)
        return Outputs(task.outputs["onnx_model"], task.outputs["metrics"])

    result = pipeline(model_uri=str(tabular_dir), test_uri=str(tmp_path / "test.parquet"),
                      stats_uri=str(tmp_path / "stats.json"))

    onnx_model, metrics = result.outputs["onnx_model"], result.outputs["metrics"]
    meta = onnx_model.metadata
    assert meta["opset"] == 20 and meta["framework"] == "onnx" and meta["embed_preprocessing"] is True
    assert [i["name"] for i in meta["inputs"]] == ["numeric", "categorical"]
    assert meta["parity_max_abs_diff"] <= 1e-4 and meta["preprocessing_max_abs_diff"] <= 1e-4
    for runtime in ("pytorch", "onnxruntime", "onnxruntime_raw_inputs"):
        assert meta[f"latency_ms_{runtime}_batch_1"] > 0 and meta[f"latency_ms_{runtime}_batch_256"] > 0
    assert metrics.metadata["onnx-speedup-batch1"] > 0 and "pytorch-latency-ms-batch256" in metrics.metadata

    session = ort.InferenceSession(str(Path(onnx_model.path) / run.ONNX_FILE))
    interface = pg.raw_interface(stats, stats["feature_columns"])
    (out,) = session.run(None, pg.raw_feeds(interface, warehouse.raw_rows[:5]))
    assert out.shape == (5, 3) and np.isfinite(out).all()
    summaries = [p for p in Path(kfp_local).rglob("summary") if p.is_file()]
    assert len(summaries) == 1 and "Embedded preprocessing" in summaries[0].read_text()
