"""What every local search algorithm sees and returns.

Algorithms are stateless, like a Katib suggestion service: each call receives every trial so far
(running ones included) and returns up to ``count`` new assignments. An algorithm that has nothing
left to propose (grid, DARTS) returns fewer than ``count``, and the runner then ends the experiment
once the running trials finish ("suggestion end reached" in Katib's words).
"""

from __future__ import annotations

import hashlib
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from katib.space import SearchSpace, Value, format_value

# Katib's trial states; only SUCCEEDED trials carry an objective an algorithm can learn from.
SUCCEEDED = "Succeeded"
FAILED = "Failed"
RUNNING = "Running"
KILLED = "Killed"
METRICS_UNAVAILABLE = "MetricsUnavailable"
EARLY_STOPPED = "EarlyStopped"
TRIAL_STATES: tuple[str, ...] = (SUCCEEDED, FAILED, RUNNING, KILLED, METRICS_UNAVAILABLE, EARLY_STOPPED)


class AlgorithmError(ValueError):
    """An algorithm name or setting that cannot be used; the message names the bad value."""


@dataclass(frozen=True)
class Trial:
    """A trial as an algorithm sees it: its assignment, state, objective and labels."""

    name: str
    parameters: Mapping[str, Value]
    status: str = RUNNING
    objective: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def completed_with_objective(self) -> bool:
        return self.status == SUCCEEDED and self.objective is not None and math.isfinite(self.objective)


@dataclass(frozen=True)
class Suggestion:
    """One new assignment: typed values per parameter name, plus labels to carry on the trial."""

    parameters: Mapping[str, Value]
    labels: Mapping[str, str] = field(default_factory=dict)


class SearchAlgorithm(ABC):
    """A stateless suggestion algorithm; subclasses implement :meth:`suggest`."""

    name: str = ""

    @abstractmethod
    def suggest(
        self,
        space: SearchSpace,
        trials: Sequence[Trial],
        count: int,
        minimize: bool,
        seed: int = 0,
    ) -> list[Suggestion]:
        """Up to ``count`` new assignments, given every trial so far."""


def assignment_key(parameters: Mapping[str, Value], space: SearchSpace) -> tuple[str, ...]:
    """A hashable identity of an assignment, using the text Katib would pass to the trial."""
    return tuple(format_value(parameters[name]) if name in parameters else "" for name in space.names)


def seeded_rng(seed: int, *parts: object) -> random.Random:
    """A generator seeded from ``seed`` and ``parts`` through SHA-256 (stable across processes)."""
    text = ":".join([str(seed), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def parse_settings(
    settings: Mapping[str, str] | Sequence[tuple[str, str]] | None,
    allowed: Mapping[str, type],
    algorithm: str,
) -> dict[str, float | int]:
    """Katib ``algorithmSettings`` (strings) as typed values; unknown names are an error, as in Katib."""
    pairs = settings.items() if isinstance(settings, Mapping) else (settings or [])
    values: dict[str, float | int] = {}
    for name, text in pairs:
        if name not in allowed:
            valid = ", ".join(sorted(allowed)) or "none"
            raise AlgorithmError(
                f"unknown setting {name!r} for algorithm {algorithm}; valid settings: {valid}"
            )
        try:
            values[name] = allowed[name](text)
        except (TypeError, ValueError):
            kind = "an integer" if allowed[name] is int else "a number"
            raise AlgorithmError(
                f"setting {name} of algorithm {algorithm} must be {kind}, got {text!r}"
            ) from None
    return values
