"""Hyperband through the same core as the Katib suggestion service (:mod:`katib.hyperband`).

This adapter only translates trials into the core's ``TrialRecord`` and its string assignments back
into typed values; the schedule, promotions and labels (bracket, rung, configuration) are the core's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from katib.algorithms.base import (
    EARLY_STOPPED,
    FAILED,
    KILLED,
    METRICS_UNAVAILABLE,
    RUNNING,
    SUCCEEDED,
    AlgorithmError,
    SearchAlgorithm,
    Suggestion,
    Trial,
)
from katib.space import SearchSpace, format_value

# Katib's trial states -> the core's; a trial without metrics counts as failed, as in Katib.
_STATUS = {
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    METRICS_UNAVAILABLE: "failed",
    KILLED: "killed",
    EARLY_STOPPED: "early_stopped",
    RUNNING: "running",
}


class Hyperband(SearchAlgorithm):
    name = "kwp-hyperband"

    def __init__(self, settings: Mapping[str, str] | Sequence[tuple[str, str]], space: SearchSpace) -> None:
        from katib.hyperband import HyperbandSettings, HyperbandSettingsError

        pairs = list(settings.items()) if isinstance(settings, Mapping) else list(settings)
        try:
            self.settings = HyperbandSettings.from_katib(pairs, space)
        except HyperbandSettingsError as err:
            raise AlgorithmError(str(err)) from None
        self.seeded = any(name in ("random_state", "seed") for name, _ in pairs)

    def suggest(
        self, space: SearchSpace, trials: Sequence[Trial], count: int, minimize: bool, seed: int = 0
    ) -> list[Suggestion]:
        from katib.hyperband import TrialRecord, suggest

        settings = self.settings if self.seeded else dataclasses.replace(self.settings, seed=seed)
        records = [
            TrialRecord(
                name=t.name,
                parameters={k: format_value(v) for k, v in t.parameters.items()},
                labels=dict(t.labels),
                status=_STATUS[t.status],
                objective=t.objective,
            )
            for t in trials
        ]
        assignments = suggest(space, settings, records, count, minimize)
        return [Suggestion(space.parse(a.parameters), dict(a.labels)) for a in assignments]
