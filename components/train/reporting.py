"""Per-epoch reporting: Katib StdOut lines, TensorBoard event files and the final metrics JSON.

Katib's default StdOut collector parses ``name=value`` pairs, so one line per epoch such as
``epoch=3 loss=0.41 accuracy=0.91 val-loss=0.45 val-accuracy=0.90`` lets the same script run as a Katib
trial. Only rank 0 reports; the numbers are already averaged over all ranks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

METRICS_FILE = "metrics.json"
METRICS_FORMAT = "kwp.metrics"
#: record key -> Katib metric name (Katib metric names use dashes)
KATIB_NAMES = {"loss": "loss", "accuracy": "accuracy", "val_loss": "val-loss", "val_accuracy": "val-accuracy"}


class Reporter(Protocol):
    """Receives one record per finished epoch: epoch, step, loss, accuracy, val_loss, val_accuracy,
    lr, seconds, samples_per_second."""

    def on_epoch_end(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def katib_line(record: dict[str, Any]) -> str:
    """``epoch=3 loss=0.41 accuracy=0.91 val-loss=0.45 val-accuracy=0.9`` (6 significant digits)."""
    parts = [f"epoch={record['epoch']}"]
    parts += [f"{name}={record[key]:.6g}" for key, name in KATIB_NAMES.items()]
    return " ".join(parts)


class KatibStdoutReporter:
    """Prints the Katib metrics line and flushes, so a collector tailing the log sees it at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        print(katib_line(record), file=self.stream or sys.stdout, flush=True)

    def close(self) -> None:
        (self.stream or sys.stdout).flush()


class TensorBoardReporter:
    """Scalars per epoch (train/val loss and accuracy, learning rate, throughput) under ``log_dir``.

    The writer opens at the first record with ``purge_step`` = that epoch, which drops events a
    crashed attempt wrote past the checkpoint we resumed from: no doubled curve segments after a restart.
    """

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imported here, not inside the timed loop

        self.writer_class = SummaryWriter
        self.log_dir = str(log_dir)
        self.writer = None

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        step = record["epoch"]
        if self.writer is None:
            self.writer = self.writer_class(log_dir=self.log_dir, purge_step=step)
        for key, tag in (
            ("loss", "loss/train"),
            ("val_loss", "loss/validation"),
            ("accuracy", "accuracy/train"),
            ("val_accuracy", "accuracy/validation"),
            ("lr", "optim/lr"),
            ("samples_per_second", "perf/samples_per_second"),
        ):
            self.writer.add_scalar(tag, record[key], step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class CompositeReporter:
    """Fans one record out to several reporters."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = list(reporters)

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        for reporter in self.reporters:
            reporter.on_epoch_end(record)

    def close(self) -> None:
        for reporter in self.reporters:
            reporter.close()


def summarize(history: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The metrics JSON: final and best (lowest validation loss) epoch, and the full history."""
    final = history[-1] if history else None
    best = min(history, key=lambda r: (r["val_loss"], r["epoch"])) if history else None
    return {
        "format": METRICS_FORMAT,
        "version": 1,
        "epochs": final["epoch"] if final else 0,
        "steps": final["step"] if final else 0,
        "final": final,
        "best": best,
        "history": history,
        **extra,
    }


def write_metrics(metrics: dict[str, Any], model_dir: str | Path) -> Path:
    path = Path(model_dir) / METRICS_FILE
    tmp = path.with_name(f".{METRICS_FILE}.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path
