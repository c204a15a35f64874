"""``suggest``: the next trials for a search, derived from the settings and the trial history alone.

Stateless on purpose: Katib sends every trial on each call, and the local runner does the same, so
a restarted service or runner carries on where it was. Randomness is a function of the seed and the
configuration's place in the schedule (a SHA-256 of both), never of call order or Python's hash().
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from fractions import Fraction

from katib.hyperband.asha import plan_async
from katib.hyperband.history import Assignment, Slot, TrialRecord, Work, group
from katib.hyperband.schedule import resource_value
from katib.hyperband.settings import HyperbandSettings
from katib.hyperband.sync import plan_sync
from katib.space import SearchSpace, format_value


def suggest(
    space: SearchSpace,
    settings: HyperbandSettings,
    trials: Sequence[TrialRecord],
    count: int,
    minimize: bool,
) -> list[Assignment]:
    """Exactly ``count`` assignments: promotions of finished rungs first, otherwise new configurations.

    Failed, killed and early-stopped trials, and trials without an objective value, are never
    promoted; a rung completes with the trials that succeeded.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    settings.check_against(space)
    history = group(trials)
    planner = plan_sync if settings.variant == "sync" else plan_async
    work = planner(settings, history, count, minimize)
    return [_assignment(space, settings, item) for item in work]


def resource_for(settings: HyperbandSettings, slot: Slot) -> Fraction:
    """The exact resource of a rung: ``R * eta^(rung - bracket)`` (the paper's ``r_i = r * eta^i``)."""
    return settings.max_resource * settings.eta ** (slot.rung - slot.bracket)


def config_rng(seed: int, slot: Slot) -> random.Random:
    """A generator that depends only on the seed and the configuration's identity."""
    key = f"kwp-hyperband:{seed}:{slot.iteration}:{slot.bracket}:{slot.config}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _assignment(space: SearchSpace, settings: HyperbandSettings, item: Work) -> Assignment:
    name = settings.resource_name
    resource = format_value(resource_value(resource_for(settings, item.slot), space[name]))
    values = _values(space, settings, item)
    parameters = {p.name: resource if p.name == name else values[p.name] for p in space}
    return Assignment(parameters=parameters, labels=item.slot.labels(resource))


def _values(space: SearchSpace, settings: HyperbandSettings, item: Work) -> Mapping[str, str]:
    """A promotion keeps its configuration's values; a new configuration draws them from its own RNG."""
    sampled = space.sample(config_rng(settings.seed, item.slot), exclude=[settings.resource_name])
    values = {key: format_value(value) for key, value in sampled.items()}
    if item.source is not None:
        values.update({key: item.source[key] for key in values if key in item.source})
    return values
