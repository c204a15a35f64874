"""``darts-nas`` end to end through kfp.local, with a search and a network small enough for a test."""

import json
import re

import pytest

from pipelines.local import run_local

TINY = {
    "darts_settings": json.dumps({"num_epochs": 1, "init_channels": 4, "num_nodes": 2, "batch_size": 64}),
    "num_layers": 2,
    "epochs": 1,
    "network_options": json.dumps({"model_options": {"init_channels": 4, "num_layers": 2}}),
}


@pytest.mark.slow
def test_darts_nas_searches_trains_the_derived_network_and_exports_it(tmp_path, capsys):
    summary = run_local("darts-nas", TINY, workdir=tmp_path)
    printed = capsys.readouterr().out

    network = summary.task("genotype-training-args").parameters["Output"]
    genotype = json.loads(network)["model_options"]["genotype"]
    assert genotype["normal"] and genotype["reduce"]  # the search's Best-Genotype, parsed back
    model = summary.task("train").metrics["model"]
    assert model["epochs"] == 1 and model["num_classes"] == 10
    assert summary.task("export-onnx").metrics["metrics"]["onnx-parity-max-abs-diff"] < 1e-4
    assert summary.task("evaluate").metrics["metrics"]["test-rows"] > 0
    assert "  tune: success in" in printed
    # the Experiment YAML output is one line of the closing summary, not 60
    assert re.search(r"Output = apiVersion: kubeflow.org/v1beta1 \.\.\. \(\d+ lines\)", printed)
    assert "\nkind: Experiment" not in printed
