"""Synchronous Hyperband (Algorithm 1) planned for a controller that always wants N trials at once.

The schedule is the endless sequence of bracket instances ``(iteration, s)`` for s = s_max..0, each
exactly the paper's bracket table. A rung's winners (top ``keep`` of its successful trials) are known
only once every trial on it has finished; while a rung waits, the free slots go to the next bracket
instance that has work (and, past the last bracket, to the next Hyperband iteration), so a request is
always filled and no bracket's arithmetic changes.
"""

from __future__ import annotations

from collections.abc import Iterator

from katib.hyperband.history import BracketHistory, Slot, Work
from katib.hyperband.schedule import Bracket, brackets
from katib.hyperband.settings import HyperbandSettings


def plan_sync(
    settings: HyperbandSettings, history: dict[tuple[int, int], BracketHistory], count: int, minimize: bool
) -> list[Work]:
    """The next ``count`` trials, oldest bracket instance first, higher rungs before new configurations."""
    table = brackets(settings.max_resource, settings.eta, settings.min_resource)
    work: list[Work] = []
    for iteration, bracket in _instances(table):
        if len(work) == count:
            break
        past = history.setdefault((iteration, bracket.s), BracketHistory())
        for item in bracket_work(iteration, bracket, past, minimize)[: count - len(work)]:
            past.reserve(item.slot.rung, item.slot.config)
            work.append(item)
    return work


def bracket_work(iteration: int, bracket: Bracket, past: BracketHistory, minimize: bool) -> list[Work]:
    """Trials this bracket instance can start now: promotions (highest rung first), then new configs."""
    work: list[Work] = []
    expected = set(range(bracket.n))
    for i, rung in enumerate(bracket.rungs[:-1]):
        if not (expected <= past.configs(i) and past.complete(i)):
            break
        winners = [c for c in past.ranked(i, minimize) if c in expected][: rung.keep]
        promotions = [c for c in winners if c not in past.configs(i + 1)]
        work[:0] = [Work(Slot(iteration, bracket.s, i + 1, c), past.parameters(i, c)) for c in promotions]
        expected = set(winners)
    fresh = sorted(set(range(bracket.n)) - past.configs(0))
    work.extend(Work(Slot(iteration, bracket.s, 0, c)) for c in fresh)
    return work


def _instances(table: list[Bracket]) -> Iterator[tuple[int, Bracket]]:
    """Bracket instances in schedule order, for ever: (0, s_max), ..., (0, 0), (1, s_max), ..."""
    iteration = 0
    while True:
        for bracket in table:
            yield iteration, bracket
        iteration += 1
