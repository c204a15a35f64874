"""The trial history as Hyperband sees it: which configuration ran in which bracket and rung, and how.

Katib keeps no state for a suggestion service: every call carries all trials. We record a trial's place
in the schedule in labels of its assignment (Katib copies them onto the trial) and rebuild the whole
schedule from those labels on each call. Trials without our labels are ignored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LABEL_PREFIX = "kwp.hyperband/"
ITERATION_LABEL = LABEL_PREFIX + "iteration"
BRACKET_LABEL = LABEL_PREFIX + "bracket"
RUNG_LABEL = LABEL_PREFIX + "rung"
CONFIG_LABEL = LABEL_PREFIX + "config"
RESOURCE_LABEL = LABEL_PREFIX + "resource"

STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "early_stopped", "killed")


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the algorithm needs it; ``objective`` is the objective metric's value, if reported."""

    name: str
    parameters: Mapping[str, str]
    labels: Mapping[str, str]
    status: str
    objective: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"trial {self.name!r} has status {self.status!r}; valid: {', '.join(STATUSES)}")

    @property
    def promotable(self) -> bool:
        """Only a trial that succeeded with a real objective value may move up a rung."""
        return self.status == "succeeded" and self.objective is not None and not math.isnan(self.objective)


@dataclass(frozen=True)
class Assignment:
    """One suggestion: parameter values (Katib strings) and the labels that place it in the schedule."""

    parameters: dict[str, str]
    labels: dict[str, str]


@dataclass(frozen=True)
class Slot:
    """Where a trial sits in the schedule."""

    iteration: int
    bracket: int
    rung: int
    config: int

    def labels(self, resource: str) -> dict[str, str]:
        return {
            ITERATION_LABEL: str(self.iteration),
            BRACKET_LABEL: str(self.bracket),
            RUNG_LABEL: str(self.rung),
            CONFIG_LABEL: str(self.config),
            RESOURCE_LABEL: resource,
        }


@dataclass
class Outcome:
    """All trials of one configuration on one rung (duplicates are possible after a controller retry)."""

    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.promotable]
        return done[0] if done else None

    @property
    def pending(self) -> bool:
        return self.best is None and any(t.status == "running" for t in self.trials)


@dataclass
class BracketHistory:
    """Trials of one bracket instance, by rung and configuration number."""

    rungs: dict[int, dict[int, Outcome]] = field(default_factory=lambda: defaultdict(dict))

    def outcomes(self, rung: int) -> dict[int, Outcome]:
        return self.rungs[rung]

    def configs(self, rung: int) -> set[int]:
        return set(self.rungs[rung])

    def complete(self, rung: int) -> bool:
        """Every configuration on the rung has finished (successfully or not)."""
        return not any(o.pending for o in self.rungs[rung].values())

    def ranked(self, rung: int, minimize: bool) -> list[int]:
        """Configurations on the rung that may be promoted, best first (ties by configuration number)."""
        scored = [(o.best.objective, c) for c, o in self.rungs[rung].items() if o.best is not None]
        sign = 1.0 if minimize else -1.0
        return [c for value, c in sorted(scored, key=lambda item: (sign * item[0], item[1]))]

    def reserve(self, rung: int, config: int) -> None:
        """Mark a configuration as started on a rung while one call plans several assignments."""
        placeholder = TrialRecord(f"planned-{rung}-{config}", {}, {}, "running")
        self.rungs[rung].setdefault(config, Outcome()).trials.append(placeholder)

    def parameters(self, rung: int, config: int) -> Mapping[str, str]:
        outcome = self.rungs[rung][config]
        source = outcome.best or outcome.trials[0]
        return source.parameters


def read_slot(trial: TrialRecord) -> Slot | None:
    """The trial's place in the schedule, or None when it does not carry (valid) Hyperband labels."""
    try:
        keys = (ITERATION_LABEL, BRACKET_LABEL, RUNG_LABEL, CONFIG_LABEL)
        values = [int(trial.labels[key]) for key in keys]
    except (KeyError, ValueError):
        return None
    if min(values) < 0 or values[2] > values[1]:
        return None
    return Slot(*values)


def group(trials: Iterable[TrialRecord]) -> dict[tuple[int, int], BracketHistory]:
    """Trials by bracket instance ``(iteration, bracket)``, in a stable order (by trial name)."""
    grouped: dict[tuple[int, int], BracketHistory] = defaultdict(BracketHistory)
    for trial in sorted(trials, key=lambda t: t.name):
        slot = read_slot(trial)
        if slot is None:
            continue
        rung = grouped[(slot.iteration, slot.bracket)].outcomes(slot.rung)
        rung.setdefault(slot.config, Outcome()).trials.append(trial)
    return grouped


@dataclass(frozen=True)
class Work:
    """One planned trial: a new configuration (``source`` None) or a promotion of ``source``'s values."""

    slot: Slot
    source: Mapping[str, str] | None = None
