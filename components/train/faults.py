"""Test-only fault injection: proves that a job restarted after a worker died resumes correctly.

With ``KWP_FAULT_AT_STEP=N`` and ``KWP_FAULT_MARKER=PATH`` set, the process of rank
``KWP_FAULT_RANK`` (default 1) exits hard (status 17, no cleanup, like a killed pod) right after
optimizer step N, once: it creates PATH first and never fails while PATH exists, so the restarted
job runs through. Unset (always, outside tests) it does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

FAULT_EXIT_STATUS = 17


def fault_hook(rank: int) -> Callable[[int], None] | None:
    """A per-step callback when fault injection is configured for this rank, else None."""
    at, marker = os.environ.get("KWP_FAULT_AT_STEP"), os.environ.get("KWP_FAULT_MARKER")
    if not at or not marker or rank != int(os.environ.get("KWP_FAULT_RANK", "1")):
        return None
    fail_at = int(at)

    def after_step(step: int) -> None:
        if step != fail_at or os.path.exists(marker):
            return
        with open(marker, "w") as handle:
            handle.write(f"rank {rank} failed at step {step}\n")
        os._exit(FAULT_EXIT_STATUS)

    return after_step
