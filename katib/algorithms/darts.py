"""DARTS's suggestion, as Katib's service makes it: one architecture search per trial.

DARTS searches inside a single trial, so the "suggestion" is just the trial's arguments: the
algorithm settings over Katib's defaults (JSON with ``"`` replaced by ``'``), the operation names
built from ``nasConfig`` and the number of layers. Like Katib's service, every requested trial gets
the same assignment; DARTS experiments therefore use ``maxTrialCount: 1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from katib.algorithms.base import AlgorithmError, SearchAlgorithm, Suggestion, Trial
from katib.space import SearchSpace

# Katib 0.19 DARTS defaults, in the order its service writes them.
DEFAULTS: dict[str, Any] = {
    "num_epochs": 50, "w_lr": 0.025, "w_lr_min": 0.001, "w_momentum": 0.9, "w_weight_decay": 3e-4,
    "w_grad_clip": 5.0, "alpha_lr": 3e-4, "alpha_weight_decay": 1e-3, "batch_size": 128, "num_workers": 4,
    "init_channels": 16, "print_step": 50, "num_nodes": 4, "stem_multiplier": 3,
}  # fmt: skip


class DartsSuggestion(SearchAlgorithm):
    name = "darts"

    def __init__(self, settings: Sequence[tuple[str, str]], nas_config: Mapping[str, Any]) -> None:
        values: dict[str, Any] = dict(DEFAULTS)
        for name, value in settings:
            values[name] = None if value == "None" else value
        layers = (nas_config.get("graphConfig") or {}).get("numLayers")
        if not layers:
            raise AlgorithmError("DARTS needs nasConfig.graphConfig.numLayers")
        self.assignment = {
            "algorithm-settings": json.dumps(values).replace('"', "'"),
            "search-space": json.dumps(search_space(nas_config)).replace('"', "'"),
            "num-layers": str(layers),
        }

    def suggest(
        self, space: SearchSpace | None, trials: Sequence[Trial], count: int, minimize: bool, seed: int = 0
    ) -> list[Suggestion]:
        return [Suggestion(dict(self.assignment)) for _ in range(count)]


def search_space(nas_config: Mapping[str, Any]) -> list[str]:
    """Operation names: ``<operationType>_<k>x<k>`` per filter size, ``skip_connection`` alone."""
    names: list[str] = []
    for op in nas_config.get("operations") or []:
        op_type = op.get("operationType", "")
        if op_type == "skip_connection":
            names.append(op_type)
            continue
        params = op.get("parameters") or []
        if not params:
            raise AlgorithmError(f"DARTS operation {op_type!r} needs a filter_size parameter")
        for size in (params[0].get("feasibleSpace") or {}).get("list") or []:
            names.append(f"{op_type}_{size}x{size}")
    if not names:
        raise AlgorithmError("DARTS needs at least one operation in nasConfig.operations")
    return names
