"""export_onnx on models from the real registry: parity, dynamic batch, checker, metadata, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from components.export_onnx import exporter
from components.export_onnx.errors import (
    ExportError,
    ModelDirError,
    ModelNotFoundError,
    OutputExistsError,
    ParityError,
)
from components.export_onnx.export import export_onnx, export_trained_module
from components.export_onnx.report import read_metadata
from components.train import models

FAST = {"latency_repeats": 2}


@pytest.fixture(scope="module")
def exported_mlp(mlp_dir, tmp_path_factory):
    sample = np.random.default_rng(0).normal(size=(40, 12)).astype(np.float32)
    out = tmp_path_factory.mktemp("mlp_out") / "model.onnx"
    return export_onnx(mlp_dir, out, sample=sample, **FAST), sample


@pytest.fixture(scope="module")
def exported_cnn(cnn_dir, tmp_path_factory):
    sample = np.random.default_rng(1).uniform(0, 16, size=(30, 64)).astype(np.float32)
    out = tmp_path_factory.mktemp("cnn_out") / "model.onnx"
    return export_onnx(cnn_dir, out, sample=sample, **FAST), sample


def torch_logits(model_dir: Path, batch: np.ndarray) -> np.ndarray:
    module, _ = models.load_model(model_dir)
    with torch.inference_mode():
        return module(torch.from_numpy(batch)).numpy()


@pytest.mark.parametrize("which", ["exported_mlp", "exported_cnn"])
def test_parity_and_dynamic_batch(which, request, mlp_dir, cnn_dir):
    report, sample = request.getfixturevalue(which)
    model_dir = mlp_dir if which == "exported_mlp" else cnn_dir
    assert report.parity_max_abs_diff <= 1e-4
    assert report.parity_rows == len(sample)
    session = ort.InferenceSession(report.onnx_path, providers=["CPUExecutionProvider"])
    for rows in (1, 7, 256):
        batch = sample[np.arange(rows) % len(sample)]
        (onnx_out,) = session.run(None, {"features": batch})
        expected = torch_logits(model_dir, batch)
        assert onnx_out.shape == expected.shape == (rows, len(report.classes))
        np.testing.assert_allclose(onnx_out, expected, atol=1e-4, rtol=0)


def test_checker_and_interface(exported_cnn):
    report, _ = exported_cnn
    onnx.checker.check_model(report.onnx_path, full_check=True)
    model = onnx.load(report.onnx_path)
    assert {o.domain: o.version for o in model.opset_import}[""] == 20
    # The CNN takes flat pixel rows (as Parquet holds them) and reshapes inside the graph.
    assert report.inputs == [{"name": "features", "dtype": "float32", "shape": ["batch", 64]}]
    assert report.outputs == [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}]
    assert report.image_shape == [1, 8, 8]
    assert not report.external_data and not Path(report.onnx_path + ".data").exists()


def test_metadata_and_report_agree(exported_mlp, mlp_dir):
    report, _ = exported_mlp
    props = read_metadata(report.onnx_path)
    config = json.loads((mlp_dir / "model_config.json").read_text())
    assert props["opset"] == "20"
    assert json.loads(props["classes"]) == config["classes"] == ["no", "yes", "maybe"]
    assert json.loads(props["feature_columns"]) == config["feature_columns"]
    assert json.loads(props["inputs"]) == report.inputs
    assert float(props["parity_max_abs_diff"]) == report.parity_max_abs_diff
    latency = json.loads(props["latency_ms"])
    assert set(latency) == {"pytorch", "onnxruntime"}
    assert all(set(v) == {"batch_1", "batch_256"} and min(v.values()) > 0 for v in latency.values())
    on_disk = json.loads(Path(report.report_path).read_text())
    assert on_disk == json.loads(report.to_json())
    assert on_disk["format"] == "kwp.onnx" and on_disk["architecture"] == "mlp"


def test_random_batch_when_no_sample(mlp_dir, tmp_path):
    report = export_onnx(mlp_dir, tmp_path / "m.onnx", **FAST)
    assert report.parity_rows == 64 and report.parity_max_abs_diff <= 1e-4


def test_external_data_when_weights_exceed_threshold(mlp_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(exporter, "EXTERNAL_DATA_THRESHOLD", 0)  # stands in for a > 2 GB model
    report = export_onnx(mlp_dir, tmp_path / "big.onnx", **FAST)
    data = tmp_path / "big.onnx.data"
    assert report.external_data and data.stat().st_size > 1000
    onnx.checker.check_model(str(tmp_path / "big.onnx"), full_check=True)
    batch = np.ones((3, 12), np.float32)
    (out,) = ort.InferenceSession(str(tmp_path / "big.onnx")).run(None, {"features": batch})
    np.testing.assert_allclose(out, torch_logits(mlp_dir, batch), atol=1e-4)


def test_missing_model_dir(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        export_onnx(tmp_path / "nowhere", tmp_path / "m.onnx")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model_config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match=r"model\.pt"):
        export_onnx(tmp_path / "half", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_unknown_architecture(mlp_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pt").write_bytes((mlp_dir / "model.pt").read_bytes())
    config = json.loads((mlp_dir / "model_config.json").read_text())
    config["architecture"] = "transformer"
    (broken / "model_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match=r"unknown model 'transformer'.*mlp"):
        export_onnx(broken, tmp_path / "m.onnx")


class Drifting(torch.nn.Module):
    """Python-side state changes on every call: torch.export freezes it, eager PyTorch does not."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.linear(x) + float(self.calls)


def test_tolerance_violation_is_a_clear_error_and_writes_nothing(tmp_path):
    config = {"architecture": "drifting", "input_dim": 4, "classes": [0, 1], "feature_columns": list("abcd")}
    out = tmp_path / "drift.onnx"
    with pytest.raises(ParityError, match=r"differs from PyTorch by .* above the tolerance 0\.0001"):
        export_trained_module(Drifting(), config, out, **FAST)
    assert list(tmp_path.iterdir()) == []  # no output, no report, no staging directory left behind


def test_existing_output_refused_unless_overwrite(mlp_dir, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        export_onnx(mlp_dir, out, **FAST)
    assert out.read_bytes() == b"precious"
    report = export_onnx(mlp_dir, out, overwrite=True, **FAST)
    onnx.checker.check_model(str(out), full_check=True)
    assert Path(report.report_path).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opset": 17}, r"opset must be an integer in \[18, "),
        ({"tolerance": 0}, "tolerance must be a positive"),
        ({"threads": 0}, "threads must be a positive"),
        ({"sample": np.zeros((4, 5))}, r"sample must have rows of shape \[12\]"),
        ({"sample": np.zeros((0, 12))}, "sample must have rows"),
    ],
)
def test_bad_arguments(mlp_dir, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export_onnx(mlp_dir, tmp_path / "m.onnx", **kwargs)
    assert not (tmp_path / "m.onnx").exists()


def test_export_error_is_runtime_error():
    # Callers may catch the whole family; input errors that are ValueErrors stay ValueErrors.
    assert issubclass(ParityError, ExportError) and issubclass(ModelDirError, ValueError)
