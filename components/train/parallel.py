"""Wrapping a model for data parallelism (DDP or FSDP) and memory saving (activation checkpointing).

State dicts leave this module as plain full CPU tensors without the ``module.`` (DDP) prefix or the
sharded (FSDP) layout, so checkpoints and ``model.pt`` look the same whatever wrapped the model. FSDP
goes through ``torch.distributed.checkpoint.state_dict``, imported only then: it costs over a second
of start-up, paid by every rank of every restart.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.checkpoint import checkpoint


def _is_fsdp(model: nn.Module) -> bool:
    return hasattr(model, "set_requires_gradient_sync")  # FSDP2's FSDPModule mixin


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def _full_options(**kwargs: bool):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, **kwargs)


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


_NO_CHANGE = contextlib.nullcontext()


def gradient_sync(model: nn.Module, enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """Skip the gradient all-reduce on micro-batches that only accumulate (DDP ``no_sync``, FSDP
    ``set_requires_gradient_sync``); a shared no-op on the syncing micro-batch (every step's path)."""
    if enabled:
        return _NO_CHANGE
    if isinstance(model, DistributedDataParallel):
        return model.no_sync()
    if _is_fsdp(model):
        return _fsdp_no_sync(model)
    return _NO_CHANGE


@contextlib.contextmanager
def _fsdp_no_sync(model: nn.Module) -> Iterator[None]:
    model.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Full CPU state dict (collective under FSDP: every rank must call; rank 0 gets the tensors)."""
    if _is_fsdp(model):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(model, options=_full_options(cpu_offload=True))
    return {k: v.detach().to("cpu", copy=True) for k, v in _unwrap(model).state_dict().items()}


def optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    if _is_fsdp(model):
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer, options=_full_options(cpu_offload=True))
    return optimizer.state_dict()


def load_state(
    model: nn.Module, optimizer: torch.optim.Optimizer, model_sd: dict[str, Any], optim_sd: dict[str, Any]
) -> None:
    """Load full state dicts on every rank (each rank read the same checkpoint file)."""
    if _is_fsdp(model):
        from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

        set_model_state_dict(model, model_sd, options=_full_options())
        set_optimizer_state_dict(model, optimizer, optim_sd, options=_full_options())
        return
    _unwrap(model).load_state_dict(model_sd)
    optimizer.load_state_dict(optim_sd)


def local_digest(model: nn.Module) -> str:
    """SHA-256 of the parameters and buffers this process holds (its replica under DDP)."""
    inner = _unwrap(model)
    digest = hashlib.sha256()
    for name, tensor in sorted(inner.state_dict().items()):
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
        digest.update(name.encode())
        digest.update(local.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
