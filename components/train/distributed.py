"""Process topology, device choice and the process group's life cycle.

The topology comes only from the environment that ``torchrun`` sets for each worker (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT). Under a PyTorchJob the operator sets
RANK to the *node* rank and PET_* for torchrun, which then derives the per-process ranks, so the same
``torchrun ... -m components.train`` line works in a PyTorchJob pod, a TrainJob pod and on a laptop.
Started without torchrun, the trainer is a single process (world size 1).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from components.train.errors import OptionError

#: How long a collective waits for a peer before failing (a dead peer then fails the job, and the
#: launcher restarts it, instead of hanging for the default 30 minutes).
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class Topology:
    """Where this process sits in the job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    launched: bool = False  # True when a launcher (torchrun or the operator) set the variables

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise OptionError(f"environment variable {name}={value!r} is not an integer") from exc


def topology_from_env(env: Mapping[str, str] | None = None) -> Topology:
    """Read the topology torchrun set; refuse the one layout that would silently train wrong.

    Running the script directly (no torchrun) in a PyTorchJob pod with ``nprocPerNode`` > 1 would take
    the node rank as the process rank; we ask for torchrun instead of guessing.
    """
    env = os.environ if env is None else env
    if "LOCAL_RANK" in env:  # torchrun (and torch.distributed.run) always set it
        return Topology(
            rank=_int_env(env, "RANK", 0),
            local_rank=_int_env(env, "LOCAL_RANK", 0),
            world_size=_int_env(env, "WORLD_SIZE", 1),
            launched=True,
        )
    if "WORLD_SIZE" in env and "MASTER_ADDR" in env:
        if _int_env(env, "PET_NPROC_PER_NODE", 1) > 1:
            raise OptionError(
                f"PET_NPROC_PER_NODE={env['PET_NPROC_PER_NODE']} but torchrun did not start the trainer; "
                "run `torchrun -m components.train ...` so each process gets its own rank"
            )
        return Topology(
            rank=_int_env(env, "RANK", 0),
            local_rank=0,
            world_size=_int_env(env, "WORLD_SIZE", 1),
            launched=True,
        )
    return Topology()


def select_device(requested: str, topology: Topology) -> torch.device:
    """``cuda:LOCAL_RANK`` when CUDA is asked for (or available under ``auto``), else CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise OptionError("--device cuda was requested but CUDA is not available; use --device cpu or auto")
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        index = topology.local_rank % max(torch.cuda.device_count(), 1)
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


_job_store: dist.Store | None = None


def job_store() -> dist.Store | None:
    """The rendezvous store of the launched job's process group (None without one)."""
    return _job_store if dist.is_initialized() else None


def launch_store(topology: Topology, env: Mapping[str, str] | None = None) -> dist.Store:
    """The ``env://`` rendezvous store, scoped to this restart attempt where that is safe.

    torchrun (torch 2.13) keeps one TCP store for all restart attempts of a job, so a restarted
    worker can read a peer's gloo/NCCL address left by the previous attempt and fail with
    "Connection refused" (pytorch/pytorch#135712; seen here in about 3 of 4 restarts). On one node
    every worker has the same TORCHELASTIC_RESTART_COUNT, so a per-attempt key prefix fixes it.
    Across nodes the counts can differ (a node restarted by a peer's failure does not count it), so
    there we only warn: set TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 for torchrun, which gives every
    attempt a fresh store.
    """
    env = os.environ if env is None else env
    store, _, _ = next(
        dist.rendezvous(
            "env://", rank=topology.rank, world_size=topology.world_size, timeout=COLLECTIVE_TIMEOUT
        )
    )
    if env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() != "true":
        return store  # a fresh store per attempt already
    if env.get("GROUP_WORLD_SIZE", "1") == "1":
        return dist.PrefixStore(f"kwp/attempt-{env.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)
    if _int_env(env, "TORCHELASTIC_MAX_RESTARTS", 0) > 0 and topology.rank == 0:
        print(
            "warning: multi-node torchrun with --max-restarts and a shared rendezvous store can fail to "
            "reconnect after a restart; set TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1",
            file=sys.stderr,
            flush=True,
        )
    return store


def init_process_group(topology: Topology, device: torch.device, *, needed: bool) -> bool:
    """Join the job's process group (NCCL on GPU, gloo on CPU); returns True when this call created it.

    A group is created when the world has several processes, or when ``needed`` (FSDP) even for one
    process: then a private in-memory store stands in for the rendezvous.
    """
    if dist.is_initialized() or not (topology.distributed or needed):
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if topology.launched:
        global _job_store
        _job_store = launch_store(topology)
        dist.init_process_group(
            backend,
            store=_job_store,
            rank=topology.rank,
            world_size=topology.world_size,
            timeout=COLLECTIVE_TIMEOUT,
            device_id=device if device.type == "cuda" else None,
        )
    else:
        dist.init_process_group(
            backend, store=dist.HashStore(), rank=0, world_size=1, timeout=COLLECTIVE_TIMEOUT
        )
    return True


def release_process_group(created: bool, topology: Topology) -> None:
    """After a successful run: destroy a private single-process group (in-process callers run many
    trainings), but keep a launched job's group until the process ends through
    :func:`components.train.shutdown.exit_process` (destroying it can hang or abort; see there)."""
    if not created or not dist.is_initialized():
        return
    if topology.launched:
        return
    gc.collect()  # free wrapped modules while the group is still registered
    dist.destroy_process_group()


def abandon_process_group(topology: Topology) -> None:
    """After a failure: drop a private group; a launched job's process exits with the error next."""
    if dist.is_initialized() and not topology.launched:
        with contextlib.suppress(RuntimeError):
            dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a small tensor of counters over all ranks (identity in a single process)."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (itself in a single process)."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        holder = [obj]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]
    return obj


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0
