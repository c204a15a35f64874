"""The ``train`` KFP component through kfp.local: two torchrun processes on tiny Parquet splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from kfp import compiler, dsl

from components.train.component import train

pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping:RuntimeWarning")  # no containers here

FEATURES = [f"x{i}" for i in range(6)]


def write_splits(directory: Path) -> dict[str, str]:
    """Parquet with the preprocessing layout (key, label, float features) and its statistics JSON."""
    rng = np.random.default_rng(11)
    paths = {}
    for split, rows in (("train", 128), ("validation", 48)):
        x = rng.normal(size=(rows, len(FEATURES))).astype(np.float32)
        table = {
            "key": [f"k{split}{i}" for i in range(rows)],
            "label": np.where(x[:, 0] > x[:, 1], "yes", "no"),
        }
        table.update({name: x[:, i] for i, name in enumerate(FEATURES)})
        paths[split] = str(directory / f"{split}.parquet")
        pq.write_table(pa.table(table), paths[split])
    stats = {"key_column": "key", "label_column": "label", "feature_columns": FEATURES}
    paths["stats"] = str(directory / "stats.json")
    Path(paths["stats"]).write_text(json.dumps(stats))
    return paths


@pytest.mark.slow
def test_train_runs_two_processes_through_kfp_local(kfp_local, tmp_path):
    paths = write_splits(tmp_path)

    @dsl.pipeline(name="train-only")
    def pipeline():
        train_data = dsl.importer(artifact_uri=paths["train"], artifact_class=dsl.Dataset)
        validation = dsl.importer(artifact_uri=paths["validation"], artifact_class=dsl.Dataset)
        stats = dsl.importer(artifact_uri=paths["stats"], artifact_class=dsl.Artifact)
        train(
            train_data=train_data.output,
            validation_data=validation.output,
            stats=stats.output,
            nproc_per_node=2,
            epochs=3,
            batch_size=16,
            extra_args=json.dumps({"hidden_sizes": [16], "num_threads": 1, "seed": 3}),
        )

    pipeline()
    (executor_output,) = Path(kfp_local).rglob("train/executor_output.json")
    outputs = json.loads(executor_output.read_text())["artifacts"]

    def artifact(name: str) -> dict:
        return outputs[name]["artifacts"][0]

    model_dir = executor_output.parent / "model"
    assert sorted(p.name for p in model_dir.iterdir() if p.is_file()) == [
        "metrics.json",
        "model.pt",
        "model_config.json",
    ]
    metrics_json = json.loads((model_dir / "metrics.json").read_text())
    assert metrics_json["world_size"] == 2 and metrics_json["epochs"] == 3
    model_meta = artifact("model")["metadata"]
    assert model_meta["backend"] == "local" and model_meta["nproc_per_node"] == 2
    assert model_meta["classes"] == ["no", "yes"] and model_meta["feature_columns"] == FEATURES
    assert model_meta["statistics_uri"] == paths["stats"]
    assert model_meta["train_uri"] == paths["train"]
    # checkpoints by default, beside (not inside) the model output, so a torchrun restart resumes
    assert model_meta["checkpoint_dir"] == f"{model_dir}.checkpoints"
    assert (Path(model_meta["checkpoint_dir"]) / "checkpoint.pt").is_file()
    logged = artifact("metrics")["metadata"]
    assert logged["epochs"] == 3 and 0.0 <= logged["val_accuracy"] <= 1.0
    assert logged["val_loss"] == pytest.approx(metrics_json["final"]["val_loss"])
    events = list((executor_output.parent / "tensorboard").rglob("*tfevents*"))
    assert events and artifact("tensorboard")["metadata"]["event_files"] == len(events)
    assert "<svg" in (executor_output.parent / "learning_curves").read_text()


def test_component_compiles_with_defaults(tmp_path):
    path = tmp_path / "train.yaml"
    compiler.Compiler().compile(train, str(path))
    text = path.read_text()
    assert "kwp-runtime" in text and "components.train.launchers.step" in text
    params = yaml.safe_load(text)["root"]["inputDefinitions"]["parameters"]
    assert params["node_selector"] == {"defaultValue": "{}", "isOptional": True, "parameterType": "STRING"}
    assert params["tolerations"] == {"defaultValue": "[]", "isOptional": True, "parameterType": "STRING"}
