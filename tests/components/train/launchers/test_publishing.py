"""The train step's outputs, from a model directory as the trainer leaves it."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from components.train.launchers.publishing import model_metadata, publish
from components.train.launchers.step import TrainResult, TrainStepConfig


@dataclass
class Artifact:
    """The parts of a KFP output artifact that ``publish`` uses."""

    path: str
    uri: str = ""
    metadata: dict = field(default_factory=dict)
    logged: dict = field(default_factory=dict)

    def log_metric(self, name: str, value: float) -> None:
        self.logged[name] = value


def _model_dir(root: Path, *, tensorboard: bool) -> Path:
    model = root / "model"
    model.mkdir()
    config = {"architecture": "mlp", "num_classes": 3, "classes": [0, 1, 2], "feature_columns": ["a"],
              "label_column": "y", "stats_uri": "/data/stats.json"}  # fmt: skip
    (model / "model_config.json").write_text(json.dumps(config))
    history = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e, "accuracy": 0.5, "val_accuracy": 0.4}
               for e in (1, 2)]  # fmt: skip
    metrics = {"epochs": 2, "world_size": 2, "final": history[-1], "history": history}
    (model / "metrics.json").write_text(json.dumps(metrics))
    if tensorboard:
        (model / "tensorboard").mkdir()
        (model / "tensorboard" / "events.out.tfevents.1").write_bytes(b"x")
    return model


def _outputs(root: Path) -> dict[str, Artifact]:
    names = ("model", "metrics", "tensorboard", "curves")
    return {name: Artifact(str(root / "out" / name)) for name in names}


def test_publish_fills_every_output_from_the_model_directory(tmp_path):
    model_dir = _model_dir(tmp_path, tensorboard=True)
    result = TrainResult(str(model_dir), json.loads((model_dir / "metrics.json").read_text()), "local")
    out = _outputs(tmp_path)
    publish(result, TrainStepConfig(nproc_per_node=2), model=out["model"], metrics=out["metrics"],
            tensorboard=out["tensorboard"], sources={"train": "s3://b/train"},
            learning_curves=out["curves"])  # fmt: skip
    assert out["metrics"].logged == {"loss": 0.5, "accuracy": 0.5, "val_loss": 0.6, "val_accuracy": 0.4,
                                     "epochs": 2.0}  # fmt: skip
    meta = out["model"].metadata
    assert meta["statistics_uri"] == "/data/stats.json" and meta["train_uri"] == "s3://b/train"
    assert meta["world_size"] == 2 and meta["backend"] == "local" and "job_name" not in meta
    assert out["tensorboard"].metadata == {"event_files": 1, "format": "tensorboard"}
    assert Path(out["curves"].path).read_text().count("<polyline") == 4


def test_a_training_without_event_files_still_gets_an_empty_tensorboard_output(tmp_path):
    model_dir = _model_dir(tmp_path, tensorboard=False)
    result = TrainResult(str(model_dir), json.loads((model_dir / "metrics.json").read_text()), "local")
    out = _outputs(tmp_path)
    publish(result, TrainStepConfig(), model=out["model"], metrics=out["metrics"],
            tensorboard=out["tensorboard"])  # fmt: skip
    assert Path(out["tensorboard"].path).is_dir() and out["tensorboard"].metadata["event_files"] == 0


def test_metadata_of_a_kubernetes_job_names_the_job_and_drops_unknowns(tmp_path):
    result = TrainResult("/m", {"epochs": 1, "final": {}}, "kubernetes", "kwp-train-run-1", "pytorchjob",
                         reused=True)  # fmt: skip
    meta = model_metadata(result, TrainStepConfig(backend="kubernetes"), {"architecture": "mlp"}, None, {})
    assert meta["job_name"] == "kwp-train-run-1" and meta["reused_outputs"] is True
    assert None not in meta.values() and "val_loss" not in meta
