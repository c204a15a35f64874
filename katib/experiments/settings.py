"""Algorithm names and settings, checked as each Katib suggestion service's ValidateAlgorithmSettings does.

Katib's webhook accepts an algorithm only when katib-config registers a suggestion service for it; the
names below are the services of a default Katib 0.19 install plus ours, ``kwp-hyperband``. The service
then validates its settings; for the algorithms kwp implements locally we run the same parser the
local runner uses, so the cluster and a laptop reject the same Experiment with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KATIB_ALGORITHMS: tuple[str, ...] = (
    "random", "tpe", "grid", "hyperband", "multivariate-tpe", "cmaes", "sobol", "bayesianoptimization",
    "enas", "darts", "pbt",
)  # fmt: skip
KWP_HYPERBAND = "kwp-hyperband"
KNOWN_ALGORITHMS: tuple[str, ...] = (*KATIB_ALGORITHMS, KWP_HYPERBAND)
DARTS_SETTING_TYPES: dict[str, type] = {
    "num_epochs": int, "w_lr": float, "w_lr_min": float, "w_momentum": float, "w_weight_decay": float,
    "w_grad_clip": float, "alpha_lr": float, "alpha_weight_decay": float, "batch_size": int,
    "num_workers": int,
    "init_channels": int, "print_step": int, "num_nodes": int, "stem_multiplier": int,
    "unrolled": bool,  # ours: Katib's DARTS service passes every setting through to the trial
}  # fmt: skip
_BOOLEAN_TEXT = ("true", "false", "1", "0", "yes", "no")  # what katib.darts.settings accepts
_DARTS_MINIMUM = {"num_epochs": 1, "batch_size": 1, "init_channels": 1, "print_step": 1, "num_nodes": 1,
                  "stem_multiplier": 1}  # fmt: skip
PATH = "spec.algorithm"


def settings_of(algorithm: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``algorithmSettings`` as (name, value) pairs of strings."""
    return [
        (str(s.get("name", "")), str(s.get("value", ""))) for s in algorithm.get("algorithmSettings") or []
    ]


def check_algorithm(algorithm: Mapping[str, Any], spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with the algorithm's name and settings, as (field path, message)."""
    name = algorithm.get("algorithmName") or ""
    if not name:
        return [(f"{PATH}.algorithmName", "must be specified")]
    if name not in KNOWN_ALGORITHMS:
        return [
            (
                f"{PATH}.algorithmName",
                f"{name!r} has no suggestion service; known: {', '.join(KNOWN_ALGORITHMS)}",
            )
        ]
    settings = settings_of(algorithm)
    if name == "darts":
        return _darts(settings, spec)
    if name in ("random", "tpe", "grid", KWP_HYPERBAND):
        return _local(name, settings, spec)
    return []


def _local(name: str, settings: list[tuple[str, str]], spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    from katib.algorithms import make_algorithm
    from katib.algorithms.base import AlgorithmError
    from katib.space import SearchSpace, SearchSpaceError

    try:
        space = SearchSpace.from_katib(spec.get("parameters") or [])
    except SearchSpaceError:
        space = None  # the parameters' own checks report this
    if space is None and name == KWP_HYPERBAND:
        return []
    try:
        make_algorithm(name, settings, space)
    except AlgorithmError as err:
        return [(f"{PATH}.algorithmSettings", str(err))]
    return []


def _darts(settings: list[tuple[str, str]], spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    issues = []
    for name, value in settings:
        kind = DARTS_SETTING_TYPES.get(name)
        if kind is None:
            issues.append(
                (
                    f"{PATH}.algorithmSettings",
                    f"unknown DARTS setting {name!r}; valid: {sorted(DARTS_SETTING_TYPES)}",
                )
            )
            continue
        if name == "batch_size" and value == "None":
            continue
        if kind is bool:
            if value.strip().lower() not in _BOOLEAN_TEXT:
                message = f"DARTS setting {name}={value!r} must be true or false"
                issues.append((f"{PATH}.algorithmSettings", message))
            continue
        try:
            number = kind(value)
        except ValueError:
            issues.append(
                (f"{PATH}.algorithmSettings", f"DARTS setting {name}={value!r} must be {kind.__name__}")
            )
            continue
        if number < _DARTS_MINIMUM.get(name, 0):
            issues.append(
                (
                    f"{PATH}.algorithmSettings",
                    f"DARTS setting {name}={value} must be >= {_DARTS_MINIMUM.get(name, 0)}",
                )
            )
    nas = spec.get("nasConfig") or {}
    if not (nas.get("graphConfig") or {}).get("numLayers"):
        issues.append(("spec.nasConfig.graphConfig.numLayers", "DARTS needs the number of layers (cells)"))
    if not nas.get("operations"):
        issues.append(("spec.nasConfig.operations", "DARTS needs at least one operation"))
    return issues
