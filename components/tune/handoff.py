"""From a finished search to the training step that follows it.

Katib reports the best trial's parameters as strings keyed by the trial's command-line names
(``{"lr": "0.003", "hidden-sizes": "128,64", "epochs": "9"}``); DARTS reports a genotype. These helpers
turn either into arguments of the ``train`` component.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from katib.experiments.errors import ExperimentError


class HandoffError(ExperimentError):
    """The search's result cannot be turned into training arguments."""


def training_args_from_best(
    best_parameters: str | Mapping[str, str], *, resource_name: str = "epochs", base: str = "{}"
) -> tuple[float | None, dict[str, Any]]:
    """``(lr or None, extra_args)`` for the train component from the best trial's parameters.

    The resource parameter (Hyperband's budget) is dropped: the final model trains with the full
    resource, which the pipeline passes as ``epochs``. ``base`` holds extra arguments the search did
    not tune; tuned values win.
    """
    params = _object("best_parameters", best_parameters)
    if not params:
        raise HandoffError("the search produced no best parameters: did every trial fail?")
    extra = {**_object("base extra args", base)}
    lr = None
    for name, value in params.items():
        key = name.replace("-", "_")
        if key == resource_name.replace("-", "_"):
            continue
        if key == "lr":
            lr = float(value)
        else:
            extra[key] = value
    return lr, extra


def darts_training_args(genotype: str, base: str = "{}") -> dict[str, Any]:
    """``extra_args`` that train the DARTS genotype from scratch with the ``darts`` architecture."""
    from katib.darts.genotype import coerce_genotype

    if not genotype.strip():
        raise HandoffError("the DARTS search reported no genotype (no 'Best-Genotype=' line)")
    parsed = coerce_genotype(genotype)
    extra = _object("base extra args", base)
    options = {**extra.pop("model_options", {}), "genotype": parsed.to_dict()}
    return {**extra, "model_options": options}


def _object(what: str, value: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(value or "{}")
    except json.JSONDecodeError as error:
        raise HandoffError(f"{what} is not JSON: {error}: {value!r}") from None
    if not isinstance(parsed, dict):
        raise HandoffError(f"{what} must be a JSON object, got {value!r}")
    return parsed
