"""The DARTS search space as data: the candidate operations and the cell layout of a network.

Katib hands a trial its operations as a JSON list with ``'`` for ``"``
(``"['separable_convolution_3x3', 'skip_connection']"``) and the number of cells as ``--num-layers``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from katib.darts.errors import DartsError, SearchSpaceError
from katib.darts.operations import NONE, parse_operation


@dataclass(frozen=True)
class DartsSearchSpace:
    """The candidate operations of every edge; ``none`` is always added as the last primitive."""

    operations: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.operations:
            raise SearchSpaceError("a DARTS search space needs at least one operation besides 'none'")
        for name in self.operations:
            if name == NONE:
                raise SearchSpaceError(
                    "'none' is always part of the search space; list only the other operations"
                )
            parse_operation(name)
        repeated = sorted({n for n in self.operations if self.operations.count(n) > 1})
        if repeated:
            raise SearchSpaceError(f"operations must be unique; repeated: {repeated}")

    @property
    def primitives(self) -> tuple[str, ...]:
        """The operations of a mixed operation, in the order of the architecture parameters' columns."""
        return (*self.operations, NONE)

    @classmethod
    def from_katib(cls, text: str) -> DartsSearchSpace:
        """Read ``--search-space`` as Katib's DARTS suggestion writes it."""
        value = parse_katib_json(text, "--search-space", SearchSpaceError)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SearchSpaceError(f"--search-space must be a JSON list of operation names, got {text!r}")
        return cls(tuple(value))

    def to_katib(self) -> str:
        return json.dumps(list(self.operations)).replace('"', "'")


def unquote(text: str) -> str:
    """Drop one pair of quotes around a whole argument.

    Katib's example trial templates write ``--num-layers="${trialParameters.numberLayers}"`` as a
    container argument; no shell runs, so the quotes reach the program.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def parse_katib_json(text: str, what: str, error: type[DartsError]) -> Any:
    """Parse JSON in which Katib replaced every ``"`` by ``'``; Python literals (None, True) work too."""
    text = unquote(text)
    try:
        return json.loads(text.replace("'", '"'))
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise error(f"{what} is neither JSON nor a Python literal: {text!r}") from None


def reduction_layers(num_layers: int) -> frozenset[int]:
    """Indices of the reduction cells, laid out exactly as Katib's DARTS trial does.

    One cell: no reduction. Two cells: the second reduces. Otherwise the cells at 1/3 and 2/3 of the
    depth reduce (and double the channels), as in Liu et al. 2019.
    """
    if num_layers < 1:
        raise SearchSpaceError(f"num_layers must be >= 1, got {num_layers}")
    if num_layers == 1:
        return frozenset()
    if num_layers == 2:
        return frozenset({1})
    return frozenset({num_layers // 3, 2 * num_layers // 3})
