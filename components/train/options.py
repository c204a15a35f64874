"""Training options: one dataclass shared by the command line, the in-process API and the benchmarks.

Validation happens in :meth:`TrainOptions.validate` so every entry point rejects the same bad values
with the same message, before any data is read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from components.train.errors import OptionError

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("cosine", "none")
PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainOptions:
    """Everything that shapes a training run apart from the data paths and the model directory.

    ``model_options`` go to the architecture's builder (e.g. ``{"hidden_sizes": [128, 64]}`` for
    ``mlp``). Column options override the statistics file; without either, the label is ``label``, the
    key ``key`` (when present) and the features every other numeric column.
    """

    model: str = "mlp"
    model_options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    seed: int = 0
    grad_accum_steps: int = 1
    precision: str = "fp32"
    fsdp: bool = False
    activation_checkpointing: bool = False
    checkpoint_dir: str | None = None
    checkpoint_every_epochs: int = 1
    checkpoint_every_steps: int = 0
    tensorboard_dir: str | None = None
    tensorboard: bool = True
    num_threads: int | None = None
    device: str = "auto"
    max_steps: int | None = None
    stats: str | None = None
    label_column: str | None = None
    key_column: str | None = None
    feature_columns: list[str] | None = None
    overwrite: bool = False

    def validate(self) -> TrainOptions:
        """Raise :class:`OptionError` naming the first bad value; returns ``self`` for chaining."""
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("grad_accum_steps", self.grad_accum_steps)
        _positive_int("checkpoint_every_epochs", self.checkpoint_every_epochs, allow_zero=True)
        _positive_int("checkpoint_every_steps", self.checkpoint_every_steps, allow_zero=True)
        if self.max_steps is not None:
            _positive_int("max_steps", self.max_steps)
        if self.num_threads is not None:
            _positive_int("num_threads", self.num_threads)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise OptionError(f"seed must be a non-negative int, got {self.seed!r}")
        if not self.lr > 0:
            raise OptionError(f"lr must be > 0, got {self.lr!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise OptionError(
                f"need weight_decay >= 0 and 0 <= momentum < 1, got {self.weight_decay!r}, {self.momentum!r}"
            )
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("scheduler", self.scheduler, SCHEDULERS)
        _choice("precision", self.precision, PRECISIONS)
        _choice("device", self.device, DEVICES)
        if not isinstance(self.model_options, dict):
            raise OptionError(f"model_options must be a JSON object, got {self.model_options!r}")
        if self.feature_columns is not None and not self.feature_columns:
            raise OptionError("feature_columns, when given, must name at least one column")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive_int(name: str, value: Any, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise OptionError(f"{name} must be an int >= {low}, got {value!r}")


def _choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise OptionError(f"{name} {value!r} is not supported; valid: {', '.join(valid)}")
