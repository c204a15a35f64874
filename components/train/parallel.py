"""Wrapping a model for data parallelism (DDP or FSDP) and memory saving (activation checkpointing).

State dicts go through ``torch.distributed.checkpoint.state_dict`` in every mode, which returns plain
full tensors without the ``module.`` (DDP) or sharded (FSDP) layout, so checkpoints and ``model.pt``
look the same whatever wrapped the model, and a DDP checkpoint resumes under FSDP and back.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.nn.parallel import DistributedDataParallel
from torch.utils.checkpoint import checkpoint

_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def checkpoint_blocks(model: nn.Module) -> list[nn.Module]:
    """The sub-modules a model names in ``checkpoint_blocks``, else its direct children with weights."""
    blocks = getattr(model, "checkpoint_blocks", None)
    if blocks:
        return list(blocks)
    return [child for child in model.children() if any(p.requires_grad for p in child.parameters())]


def enable_activation_checkpointing(model: nn.Module) -> int:
    """Recompute each block's activations in backward instead of keeping them (memory for compute).

    The block's ``forward`` is replaced on the instance, so parameter names and the saved state dict
    stay exactly as without checkpointing. Returns the number of wrapped blocks.
    """
    blocks = checkpoint_blocks(model)
    for block in blocks:
        block.forward = functools.partial(checkpoint, block.forward, use_reentrant=False)
    return len(blocks)


def wrap(model: nn.Module, device: torch.device, *, fsdp: bool) -> nn.Module:
    """FSDP2 (each block, then the root) when asked, DDP when several processes train, else as is."""
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for block in checkpoint_blocks(model):
            fully_shard(block)
        return fully_shard(model)
    if dist.is_initialized() and dist.get_world_size() > 1:
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)
    return model


@contextlib.contextmanager
def gradient_sync(model: nn.Module, enabled: bool) -> Iterator[None]:
    """Skip the gradient all-reduce on micro-batches that only accumulate (DDP ``no_sync``, FSDP
    ``set_requires_gradient_sync``)."""
    if enabled:
        yield
    elif isinstance(model, DistributedDataParallel):
        with model.no_sync():
            yield
    elif hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)
    else:
        yield


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Full CPU state dict (collective under FSDP: every rank must call; rank 0 gets the tensors)."""
    return get_model_state_dict(model, options=_FULL)


def optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    return get_optimizer_state_dict(model, optimizer, options=_FULL)


def load_state(
    model: nn.Module, optimizer: torch.optim.Optimizer, model_sd: dict[str, Any], optim_sd: dict[str, Any]
) -> None:
    """Load full state dicts on every rank (each rank read the same checkpoint file)."""
    opts = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, model_sd, options=opts)
    set_optimizer_state_dict(model, optimizer, optim_sd, options=opts)
