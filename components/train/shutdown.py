"""Leaving the process so that a successful run exits 0 on every rank, every time.

What goes wrong with torch 2.13 on gloo (seen here by repetition, stacks taken with gdb): after
``destroy_process_group`` the last reference to the gloo process group can sit in a DDP ``Reducer``
that the cyclic garbage collector frees later, at a random allocation. The group's destructor then
joins gloo's worker threads while holding the GIL, and a worker that is finishing a collective needs
the GIL to release a Python-owned tensor: the rank hangs forever (about 1 run in 12 on 2 loaded
cores), or, when the thread is torn down during interpreter exit instead, aborts with "terminate
called without an active exception".

So a launched worker never destroys its process group. After the run it meets the other ranks on
the rendezvous store (every rank has then finished every collective, so no gloo traffic is in
flight), rank 0 leaves last (in plain ``env://`` mode it hosts the store), and the process ends
with ``os._exit``, which skips the C++ destructors where both failures happen. All outputs are
written and closed before this point.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable

import torch.distributed as dist

from components.train.distributed import job_store
from components.train.faults import exit_fault

#: How long a finished rank waits for the others before leaving anyway (it succeeded; a peer that
#: never arrives fails the job through its own exit status).
EXIT_WAIT_SECONDS = 300.0


def _count(store: dist.Store, key: str, add: int = 0) -> int:
    return int(store.add(key, add))


def _wait_for(store: dist.Store, key: str, target: int, deadline: float) -> bool:
    while _count(store, key) < target:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def meet_before_exit(timeout: float = EXIT_WAIT_SECONDS) -> None:
    """Every rank arrives, then all but rank 0 leave, then rank 0 (which may host the store)."""
    store = job_store()
    if store is None:
        return
    rank, world = dist.get_rank(), dist.get_world_size()
    prefix = f"kwp/exit/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"
    deadline = time.monotonic() + timeout
    _count(store, f"{prefix}/arrived", 1)
    if not _wait_for(store, f"{prefix}/arrived", world, deadline):
        print(f"warning: rank {rank}: not every rank finished within {timeout:.0f} s", file=sys.stderr)
        return
    exit_fault(rank)  # test hook: a peer lost after rank 0 wrote the model
    if rank != 0:
        _count(store, f"{prefix}/left", 1)
        return
    _wait_for(store, f"{prefix}/left", world - 1, deadline)


def exit_process(code: int) -> None:
    """End the process with ``code``; on success first meet the other ranks (see module docstring)."""
    if code == 0:
        try:
            meet_before_exit()
        except (RuntimeError, OSError) as exc:  # the store went away: the others are already gone
            print(f"warning: exit rendezvous failed: {exc}", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe must not turn success into failure
            stream.flush()
    os._exit(code)


def run_and_exit(main: Callable[[], int]) -> None:
    """Run ``main`` and exit through :func:`exit_process` whatever happens, so that neither a
    traceback nor an argparse error goes through the interpreter teardown that can hang."""
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    exit_process(code)
