"""The shorter end-to-end run: the demo's pipelines through kfp.local with small settings."""

import json
from pathlib import Path

import onnx
import pytest
import yaml

from pipelines.demo import run_demo
from pipelines.registry import COMPONENTS, PIPELINES


@pytest.mark.slow
def test_quick_demo_runs_both_pipelines_end_to_end(tmp_path, capsys):
    facts = run_demo(tmp_path / "work", dist_dir=tmp_path / "dist", quick=True)
    printed = capsys.readouterr().out

    rows = facts["split_rows"]
    assert rows["rows_train"] + rows["rows_validation"] + rows["rows_test"] == 1797  # all of digits
    assert facts["test_metrics"]["test-accuracy"] > 0.5  # 3 epochs of 2-process DDP on 10 classes
    assert facts["onnx"]["onnx-parity-max-abs-diff"] < 1e-4
    assert facts["onnx_file"].endswith(".onnx")
    onnx_model = onnx.load(facts["onnx_file"])
    assert {i.name for i in onnx_model.graph.input} == {"numeric"}  # raw features: preprocessing inside
    assert any(Path(facts["tensorboard"]).rglob("*tfevents*"))

    best = json.loads(facts["best_hyperparameters"])
    assert {"lr", "hidden-sizes", "dropout", "epochs"} <= set(best)
    assert facts["tuned_test_metrics"]["test-accuracy"] > 0.3

    compiled = sorted(str(Path(p).relative_to(tmp_path / "dist")) for p in facts["compiled"])
    shipped = [*(f"{n}.yaml" for n in PIPELINES), *(f"components/{n}.yaml" for n in COMPONENTS)]
    assert compiled == sorted(shipped)
    for path in facts["compiled"]:
        assert next(yaml.safe_load_all(Path(path).read_text()))["pipelineInfo"]["name"]
    assert "kwp demo summary" in printed and "onnx file" in printed
    assert "  train: success in" in printed and "  tune: success in" in printed  # one line per step
    assert "Streamed logs" not in printed  # kfp.local's own output went to each run's log file
    assert len(list((tmp_path / "work").rglob("kfp-local.log"))) == 2
    pictures = {p.name for p in (tmp_path / "work").rglob("pictures/*")}
    assert {"train-learning_curves.html", "tune-schedule.html", "preprocess-summary.md"} <= pictures
