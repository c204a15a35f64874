"""The model directory: checked before training, written after it, and recognised after a restart.

An existing ``model.pt`` is never replaced without ``--overwrite``, with one exception that is not a
replacement: a restart of the *same* run after rank 0 saved the model. If a peer dies between rank 0
writing ``model.pt`` and the process exiting, torchrun (``--max-restarts``) or the pod's
``restartPolicy: OnFailure`` starts the run again with the same arguments. When ``--checkpoint-dir``
then holds a finished checkpoint of this very run (same fingerprint: model, options and data) and
``model.pt`` holds exactly that checkpoint's weights, the run is already done: it reports the saved
metrics again and exits 0 instead of failing for good.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from components.train import models, storage
from components.train.checkpoint import CHECKPOINT_FILE, Checkpointer, is_finished
from components.train.errors import CheckpointError, OutputError
from components.train.options import TrainOptions
from components.train.reporting import METRICS_FILE, METRICS_FORMAT, write_metrics


def _join(model_dir: str, name: str) -> str:
    return f"{model_dir.rstrip('/')}/{name}"


def check_model_dir(options: TrainOptions, model_dir: str, local_model_dir: Path) -> bool:
    """Rank 0, before any data is read: fail if the model cannot be written or would replace one.

    Returns True when ``model.pt`` exists, ``--overwrite`` is off and a checkpoint exists that may
    show it to be this run's finished result; :func:`finished_metrics` decides once the run's
    fingerprint is known (it needs the data).
    """
    storage.check_writable(model_dir)
    if local_model_dir != Path(model_dir):
        local_model_dir.mkdir(parents=True, exist_ok=True)
    target = _join(model_dir, models.WEIGHTS_FILE)
    if options.overwrite or not storage.exists(target):
        return False
    checkpoint = Path(options.checkpoint_dir or "") / CHECKPOINT_FILE
    if options.checkpoint_dir and not storage.is_uri(options.checkpoint_dir) and checkpoint.is_file():
        return True
    raise OutputError(f"{target} already exists; pass --overwrite to replace the model in {model_dir}")


def finished_metrics(
    options: TrainOptions, model_dir: str, checkpointer: Checkpointer, config: dict[str, Any]
) -> dict[str, Any] | None:
    """For a run whose ``model.pt`` already exists (rank 0, after :func:`check_model_dir` said so).

    Returns the saved metrics when the checkpoint is a finished one of this run and the model
    directory holds its outputs: nothing is left to train. Returns None when ``model.pt`` holds the
    checkpoint's final weights but the config or metrics file is missing or stale (rank 0 died while
    writing them): the run then writes the directory again with the same weights. Anything else is
    an :class:`OutputError`, because the existing model would be replaced.
    """
    target = _join(model_dir, models.WEIGHTS_FILE)
    where = f"--checkpoint-dir {str(checkpointer.directory)!r}"

    def refuse(reason: str) -> OutputError:
        return OutputError(
            f"{target} already exists and {reason}; pass --overwrite to replace the model in {model_dir}"
        )

    try:
        state = checkpointer.load()
    except CheckpointError as exc:
        raise refuse(f"is not this run's result: {exc}") from exc
    if state is None:
        raise refuse(f"{where} holds no checkpoint that shows it is this run's result")
    if not is_finished(state, epochs=options.epochs, max_steps=options.max_steps):
        raise refuse(
            f"the checkpoint in {where} is not finished (epoch {state['epoch']} of {options.epochs}, "
            f"step {state['step']}), so the model is not this run's result"
        )
    weights = torch.load(io.BytesIO(storage.read_bytes(target)), map_location="cpu", weights_only=True)
    if not _same_tensors(weights, state["model"]):
        raise refuse(f"its weights are not the final weights of the finished checkpoint in {where}")
    saved_config = _read_json(_join(model_dir, models.CONFIG_FILE))
    metrics = _read_json(_join(model_dir, METRICS_FILE))
    config_ok = saved_config == json.loads(json.dumps(config))
    metrics_ok = (
        isinstance(metrics, dict)
        and metrics.get("format") == METRICS_FORMAT
        and metrics.get("steps") == state["step"]
    )
    return metrics if config_ok and metrics_ok else None


def _same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a
    )


def _read_json(path: str) -> Any:
    try:
        return json.loads(storage.read_text(path))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_model_dir(
    state_dict: dict[str, torch.Tensor],
    config: dict[str, Any],
    metrics: dict[str, Any],
    model_dir: str,
    local_model_dir: Path,
) -> None:
    """``model.pt`` and ``model_config.json``, then ``metrics.json`` (last: its presence means the
    directory is complete); uploaded when the model directory is a URI."""
    models.save_model(state_dict, config, local_model_dir)
    write_metrics(metrics, local_model_dir)
    publish(model_dir, local_model_dir)


def publish(model_dir: str, local_model_dir: Path, *, upload: bool = True) -> None:
    """Upload a staged directory to a URI model directory (unless ``upload`` is off) and remove the
    staging copy; nothing to do for a local model directory."""
    if storage.is_uri(model_dir):
        if upload:
            storage.upload_dir(local_model_dir, model_dir)
        shutil.rmtree(local_model_dir, ignore_errors=True)
