"""Embedded preprocessing: raw-input ONNX == PyTorch on SQL-preprocessed (DuckDB) features == apply()."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from components.export_onnx import preprocessing_graph as pg
from components.export_onnx.errors import ParityError, PreprocessingGraphError
from components.export_onnx.export import export_onnx
from components.export_onnx.report import read_metadata
from components.preprocess.stats import apply
from components.train import models

FAST = {"latency_repeats": 2}


@pytest.fixture(scope="module")
def embedded(warehouse, tabular_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("embedded") / "model.onnx"
    report = export_onnx(tabular_dir, out, embed_preprocessing=True, stats=warehouse.stats,
                         raw_rows=warehouse.raw_rows, sample=warehouse.sql_features, **FAST)
    return report


def logits(model_dir, features: np.ndarray) -> np.ndarray:
    module, _ = models.load_model(model_dir)
    with torch.inference_mode():
        return module(torch.from_numpy(features.astype(np.float32))).numpy()


def as_matrix(vectors) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in vectors], dtype=np.float64)


def test_sql_and_apply_agree(warehouse):
    # The reference the graph is held to: the warehouse SQL and the Python apply() are the same function.
    applied = as_matrix(apply(warehouse.stats, warehouse.raw_rows))
    np.testing.assert_array_equal(applied, warehouse.sql_features)


def test_raw_input_onnx_equals_pytorch_on_sql_features(embedded, warehouse, tabular_dir):
    session = ort.InferenceSession(embedded.onnx_path, providers=["CPUExecutionProvider"])
    interface = pg.raw_interface(warehouse.stats, warehouse.stats["feature_columns"])
    (raw_logits,) = session.run(None, pg.raw_feeds(interface, warehouse.raw_rows))
    expected = logits(tabular_dir, warehouse.sql_features)
    assert raw_logits.shape == (len(warehouse.raw_rows), 3)
    np.testing.assert_allclose(raw_logits, expected, atol=1e-5, rtol=0)
    via_apply = logits(tabular_dir, as_matrix(apply(warehouse.stats, warehouse.raw_rows)))
    np.testing.assert_allclose(raw_logits, via_apply, atol=1e-5, rtol=0)
    assert embedded.preprocessing_max_abs_diff <= 1e-4


def test_preprocessing_graph_is_the_sql_in_float64(warehouse):
    features = warehouse.stats["feature_columns"]
    model = pg.preprocessing_model(warehouse.stats, features, opset=20, output_dtype=np.float64)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    interface = pg.raw_interface(warehouse.stats, features)
    (got,) = session.run(None, pg.raw_feeds(interface, warehouse.raw_rows))
    np.testing.assert_allclose(got, warehouse.sql_features, rtol=0, atol=1e-12)  # libm log: 1 ulp at most
    flat = features.index("flat")
    assert np.all(got[:, flat] == 0.0)  # zero variance gives 0, never NaN


def test_unseen_and_null_values(warehouse):
    stats = warehouse.stats
    features = stats["feature_columns"]
    model = pg.preprocessing_model(stats, features, opset=18, output_dtype=np.float64)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = [
        {"a": None, "b": -50.0, "flat": 9.0, "e": None, "m": None, "c": 1.0, "color": None, "city": None,
         "code": None},
        {"a": 1e6, "b": 1e6, "flat": 3.0, "e": -1e3, "m": 99.0, "c": -2.0, "color": "violet",
         "city": "Quito", "code": 12345},
        {"a": 1.0, "b": 2.0, "flat": 3.0, "e": 4.0, "m": 2.0, "c": None, "color": "blue", "city": "Oslo",
         "code": 11},
    ]
    (got,) = session.run(None, pg.raw_feeds(pg.raw_interface(stats, features), rows))
    expected = as_matrix(apply(stats, rows))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.isnan(got[2, features.index("c")])  # a NULL pass-through value stays NULL
    assert got[1, features.index("color__oov")] == 1.0 and got[1, features.index("city")] == 2.0


def test_interface_and_metadata(embedded):
    names = {i["name"]: i for i in embedded.inputs}
    assert names["numeric"] == {"name": "numeric", "dtype": "float64", "shape": ["batch", 6]}
    assert names["categorical"] == {"name": "categorical", "dtype": "object", "shape": ["batch", 3]}
    assert embedded.raw_numeric_columns == ["a", "b", "flat", "e", "m", "c"]
    assert embedded.raw_categorical_columns == ["color", "city", "code"]
    props = read_metadata(embedded.onnx_path)
    assert props["embed_preprocessing"] == "true"
    assert json.loads(props["raw_categorical_columns"]) == ["color", "city", "code"]
    assert "onnxruntime_raw_inputs" in json.loads(props["latency_ms"])
    onnx.checker.check_model(embedded.onnx_path, full_check=True)


def test_stats_from_file_and_from_stats_uri(warehouse, tabular_dir, tmp_path):
    stats_file = tmp_path / "stats.json"
    stats_file.write_text(json.dumps(warehouse.stats))
    report = export_onnx(tabular_dir, tmp_path / "a.onnx", embed_preprocessing=True, stats=stats_file, **FAST)
    assert report.preprocessing_max_abs_diff <= 1e-4
    with pytest.raises(PreprocessingGraphError, match="needs the fitted statistics"):
        export_onnx(tabular_dir, tmp_path / "b.onnx", embed_preprocessing=True, **FAST)
    with pytest.raises(PreprocessingGraphError, match="cannot read the statistics"):
        export_onnx(tabular_dir, tmp_path / "c.onnx", embed_preprocessing=True, stats=tmp_path / "no.json")
    assert not (tmp_path / "b.onnx").exists() and not (tmp_path / "c.onnx").exists()


def test_statistics_of_another_model_refused(warehouse, mlp_dir, tmp_path):
    with pytest.raises(PreprocessingGraphError, match=r"feature column\(s\) \['f0'"):
        export_onnx(mlp_dir, tmp_path / "m.onnx", embed_preprocessing=True, stats=warehouse.stats, **FAST)


def test_empty_string_in_vocabulary_refused(warehouse):
    stats = json.loads(json.dumps(warehouse.stats))
    city = next(c for c in stats["columns"] if c["name"] == "city")
    city["steps"][-1]["vocabulary"][1] = ""
    with pytest.raises(PreprocessingGraphError, match="empty string"):
        pg.preprocessing_model(stats, stats["feature_columns"], opset=20)


def test_wrong_graph_is_caught(warehouse, tabular_dir, tmp_path, monkeypatch):
    # Plain log(1 + x) instead of the signed log1p: negative inputs go wrong, and the check must say so.
    def unsigned_log1p(graph, name, x):
        return graph.op("Log", [graph.op("Add", [graph.const(1.0, np.float64), x], "p")], "log")

    monkeypatch.setattr(pg, "_signed_log1p", unsigned_log1p)
    with pytest.raises(ParityError, match="raw-input model differs"):
        export_onnx(tabular_dir, tmp_path / "m.onnx", embed_preprocessing=True, stats=warehouse.stats, **FAST)
    assert list(tmp_path.iterdir()) == []
