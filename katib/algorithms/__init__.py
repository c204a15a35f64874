"""Local search algorithms behind one interface: ``suggest(space, trials, count, minimize, seed)``.

``grid``, ``random`` and ``tpe`` are implemented here; ``kwp-hyperband`` (and Katib's ``hyperband``
name, run through the same core) delegates to :mod:`katib.hyperband`; ``darts`` reproduces Katib's
DARTS suggestion. :func:`make_algorithm` builds one from an Experiment's name and settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from katib.algorithms.base import (
    EARLY_STOPPED,
    FAILED,
    KILLED,
    METRICS_UNAVAILABLE,
    RUNNING,
    SUCCEEDED,
    TRIAL_STATES,
    AlgorithmError,
    SearchAlgorithm,
    Suggestion,
    Trial,
)
from katib.algorithms.grid import GridSearch, grid_size, iterate_grid
from katib.algorithms.random_search import RandomSearch
from katib.algorithms.tpe import TPE
from katib.space import SearchSpace

LOCAL_ALGORITHMS: tuple[str, ...] = ("grid", "random", "tpe", "kwp-hyperband", "hyperband", "darts")

__all__ = [
    "EARLY_STOPPED",
    "FAILED",
    "KILLED",
    "LOCAL_ALGORITHMS",
    "METRICS_UNAVAILABLE",
    "RUNNING",
    "SUCCEEDED",
    "TPE",
    "TRIAL_STATES",
    "AlgorithmError",
    "GridSearch",
    "RandomSearch",
    "SearchAlgorithm",
    "Suggestion",
    "Trial",
    "grid_size",
    "iterate_grid",
    "make_algorithm",
]


def make_algorithm(
    name: str,
    settings: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    space: SearchSpace | None = None,
    *,
    nas_config: Mapping[str, Any] | None = None,
    n_startup_trials: int = 10,
) -> SearchAlgorithm:
    """The algorithm for a Katib ``algorithmName`` and its ``algorithmSettings``.

    Raises :class:`AlgorithmError` for an unknown name or a bad setting. ``space`` is needed by
    Hyperband (to check the resource parameter) and may be None only while validating a broken space.
    """
    pairs = list(settings.items()) if isinstance(settings, Mapping) else list(settings or [])
    if name == "grid":
        algorithm: SearchAlgorithm = GridSearch(dict(pairs))
        if space is not None:
            grid_size(space)  # a double without a step fails here, before any trial runs
        return algorithm
    if name == "random":
        return RandomSearch(dict(pairs))
    if name == "tpe":
        return TPE(dict(pairs), n_startup_trials=n_startup_trials)
    if name in ("kwp-hyperband", "hyperband"):
        from katib.algorithms.hyperband import Hyperband

        if space is None:
            raise AlgorithmError("Hyperband needs a valid search space (spec.parameters)")
        return Hyperband(pairs, space)
    if name == "darts":
        from katib.algorithms.darts import DartsSuggestion

        return DartsSuggestion(pairs, nas_config or {})
    raise AlgorithmError(
        f"algorithm {name!r} cannot run locally; local algorithms: {', '.join(LOCAL_ALGORITHMS)}"
    )
