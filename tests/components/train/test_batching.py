"""The tensor-built sampler order equals DistributedSampler's; the schedule is closed-form."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import DistributedSampler

from components.train.batching import LRSchedule, ShardedSampler


@pytest.mark.parametrize(("n", "world"), [(10, 1), (10, 3), (7, 4), (2, 5), (100, 2)])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_epoch_indices_equal_distributed_sampler(n, world, shuffle, drop_last):
    data = list(range(n))
    for rank in range(world):
        for epoch in (0, 3):
            ours = ShardedSampler(data, world, rank, shuffle=shuffle, seed=11, drop_last=drop_last)
            theirs = DistributedSampler(data, world, rank, shuffle=shuffle, seed=11, drop_last=drop_last)
            theirs.set_epoch(epoch)
            assert ours.epoch_indices(epoch).tolist() == list(theirs)


def test_ranks_cover_every_row_once_per_epoch():
    shards = [ShardedSampler(list(range(12)), 3, r, seed=0).epoch_indices(1) for r in range(3)]
    assert sorted(torch.cat(shards).tolist()) == list(range(12))
    assert shards[0].tolist() != ShardedSampler(list(range(12)), 3, 0, seed=0).epoch_indices(2).tolist()


def test_cosine_schedule_is_closed_form_and_stretches():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.4)
    schedule = LRSchedule("cosine", [0.4], total_steps=10)
    assert [round(schedule.factor(s), 6) for s in (0, 5, 10, 12)] == [1.0, 0.5, 0.0, 0.0]
    schedule.apply(optimizer, 5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2)
    longer = LRSchedule("cosine", [0.4], total_steps=20)  # the same run resumed with twice the epochs
    assert longer.factor(10) == pytest.approx(0.5) and longer.factor(5) == pytest.approx(
        0.5 + 0.5 * math.cos(math.pi / 4)
    )
    assert LRSchedule("none", [0.4], total_steps=10).factor(7) == 1.0
