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
from kfp.dsl import Dataset, Metrics, Model

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


def test_component_runs_locally(kfp_local, mlp_dir, tmp_path):
    from components.export_onnx.component import export_onnx

    config = json.loads((mlp_dir / "model_config.json").read_text())
    test_file = tmp_path / "test.parquet"
    write_test_split(test_file, config["feature_columns"])

    class Outputs(NamedTuple):
        onnx_model: Model
        metrics: Metrics

    @dsl.pipeline(name="export-onnx-local")
    def pipeline(model_uri: str, test_uri: str) -> Outputs:
        model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=False)
        test = dsl.importer(artifact_uri=test_uri, artifact_class=Dataset, reimport=False)
        task = export_onnx(model=model.output, test_data=test.output, latency_repeats=2, sample_rows=32)
        return Outputs(task.outputs["onnx_model"], task.outputs["metrics"])

    result = pipeline(model_uri=str(mlp_dir), test_uri=str(test_file))

    onnx_model, metrics = result.outputs["onnx_model"], result.outputs["metrics"]
    assert onnx_model.metadata["opset"] == 20 and onnx_model.metadata["framework"] == "onnx"
    assert onnx_model.metadata["inputs"] == [{"name": "features", "dtype": "float32", "shape": ["batch", 12]}]
    assert onnx_model.metadata["parity_max_abs_diff"] <= 1e-4
    assert onnx_model.metadata["latency_ms_onnxruntime_batch_1"] > 0
    assert onnx_model.metadata["embed_preprocessing"] is False
    assert metrics.metadata["onnx-speedup-batch1"] > 0 and "pytorch-latency-ms-batch256" in metrics.metadata

    model_dir = Path(onnx_model.path)
    report = json.loads((model_dir / run.REPORT_FILE).read_text())
    assert report["parity_rows"] == 32
    session = ort.InferenceSession(str(model_dir / run.ONNX_FILE))
    (out,) = session.run(None, {"features": np.zeros((5, 12), np.float32)})
    assert out.shape == (5, 3)
    summaries = [p for p in Path(kfp_local).rglob("summary") if p.is_file()]
    assert len(summaries) == 1 and "onnxruntime speed-up" in summaries[0].read_text()
