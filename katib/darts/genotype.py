"""Genotypes: the discrete architecture a DARTS search derives, printed, parsed and stored.

A genotype lists, for every intermediate node of a cell, its chosen incoming edges as
``(operation, input index)`` pairs; inputs 0 and 1 are the outputs of the two previous cells, input
``i + 2`` is node ``i``. It prints exactly like the namedtuple of Katib's DARTS trial::

    Genotype(normal=[[('separable_convolution_3x3', 0), ('skip_connection', 1)], ...],
             normal_concat=range(2, 6), reduce=[...], reduce_concat=range(2, 6))

and :func:`parse_genotype` reads that text (with or without spaces) back, without ``eval``.
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from katib.darts.errors import GenotypeError, SearchSpaceError
from katib.darts.operations import NONE, parse_operation
from katib.darts.search_space import DartsSearchSpace

Edge = tuple[str, int]
Node = tuple[Edge, ...]
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


@dataclass(frozen=True)
class Genotype:
    """Normal and reduction cell of a derived architecture; ``reduce`` is empty without reduction cells."""

    normal: tuple[Node, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Node, ...] = ()
    reduce_concat: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in _FIELDS:
            object.__setattr__(self, name, _freeze(getattr(self, name), name))
        if not self.normal:
            raise GenotypeError("a genotype needs at least one node in its normal cell")
        _check_cell("normal", self.normal, self.normal_concat)
        _check_cell("reduce", self.reduce, self.reduce_concat, allow_empty=True)

    @property
    def num_nodes(self) -> int:
        return len(self.normal)

    def __str__(self) -> str:
        return (
            f"Genotype(normal={_cell_text(self.normal)}, normal_concat={_concat_text(self.normal_concat)}, "
            f"reduce={_cell_text(self.reduce)}, reduce_concat={_concat_text(self.reduce_concat)})"
        )

    def compact(self) -> str:
        """The form Katib's trial prints after ``Best-Genotype=``: no spaces at all."""
        return str(self).replace(" ", "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "normal": [[list(edge) for edge in node] for node in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [[list(edge) for edge in node] for node in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Genotype:
        missing = [f for f in ("normal", "normal_concat") if f not in data]
        unknown = sorted(set(data) - set(_FIELDS))
        if missing or unknown:
            raise GenotypeError(
                f"genotype JSON: missing keys {missing}, unknown keys {unknown}; keys: {', '.join(_FIELDS)}"
            )
        return cls(**{name: data[name] for name in _FIELDS if name in data})


def parse_genotype(text: str) -> Genotype:
    """Read a genotype as :meth:`Genotype.__str__` or Katib's trial prints it.

    A leading metric name (``Best-Genotype=``) is dropped, so a collected Katib metric value parses too.
    """
    text = text.strip()
    head, sep, rest = text.partition("=")
    if sep and not head.startswith("Genotype(") and rest.lstrip().startswith("Genotype("):
        text = rest.strip()
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise GenotypeError(f"not a genotype: {_clip(text)}") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise GenotypeError(f"a genotype looks like Genotype(normal=..., ...); got {_clip(text)}")
    if tree.args:
        raise GenotypeError("write genotype fields as keywords: Genotype(normal=..., normal_concat=..., ...)")
    fields = {kw.arg: _literal(kw.value, str(kw.arg)) for kw in tree.keywords}
    return Genotype.from_dict(fields)


def coerce_genotype(value: Genotype | Mapping[str, Any] | str) -> Genotype:
    """A genotype from an instance, its dictionary, its JSON text, or its printed form."""
    if isinstance(value, Genotype):
        return value
    if isinstance(value, Mapping):
        return Genotype.from_dict(value)
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            try:
                return Genotype.from_dict(json.loads(value))
            except json.JSONDecodeError as exc:
                raise GenotypeError(f"genotype JSON does not parse: {exc}") from None
        return parse_genotype(value)
    raise GenotypeError(f"expected a genotype (dict, JSON or Genotype(...) text), got {type(value).__name__}")


def save_genotype(genotype: Genotype, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the genotype as JSON; an existing file is kept unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(genotype.to_dict(), indent=2) + "\n")
    return path


def load_genotype(path: str | Path) -> Genotype:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise GenotypeError(f"{path} is not JSON: {exc}") from None
    return Genotype.from_dict(data)


def edge_count(num_nodes: int) -> int:
    """Edges of a cell: node ``i`` has ``i + 2`` incoming edges."""
    return sum(i + 2 for i in range(num_nodes))


def derive_cell(
    alpha: torch.Tensor, primitives: Sequence[str], num_nodes: int, k: int = 2
) -> tuple[Node, ...]:
    """Keep, per node, the ``k`` incoming edges whose strongest non-``none`` operation is strongest.

    Strength is the softmax weight of the operation on its edge (Liu et al. 2019, section 2.4);
    ``none`` never counts. Ties go to the lower input index and the earlier operation.
    """
    expected = (edge_count(num_nodes), len(primitives))
    if tuple(alpha.shape) != expected:
        raise GenotypeError(f"alpha has shape {tuple(alpha.shape)}; a {num_nodes}-node cell needs {expected}")
    if NONE not in primitives:
        raise GenotypeError(f"the primitives must include {NONE!r}: {list(primitives)}")
    weights = torch.softmax(alpha.detach().double().cpu(), dim=-1).tolist()
    candidates = [p for p, name in enumerate(primitives) if name != NONE]
    nodes, start = [], 0
    for i in range(num_nodes):
        edges = []
        for j, row in enumerate(weights[start : start + i + 2]):
            best = max(candidates, key=lambda p, row=row: (row[p], -p))
            edges.append((row[best], j, primitives[best]))
        start += i + 2
        chosen = sorted(edges, key=lambda e: (-e[0], e[1]))[:k]
        nodes.append(tuple((name, j) for _, j, name in chosen))
    return tuple(nodes)


def derive_genotype(
    alpha_normal: torch.Tensor,
    alpha_reduce: torch.Tensor | None,
    primitives: Sequence[str],
    num_nodes: int,
    k: int = 2,
) -> Genotype:
    """The genotype of a search network's architecture parameters; all intermediate nodes are concatenated."""
    concat = tuple(range(2, 2 + num_nodes))
    reduce = derive_cell(alpha_reduce, primitives, num_nodes, k) if alpha_reduce is not None else ()
    return Genotype(derive_cell(alpha_normal, primitives, num_nodes, k), concat, reduce, concat)


def sample_genotype(space: DartsSearchSpace, num_nodes: int, rng: random.Random, k: int = 2) -> Genotype:
    """A uniformly random architecture: ``k`` distinct inputs per node, a random operation each."""

    def cell() -> tuple[Node, ...]:
        return tuple(
            tuple((rng.choice(space.operations), j) for j in sorted(rng.sample(range(i + 2), min(k, i + 2))))
            for i in range(num_nodes)
        )

    concat = tuple(range(2, 2 + num_nodes))
    return Genotype(cell(), concat, cell(), concat)


def _freeze(value: Any, name: str) -> tuple:
    if isinstance(value, range):
        return tuple(value)
    if not isinstance(value, (list, tuple)):
        raise GenotypeError(f"genotype field {name!r} must be a list, got {value!r}")
    if name.endswith("concat"):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise GenotypeError(f"genotype field {name!r} must list node indices, got {value!r}")
        return tuple(value)
    nodes = []
    for node in value:
        if not isinstance(node, (list, tuple)) or not node:
            raise GenotypeError(f"each node of {name!r} must be a non-empty list of (operation, input) pairs")
        nodes.append(tuple(_edge(edge, name) for edge in node))
    return tuple(nodes)


def _edge(edge: Any, cell: str) -> Edge:
    if (
        not isinstance(edge, (list, tuple))
        or len(edge) != 2
        or not isinstance(edge[0], str)
        or not isinstance(edge[1], int)
        or isinstance(edge[1], bool)
    ):
        raise GenotypeError(f"an edge of {cell!r} must be (operation name, input index), got {edge!r}")
    return edge[0], edge[1]


def _check_cell(
    name: str, nodes: tuple[Node, ...], concat: tuple[int, ...], allow_empty: bool = False
) -> None:
    for i, node in enumerate(nodes):
        for op, j in node:
            if op == NONE:
                raise GenotypeError(f"{name} node {i} uses 'none'; a derived genotype never does")
            try:
                parse_operation(op)
            except SearchSpaceError as exc:
                raise GenotypeError(f"{name} node {i}: {exc}") from None
            if not 0 <= j < i + 2:
                raise GenotypeError(f"{name} node {i} takes input {j}; valid inputs are 0..{i + 1}")
    if not nodes and allow_empty:
        return
    states = len(nodes) + 2
    if not concat or len(set(concat)) != len(concat) or not all(0 <= c < states for c in concat):
        raise GenotypeError(f"{name}_concat {list(concat)} must list distinct states among 0..{states - 1}")


def _literal(node: ast.expr, name: str) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        bounds = [_literal(arg, name) for arg in node.args]
        if not 1 <= len(bounds) <= 2 or node.keywords or not all(isinstance(b, int) for b in bounds):
            raise GenotypeError(f"genotype field {name!r}: range() needs one or two integers")
        return list(range(*bounds))
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        raise GenotypeError(f"genotype field {name!r} is not a literal: {_clip(ast.unparse(node))}") from None


def _cell_text(nodes: tuple[Node, ...]) -> str:
    return repr([list(node) for node in nodes])


def _concat_text(concat: tuple[int, ...]) -> str:
    if concat and list(concat) == list(range(concat[0], concat[-1] + 1)):
        return f"range({concat[0]}, {concat[-1] + 1})"
    return repr(list(concat))


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
