"""Command lines of the training entry point, shared by every launcher.

The same ``python -m components.train`` arguments run under a PyTorchJob, a TrainJob and local
``torchrun --standalone``; only the torchrun prefix differs (in a pod torchrun reads its topology from
the PET_* variables the operator injects).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

from components.train.launchers.errors import LauncherConfigError

ENTRY_MODULE = "components.train"
# Arguments the launchers set themselves; an ``options`` entry must not set them a second time.
RESERVED = frozenset({"train", "validation", "model_dir", "stats", "checkpoint_dir"})


def entry_point_args(
    train: str,
    validation: str,
    model_dir: str,
    stats: str | None = None,
    options: Mapping[str, object] | None = None,
    checkpoint_dir: str | None = None,
) -> list[str]:
    """``--train T --validation V --model-dir M [--stats S] [--checkpoint-dir C]`` then ``options``.

    Option names use underscores or dashes (``batch_size`` -> ``--batch-size``). Values follow the entry
    point's grammar: booleans as ``true``/``false``, lists comma-joined (``--hidden-sizes 128,64``),
    dicts as JSON (``--model-options``); ``None`` leaves the option out. The Kubernetes builders add
    the checkpoint directory themselves (``JobSpec.checkpoint_path``), so only local runs pass it here.
    """
    for name, value in (("train", train), ("validation", validation), ("model_dir", model_dir)):
        if not value:
            raise LauncherConfigError(f"{name} is empty; the entry point needs a path or URI for it")
    args = ["--train", train, "--validation", validation, "--model-dir", model_dir]
    if stats:
        args += ["--stats", stats]
    if checkpoint_dir:
        args += ["--checkpoint-dir", checkpoint_dir]
    return args + option_args(options or {})


def option_args(options: Mapping[str, object]) -> list[str]:
    """Render training options as command-line arguments, in the order given."""
    args: list[str] = []
    for key, value in options.items():
        name = key.replace("-", "_")
        if not name.replace("_", "").isalnum() or not name[:1].isalpha():
            raise LauncherConfigError(f"option name {key!r} is not a valid argument name")
        if name in RESERVED:
            raise LauncherConfigError(f"option {key!r} is set by the launcher; pass it as its own parameter")
        flag = "--" + name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            args += [flag, "true" if value else "false"]
        elif isinstance(value, list | tuple):
            args += [flag, ",".join(_scalar(key, v) for v in value)]
        elif isinstance(value, dict):
            args += [flag, json.dumps(value, sort_keys=True)]
        else:
            args += [flag, _scalar(key, value)]
    return args


def _scalar(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LauncherConfigError(f"option {key!r} has value {value!r}; expected a string or a number")
    return str(value)


def pod_command() -> list[str]:
    """Container command in a PyTorchJob / TrainJob pod: torchrun takes nodes and ranks from PET_* env."""
    return ["torchrun", "-m", ENTRY_MODULE]


def local_command(
    entry_args: Sequence[str],
    nproc_per_node: int = 1,
    max_restarts: int = 0,
    python: str = sys.executable,
    module: str = ENTRY_MODULE,
) -> list[str]:
    """``torchrun --standalone`` on this machine, through the current interpreter (no PATH lookup)."""
    if nproc_per_node < 1:
        raise LauncherConfigError(f"nproc_per_node={nproc_per_node} must be >= 1")
    if max_restarts < 0:
        raise LauncherConfigError(f"max_restarts={max_restarts} must be >= 0")
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        f"--nproc_per_node={nproc_per_node}",
        f"--max_restarts={max_restarts}",
        "-m",
        module,
        *entry_args,
    ]
