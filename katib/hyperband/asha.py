"""Asynchronous successive halving (Li et al., MLSys 2020, "ASHA") for parallel workers.

A bracket ``s`` has rungs with resources ``R * eta^(i - s)``, i = 0..s, as in Hyperband. Whenever a
slot is free we promote a configuration that is in the top ``floor(|done| / eta)`` of its rung's
successful trials and not yet on the next rung (highest rung first); if there is none we start a new
configuration. Nothing ever waits. With ``async_brackets > 1`` new configurations go round-robin to
the brackets ``s_max, s_max - 1, ...`` (asynchronous Hyperband).
"""

from __future__ import annotations

import math

from katib.hyperband.history import BracketHistory, Slot, Work
from katib.hyperband.settings import HyperbandSettings

ITERATION = 0  # the asynchronous schedule has no iterations; the label stays for a uniform format


def plan_async(
    settings: HyperbandSettings, history: dict[tuple[int, int], BracketHistory], count: int, minimize: bool
) -> list[Work]:
    """The next ``count`` trials: each one the best available promotion, else a new configuration."""
    chosen = [settings.s_max - k for k in range(settings.async_brackets)]
    pasts = {s: history.setdefault((ITERATION, s), BracketHistory()) for s in chosen}
    work: list[Work] = []
    for _ in range(count):
        item = _promotion(pasts, settings, minimize) or _new_config(pasts, chosen)
        pasts[item.slot.bracket].reserve(item.slot.rung, item.slot.config)
        work.append(item)
    return work


def _promotion(pasts: dict[int, BracketHistory], settings: HyperbandSettings, minimize: bool) -> Work | None:
    for s, past in pasts.items():
        for rung in range(s - 1, -1, -1):
            ranked = past.ranked(rung, minimize)
            top = ranked[: math.floor(len(ranked) / settings.eta)]
            for config in top:
                if config not in past.configs(rung + 1):
                    return Work(Slot(ITERATION, s, rung + 1, config), past.parameters(rung, config))
    return None


def _new_config(pasts: dict[int, BracketHistory], chosen: list[int]) -> Work:
    started = sum(len(pasts[s].configs(0)) for s in chosen)
    s = chosen[started % len(chosen)]
    used = pasts[s].configs(0)
    config = max(used) + 1 if used else 0
    return Work(Slot(ITERATION, s, 0, config))
