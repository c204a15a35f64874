"""Atomic training checkpoints and automatic resume.

One file, ``checkpoint.pt``, written by rank 0 as a temporary file and then renamed over the old one
(``os.replace`` is atomic on POSIX filesystems), so a pod killed mid-write leaves the previous
checkpoint intact. Every rank reads the same file on start, which needs the directory on a volume all
pods share (or one node). A checkpoint carries what it was taken for (model config, resume options,
the identity of each data split) and its hash; resuming a different run from it is refused, naming
what differs, rather than silently mixing the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components.train import storage
from components.train.errors import CheckpointError, OutputError

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_FORMAT = "kwp.checkpoint"
CHECKPOINT_VERSION = 1
#: Options that must match between the run that wrote a checkpoint and the run resuming from it.
RESUME_KEYS = ("model", "batch_size", "optimizer", "grad_accum_steps", "seed", "fsdp")
#: How many differences a refused resume lists.
MAX_LISTED_DIFFERENCES = 6


def run_identity(
    model_config: dict[str, Any], options: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """What must match for a resume to make sense: the model config (architecture, options, columns,
    classes), the options in ``RESUME_KEYS`` and the data (``data.split_identity`` of each split).

    ``fsdp`` is in because FSDP keys optimizer state by parameter name, plain PyTorch by position.
    Epoch counts, step limits and checkpoint intervals are left out on purpose: raising ``--epochs``
    and restarting continues a finished run (how a Hyperband promotion trains a configuration longer).
    """
    return {
        "model": model_config,
        "options": {k: options.get(k) for k in RESUME_KEYS},
        "data": data,
    }


def fingerprint(identity: dict[str, Any]) -> str:
    """A stable short hash of a ``run_identity`` (JSON with sorted keys, never Python's hash())."""
    payload = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``key: checkpoint X, now Y`` for every leaf that differs, e.g. ``data.train.rows: checkpoint
    240, now 200``; dotted keys say whether the model, an option or a data split changed."""
    old, new = _flatten(saved), _flatten(current)
    missing = object()
    lines = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, missing), new.get(key, missing)
        if json.dumps(before, default=str) != json.dumps(after, default=str):
            shown = ["absent" if v is missing else json.dumps(v, default=str) for v in (before, after)]
            lines.append(f"{key}: checkpoint {shown[0]}, now {shown[1]}")
    return lines


def is_finished(state: dict[str, Any], *, epochs: int, max_steps: int | None) -> bool:
    """True when resuming from ``state`` would train nothing: all epochs done or the step limit hit."""
    return state["epoch"] >= epochs or (max_steps is not None and state["step"] >= max_steps)


def rng_state() -> dict[str, Any]:
    """This process's random generator states (torch CPU and CUDA, numpy, Python)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """Saves and finds the checkpoint of one run in a local (or mounted) directory."""

    def __init__(self, directory: str | os.PathLike[str], identity: dict[str, Any], *, is_main: bool) -> None:
        if storage.is_uri(str(directory)):
            raise OutputError(
                f"--checkpoint-dir {directory!r} must be a local path (mount a volume or bucket there): "
                "checkpoints rely on an atomic rename"
            )
        self.directory = Path(directory)
        self.path = self.directory / CHECKPOINT_FILE
        self.identity = identity
        self.fingerprint = fingerprint(identity)
        self.is_main = is_main

    def check_writable(self) -> None:
        if self.is_main:
            storage.check_writable(str(self.directory))

    def load(self) -> dict[str, Any] | None:
        """The latest checkpoint of this run, or None when there is none yet."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        if state.get("format") != CHECKPOINT_FORMAT or state.get("version") != CHECKPOINT_VERSION:
            raise CheckpointError(
                f"{self.path} is not a {CHECKPOINT_FORMAT} v{CHECKPOINT_VERSION} checkpoint"
            )
        if state.get("fingerprint") != self.fingerprint:
            raise CheckpointError(self._mismatch(state))
        return state

    def _mismatch(self, state: dict[str, Any]) -> str:
        saved = state.get("identity")
        if isinstance(saved, dict):
            changed = differences(saved, self.identity)
            listed = "; ".join(changed[:MAX_LISTED_DIFFERENCES])
            more = len(changed) - MAX_LISTED_DIFFERENCES
            what = listed + (f"; and {more} more" if more > 0 else "")
        else:
            what = f"fingerprint {state.get('fingerprint')}, now {self.fingerprint}"
        return (
            f"the checkpoint in --checkpoint-dir {str(self.directory)!r} belongs to a different run "
            f"({what}); resume with the same model, data and options, or use a fresh --checkpoint-dir"
        )

    def save(self, state: dict[str, Any]) -> None:
        """Write atomically (rank 0 only; other ranks return at once)."""
        if not self.is_main:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "identity": self.identity,
        }
        payload.update(state)
        tmp = self.path.with_name(f".{CHECKPOINT_FILE}.tmp-{os.getpid()}")
        torch.save(payload, tmp)
        with open(tmp, "rb") as handle:  # the rename must not overtake the data on a crash
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
