"""The whole training run: checks, data, model, ``fit``, and the model directory.

``train`` is the in-process API (one process, no torchrun) for Hyperband, Katib's local runner and the
benchmarks; ``run`` is what every torchrun worker executes from the command line. Both go through the
same steps, so a trial trained in-process and one trained as a PyTorchJob produce the same files:

``model_dir/model_config.json``, ``model_dir/model.pt``, ``model_dir/metrics.json`` and
``model_dir/tensorboard/`` (unless ``tensorboard_dir`` points elsewhere). A restart of a run that
already wrote them reports their metrics again instead of training (see ``outputs``).
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from components.train import distributed, models, outputs, storage
from components.train.checkpoint import Checkpointer, run_identity
from components.train.data import TensorSplit, load_splits, split_identity
from components.train.distributed import Topology
from components.train.errors import OutputError, TrainingInputError
from components.train.loop import fit
from components.train.options import TrainOptions
from components.train.reporting import (
    CompositeReporter,
    KatibStdoutReporter,
    Reporter,
    TensorBoardReporter,
    summarize,
)

TENSORBOARD_SUBDIR = "tensorboard"


@dataclass
class _Prepared:
    train: TensorSplit
    val: TensorSplit
    config: dict[str, Any]
    local_model_dir: Path
    tensorboard_dir: Path | None
    checkpointer: Checkpointer | None
    finished: dict[str, Any] | None = None  # rank 0: metrics of this run, already in the model dir


def _prepare(
    options: TrainOptions, train_path: str, validation_path: str, model_dir: str, topology: Topology
) -> _Prepared:
    local_model_dir = Path(model_dir)
    model_exists = False
    if topology.is_main:
        if storage.is_uri(model_dir):  # written here, uploaded at the end
            local_model_dir = Path(tempfile.mkdtemp(prefix="kwp-model-"))
        model_exists = outputs.check_model_dir(options, model_dir, local_model_dir)
    train, val, columns, classes = load_splits(
        train_path,
        validation_path,
        stats_path=options.stats,
        label_column=options.label_column,
        key_column=options.key_column,
        feature_columns=options.feature_columns,
    )
    config = models.make_config(
        options.model,
        options.model_options,
        classes=classes,
        feature_columns=columns.feature_columns,
        label_column=columns.label_column,
        stats_uri=columns.stats_uri,
    )
    tensorboard_dir = None
    if options.tensorboard:
        tensorboard_dir = local_model_dir / TENSORBOARD_SUBDIR
        if options.tensorboard_dir:
            if storage.is_uri(options.tensorboard_dir):
                raise OutputError(
                    f"--tensorboard-dir {options.tensorboard_dir!r} must be local; events under the model "
                    "directory are uploaded with it when the model directory is a URI"
                )
            tensorboard_dir = Path(options.tensorboard_dir)
        if topology.is_main:
            storage.check_writable(str(tensorboard_dir))
    checkpointer = None
    finished = None
    if options.checkpoint_dir:
        data = {
            "train": split_identity(train_path, train),
            "validation": split_identity(validation_path, val),
        }
        identity = run_identity(config, options.to_dict(), data)
        checkpointer = Checkpointer(options.checkpoint_dir, identity, is_main=topology.is_main)
        checkpointer.check_writable()
        if model_exists:
            finished = outputs.finished_metrics(options, model_dir, checkpointer, config)
    return _Prepared(train, val, config, local_model_dir, tensorboard_dir, checkpointer, finished)


def _agree(error: BaseException | None, finished: bool) -> bool:
    """Every rank learns whether any rank's checks failed, so all stop with an error instead of some
    waiting forever in the first collective; and whether rank 0 found the run already finished."""
    flags = torch.tensor([1.0 if error else 0.0, 1.0 if finished else 0.0])
    distributed.all_reduce_sum(flags)
    if error is not None:
        raise error
    if flags[0].item() > 0:
        raise TrainingInputError("another rank failed its input checks; see that rank's error message")
    return flags[1].item() > 0


def run(
    options: TrainOptions,
    train_path: str,
    validation_path: str,
    model_dir: str,
    *,
    topology: Topology,
    reporter: Reporter | None = None,
    katib_stdout: bool = True,
) -> dict[str, Any]:
    """One worker's part of a (possibly distributed) run; returns the metrics written to metrics.json."""
    options.validate()
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    device = distributed.select_device(options.device, topology)
    created = distributed.init_process_group(topology, device, needed=options.fsdp)
    error: BaseException | None = None
    prepared: _Prepared | None = None
    try:
        try:
            prepared = _prepare(options, train_path, validation_path, str(model_dir), topology)
        except TrainingInputError as exc:
            error = exc
        if _agree(error, prepared is not None and prepared.finished is not None):
            metrics = _report_finished(prepared, str(model_dir), topology, reporter, katib_stdout)
        else:
            metrics = _train_prepared(
                options, prepared, str(model_dir), topology, device, reporter, katib_stdout
            )
    except BaseException:
        if created:
            distributed.abandon_process_group(topology)
        raise
    distributed.release_process_group(created, topology)
    return metrics


def _main_reporters(
    prepared: _Prepared, reporter: Reporter | None, katib_stdout: bool, *, tensorboard: bool
) -> CompositeReporter:
    reporters: list[Reporter] = []
    if katib_stdout:
        reporters.append(KatibStdoutReporter())
    if tensorboard and prepared.tensorboard_dir is not None:
        reporters.append(TensorBoardReporter(prepared.tensorboard_dir))
    if reporter is not None:
        reporters.append(reporter)
    return CompositeReporter(reporters)


def _report_finished(
    prepared: _Prepared,
    model_dir: str,
    topology: Topology,
    reporter: Reporter | None,
    katib_stdout: bool,
) -> dict[str, Any]:
    """A restart after this run's outputs were written: report the saved epochs again (a Katib
    collector reading only this attempt's log still sees every metric) and train nothing."""
    metrics = distributed.broadcast_object(prepared.finished)
    if topology.is_main:
        print(
            f"{model_dir} already holds the result of this run (finished checkpoint in "
            f"{prepared.checkpointer.directory}); reporting its metrics, nothing left to train",
            file=sys.stderr,
            flush=True,
        )
        composite = _main_reporters(prepared, reporter, katib_stdout, tensorboard=False)
        for record in metrics["history"]:
            composite.on_epoch_end(record)
        composite.close()
        outputs.publish(model_dir, prepared.local_model_dir, upload=False)
    return metrics


def _train_prepared(
    options: TrainOptions,
    prepared: _Prepared,
    model_dir: str,
    topology: Topology,
    device: torch.device,
    reporter: Reporter | None,
    katib_stdout: bool,
) -> dict[str, Any]:
    torch.manual_seed(options.seed)  # identical initial weights on every rank
    model = models.build_model(prepared.config)
    if topology.is_main:
        composite = _main_reporters(prepared, reporter, katib_stdout, tensorboard=True)
    else:
        composite = CompositeReporter([])
    try:
        result = fit(
            model,
            prepared.train,
            prepared.val,
            options,
            composite,
            checkpointer=prepared.checkpointer,
            device=device,
        )
    finally:
        composite.close()
    metrics = summarize(
        result.history,
        world_size=distributed.world_size(),
        resumed_from=result.resumed_from,
        train_seconds=result.train_seconds,
        train_cpu_seconds=result.train_cpu_seconds,
        device=device.type,
        precision=options.precision,
        model_dir=model_dir,
    )
    if topology.is_main:
        outputs.write_model_dir(
            result.state_dict, prepared.config, metrics, model_dir, prepared.local_model_dir
        )
    return metrics


def train(
    options: TrainOptions,
    train_path: str,
    validation_path: str,
    model_dir: str,
    *,
    reporter: Reporter | None = None,
    katib_stdout: bool = False,
) -> dict[str, Any]:
    """Train in this process (world size 1, no torchrun) and write the model directory.

    Returns the metrics dict also written to ``model_dir/metrics.json``: ``final`` and ``best`` epoch
    records (loss, accuracy, val_loss, val_accuracy, ...), ``epochs``, ``steps`` and ``history``.
    Called again after the same run finished (same ``checkpoint_dir``), it returns the saved metrics.
    """
    return run(
        options,
        train_path,
        validation_path,
        model_dir,
        topology=Topology(),
        reporter=reporter,
        katib_stdout=katib_stdout,
    )
