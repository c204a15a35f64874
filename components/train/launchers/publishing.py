"""The ``train`` component's outputs from a finished training: metrics, model metadata, TensorBoard
logs and learning curves.

Artifacts are duck-typed (``path``, ``uri``, ``metadata``, ``log_metric``), so tests pass simple objects
and the component passes KFP artifacts.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.train.launchers.step import MODEL_FILES, Located, TrainResult, TrainStepConfig

#: Where the trainer writes its event files inside the model directory.
TENSORBOARD_SUBDIR = "tensorboard"


def publish(
    result: TrainResult,
    config: TrainStepConfig,
    *,
    model: Any,
    metrics: Any,
    tensorboard: Any,
    stats: Located | None = None,
    sources: Mapping[str, str] | None = None,
    learning_curves: Any = None,
) -> None:
    """Fill the output artifacts: scalar metrics, model metadata, TensorBoard logs, learning curves."""
    final = result.metrics.get("final") or {}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in final:
            metrics.log_metric(key, float(final[key]))
    metrics.log_metric("epochs", float(result.metrics.get("epochs", 0)))
    model_config = json.loads((Path(result.model_dir) / "model_config.json").read_text())
    model.metadata.update(model_metadata(result, config, model_config, stats, sources or {}))
    copy_tensorboard(result.model_dir, tensorboard)
    if learning_curves is not None:
        Path(learning_curves.path).write_text(curves_html(result.metrics.get("history") or []))


def model_metadata(
    result: TrainResult,
    config: TrainStepConfig,
    model_config: Mapping[str, Any],
    stats: Located | None,
    sources: Mapping[str, str],
) -> dict[str, Any]:
    final = result.metrics.get("final") or {}
    meta = {
        "framework": "pytorch",
        "architecture": model_config.get("architecture"),
        "num_classes": model_config.get("num_classes"),
        "classes": model_config.get("classes"),
        "feature_columns": model_config.get("feature_columns"),
        "label_column": model_config.get("label_column"),
        "files": list(MODEL_FILES),
        "statistics_uri": stats.uri if stats else model_config.get("stats_uri"),
        "backend": result.backend,
        "num_nodes": config.num_nodes,
        "nproc_per_node": config.nproc_per_node,
        "world_size": result.metrics.get("world_size"),
        "epochs": result.metrics.get("epochs"),
        "val_accuracy": final.get("val_accuracy"),
        "val_loss": final.get("val_loss"),
        "checkpoint_dir": result.checkpoint_dir,
        **{f"{k}_uri": v for k, v in sources.items()},
    }
    if result.job_name:
        meta.update(job_name=result.job_name, job_kind=result.job_kind, reused_outputs=result.reused)
    return {k: v for k, v in meta.items() if v is not None}


def copy_tensorboard(model_dir: str, tensorboard: Any) -> None:
    source = Path(model_dir) / TENSORBOARD_SUBDIR
    target = Path(tensorboard.path)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
        tensorboard.metadata["event_files"] = sum(1 for p in target.rglob("*tfevents*"))
    else:
        target.mkdir(parents=True, exist_ok=True)
        tensorboard.metadata["event_files"] = 0
    tensorboard.metadata["format"] = "tensorboard"


def curves_html(history: list[Mapping[str, Any]]) -> str:
    """Loss and accuracy per epoch, drawn from the trainer's history records."""
    from components.evaluate.report import learning_curves_html

    return learning_curves_html(history, title="Training curves")
