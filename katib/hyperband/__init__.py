"""Hyperband for Katib and for local runs: exact bracket tables, synchronous and asynchronous variants.

``suggest(space, settings, trials, count, minimize)`` is the whole interface the Katib suggestion
service and the local experiment runner use; it keeps no state between calls.
"""

from katib.hyperband.engine import config_rng, resource_for, suggest
from katib.hyperband.history import (
    BRACKET_LABEL,
    CONFIG_LABEL,
    ITERATION_LABEL,
    LABEL_PREFIX,
    RESOURCE_LABEL,
    RUNG_LABEL,
    STATUSES,
    Assignment,
    Slot,
    TrialRecord,
    read_slot,
)
from katib.hyperband.schedule import Bracket, Rung, ScheduleError, brackets, budget, resource_value, s_max
from katib.hyperband.settings import VARIANTS, HyperbandSettings, HyperbandSettingsError

ALGORITHM_NAME = "kwp-hyperband"

__all__ = [
    "ALGORITHM_NAME",
    "BRACKET_LABEL",
    "CONFIG_LABEL",
    "ITERATION_LABEL",
    "LABEL_PREFIX",
    "RESOURCE_LABEL",
    "RUNG_LABEL",
    "STATUSES",
    "VARIANTS",
    "Assignment",
    "Bracket",
    "HyperbandSettings",
    "HyperbandSettingsError",
    "Rung",
    "ScheduleError",
    "Slot",
    "TrialRecord",
    "brackets",
    "budget",
    "config_rng",
    "read_slot",
    "resource_for",
    "resource_value",
    "s_max",
    "suggest",
]
