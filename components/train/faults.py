"""Test-only fault injection: proves that a job restarted after a worker died resumes correctly.

With ``KWP_FAULT_MARKER=PATH`` set, the process of rank ``KWP_FAULT_RANK`` (default 1) exits hard
(status 17, no cleanup, like a killed pod) once: it creates PATH first and never fails while PATH
exists, so the restarted job runs through. Where it dies:

- ``KWP_FAULT_AT_STEP=N``: right after optimizer step N;
- ``KWP_FAULT_AT_EXIT=1``: at the exit rendezvous, once every rank has arrived there, i.e. after
  rank 0 wrote the model directory (a peer lost between the saved model and a clean exit).

Unset (always, outside tests) it does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

FAULT_EXIT_STATUS = 17


def _armed(rank: int) -> str | None:
    """The marker path when a fault is configured for this rank and has not struck yet."""
    marker = os.environ.get("KWP_FAULT_MARKER")
    if not marker or rank != int(os.environ.get("KWP_FAULT_RANK", "1")) or os.path.exists(marker):
        return None
    return marker


def _fail(marker: str, what: str) -> None:
    with open(marker, "w") as handle:
        handle.write(what + "\n")
    os._exit(FAULT_EXIT_STATUS)


def fault_hook(rank: int) -> Callable[[int], None] | None:
    """A per-step callback when a step fault is configured for this rank, else None."""
    at = os.environ.get("KWP_FAULT_AT_STEP")
    if not at or _armed(rank) is None:
        return None
    fail_at = int(at)

    def after_step(step: int) -> None:
        marker = _armed(rank)
        if step == fail_at and marker is not None:
            _fail(marker, f"rank {rank} failed at step {step}")

    return after_step


def exit_fault(rank: int) -> None:
    """Die here when an exit fault is configured for this rank (called at the exit rendezvous)."""
    marker = _armed(rank) if os.environ.get("KWP_FAULT_AT_EXIT") else None
    if marker is not None:
        _fail(marker, f"rank {rank} failed at exit")
