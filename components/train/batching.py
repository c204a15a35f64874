"""Which rows each rank trains on, in which order, and at which learning rate.

Both are pure functions of (seed, epoch, step), which is what makes a resumed run replay exactly the
batches and learning rates an uninterrupted run would have seen.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DistributedSampler


class ShardedSampler(DistributedSampler):
    """``DistributedSampler`` whose epoch order comes out as one index tensor.

    The order is identical to iterating the parent class (same seed + epoch permutation, same
    wrap-around padding, same ``rank::world`` stride; a unit test holds the two together), but built
    with tensor ops instead of a Python list of ints, which costs milliseconds per epoch at a
    million rows.
    """

    def epoch_indices(self, epoch: int) -> torch.Tensor:
        n = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:
            order = order.repeat(math.ceil(self.total_size / n))[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas]


class LRSchedule:
    """Closed-form learning rate per optimizer step: constant, or cosine decay to 0 over the run.

    Stateless on purpose: a resumed run only needs the step, and a run resumed with more epochs
    stretches the remaining decay over the new total instead of restarting it.
    """

    def __init__(self, kind: str, base_lrs: list[float], total_steps: int) -> None:
        self.kind = kind
        self.base_lrs = list(base_lrs)
        self.total_steps = max(total_steps, 1)

    def factor(self, step: int) -> float:
        if self.kind == "none":
            return 1.0
        return 0.5 * (1.0 + math.cos(math.pi * min(step, self.total_steps) / self.total_steps))

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        factor = self.factor(step)
        for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
