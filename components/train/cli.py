"""Command line of the trainer: ``[torchrun ...] -m components.train --train P --validation P --model-dir D``.

Options use dashes and accept ``--name=value`` (how Katib substitutes ``--lr=${trialParameters.lr}``).
Boolean switches also take an explicit value (``--fsdp=false``) so a Katib categorical can drive them.
The command is a thin layer over :func:`components.train.api.run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from components.train.api import run
from components.train.distributed import topology_from_env
from components.train.errors import OptionError, TrainingInputError
from components.train.models import registered_models
from components.train.options import DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULERS, TrainOptions

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints like 128,64, got {text!r}") from exc


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _switch(group: argparse._ArgumentGroup, name: str, help_text: str) -> None:
    group.add_argument(name, nargs="?", const=True, default=False, type=_bool, metavar="BOOL", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.train",
        description="Train a classifier on preprocessed Parquet splits (single process or under torchrun).",
    )
    io = parser.add_argument_group("data and outputs")
    io.add_argument("--train", required=True, help="training split: Parquet file/dir, local or gs:// s3://")
    io.add_argument("--validation", required=True, help="validation split, same columns")
    io.add_argument("--model-dir", required=True, help="output: model_config.json, model.pt, metrics.json")
    io.add_argument("--stats", help="preprocessing statistics JSON naming key, label and feature columns")
    io.add_argument("--label-column", help="default: from --stats, else 'label'")
    io.add_argument("--key-column", help="default: from --stats, else 'key' when present")
    io.add_argument("--feature-columns", type=_names, help="a,b,c; default: --stats, else all other numeric")
    _switch(io, "--overwrite", "replace an existing model in --model-dir")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", default="mlp", help=f"architecture; registered: {', '.join(registered_models())}"
    )
    model.add_argument("--hidden-sizes", type=_int_list, help="MLP widths, e.g. 128,64")
    model.add_argument("--dropout", type=float)
    model.add_argument("--activation", help="relu, gelu, tanh or silu")
    model.add_argument("--batch-norm", type=_bool, metavar="BOOL")
    model.add_argument("--model-options", default="{}", help="JSON object of builder options (flags win)")
    optim = parser.add_argument_group("optimization")
    optim.add_argument("--epochs", type=int, default=10)
    optim.add_argument("--batch-size", type=int, default=64, help="per process and micro-batch")
    optim.add_argument("--lr", type=float, default=1e-3)
    optim.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    optim.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    optim.add_argument("--weight-decay", type=float, default=0.0)
    optim.add_argument("--scheduler", choices=SCHEDULERS, default="cosine")
    optim.add_argument("--seed", type=int, default=0)
    optim.add_argument("--grad-accum-steps", type=int, default=1)
    optim.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    system = parser.add_argument_group("system")
    system.add_argument("--precision", choices=PRECISIONS, default="fp32", help="autocast; fp16 needs CUDA")
    _switch(system, "--fsdp", "shard parameters, gradients and optimizer state (FSDP2)")
    _switch(system, "--activation-checkpointing", "recompute block activations in backward")
    system.add_argument("--device", choices=DEVICES, default="auto")
    system.add_argument("--num-threads", type=int, help="torch intra-op threads per process")
    system.add_argument("--checkpoint-dir", help="local/mounted dir; resume from it on start")
    system.add_argument("--checkpoint-every-epochs", type=int, default=1)
    system.add_argument("--checkpoint-every-steps", type=int, default=0)
    system.add_argument("--tensorboard-dir", help="default: MODEL_DIR/tensorboard")
    system.add_argument(
        "--tensorboard", nargs="?", const=True, default=True, type=_bool, metavar="BOOL", help="default true"
    )
    _switch(system, "--no-tensorboard", "same as --tensorboard=false")
    return parser


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """Translate parsed flags into validated :class:`TrainOptions` (model flags override the JSON)."""
    try:
        model_options: Any = json.loads(args.model_options)
    except json.JSONDecodeError as exc:
        raise OptionError(f"--model-options is not valid JSON: {exc}") from exc
    if not isinstance(model_options, dict):
        raise OptionError(f"--model-options must be a JSON object, got {args.model_options!r}")
    for key in ("hidden_sizes", "dropout", "activation", "batch_norm"):
        if getattr(args, key) is not None:
            model_options[key] = getattr(args, key)
    return TrainOptions(
        model=args.model,
        model_options=model_options,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        scheduler=args.scheduler,
        seed=args.seed,
        grad_accum_steps=args.grad_accum_steps,
        precision=args.precision,
        fsdp=args.fsdp,
        activation_checkpointing=args.activation_checkpointing,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every_epochs=args.checkpoint_every_epochs,
        checkpoint_every_steps=args.checkpoint_every_steps,
        tensorboard_dir=args.tensorboard_dir,
        tensorboard=args.tensorboard and not args.no_tensorboard,
        num_threads=args.num_threads,
        device=args.device,
        max_steps=args.max_steps,
        stats=args.stats,
        label_column=args.label_column,
        key_column=args.key_column,
        feature_columns=args.feature_columns,
        overwrite=args.overwrite,
    ).validate()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one worker; 0 on success, 2 with a one-line message on stderr for unusable input."""
    args = build_parser().parse_args(argv)
    try:
        options = options_from_args(args)
        run(options, args.train, args.validation, args.model_dir, topology=topology_from_env())
    except TrainingInputError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0
