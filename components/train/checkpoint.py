"""Atomic training checkpoints and automatic resume.

One file, ``checkpoint.pt``, written by rank 0 as a temporary file and then renamed over the old one
(``os.replace`` is atomic on POSIX filesystems), so a pod killed mid-write leaves the previous
checkpoint intact. Every rank reads the same file on start, which needs the directory on a volume all
pods share (or one node). A checkpoint carries a fingerprint of the model and data it was taken for;
resuming a different run from it is refused rather than silently mixing the two.
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


def fingerprint(model_config: dict[str, Any], options: dict[str, Any]) -> str:
    """A stable hash of what must match for a resume to make sense.

    ``fsdp`` is in because FSDP keys optimizer state by parameter name, plain PyTorch by position.
    Epoch counts, step limits and checkpoint intervals are left out on purpose: raising ``--epochs``
    and restarting continues a finished run (how a Hyperband promotion trains a configuration longer).
    """
    keep = {
        k: options.get(k) for k in ("model", "batch_size", "optimizer", "grad_accum_steps", "seed", "fsdp")
    }
    payload = json.dumps({"model": model_config, "options": keep}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


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

    def __init__(self, directory: str | os.PathLike[str], run_fingerprint: str, *, is_main: bool) -> None:
        if storage.is_uri(str(directory)):
            raise OutputError(
                f"--checkpoint-dir {directory!r} must be a local path (mount a volume or bucket there): "
                "checkpoints rely on an atomic rename"
            )
        self.directory = Path(directory)
        self.path = self.directory / CHECKPOINT_FILE
        self.fingerprint = run_fingerprint
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
            raise CheckpointError(
                f"{self.path} belongs to a different run (model, data or options changed: fingerprint "
                f"{state.get('fingerprint')} != {self.fingerprint}); use a fresh --checkpoint-dir"
            )
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write atomically (rank 0 only; other ranks return at once)."""
        if not self.is_main:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
        }
        payload.update(state)
        tmp = self.path.with_name(f".{CHECKPOINT_FILE}.tmp-{os.getpid()}")
        torch.save(payload, tmp)
        with open(tmp, "rb") as handle:  # the rename must not overtake the data on a crash
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
