"""Typed search spaces shared by the experiment builders, Hyperband, the local runner and the service.

Katib describes a parameter as ``{name, parameterType, feasibleSpace: {min, max, step, list,
distribution}}`` with every number as a string; :meth:`Parameter.to_katib` and
:meth:`Parameter.from_katib` convert between that form and ours, so the same space drives a cluster
Experiment and a local run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ParameterType = Literal["double", "int", "discrete", "categorical"]
Scale = Literal["linear", "log"]
Value = float | int | str

PARAMETER_TYPES: tuple[str, ...] = ("double", "int", "discrete", "categorical")
_KATIB_DISTRIBUTION = {"linear": "uniform", "log": "logUniform"}
_SCALE_FROM_KATIB = {"uniform": "linear", "logUniform": "log", "": "linear"}


class SearchSpaceError(ValueError):
    """A search space or a parameter value that cannot be used."""


@dataclass(frozen=True)
class Parameter:
    """One searchable parameter.

    ``double`` and ``int`` use ``low``/``high`` (inclusive) and an optional ``step``; ``scale="log"``
    samples uniformly in log space. ``discrete`` (numbers) and ``categorical`` (strings) use ``values``.
    """

    name: str
    type: ParameterType
    low: float | None = None
    high: float | None = None
    step: float | None = None
    scale: Scale = "linear"
    values: tuple[Value, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name:
            raise SearchSpaceError("a parameter needs a non-empty name")
        if self.type not in PARAMETER_TYPES:
            raise SearchSpaceError(
                f"parameter {self.name!r} has type {self.type!r}; valid types: {', '.join(PARAMETER_TYPES)}"
            )
        if self.scale not in _KATIB_DISTRIBUTION:
            raise SearchSpaceError(f"parameter {self.name!r} has scale {self.scale!r}; valid: linear, log")
        if self.is_numeric_range:
            self._check_range()
        elif not self.values:
            raise SearchSpaceError(f"{self.type} parameter {self.name!r} needs a non-empty list of values")
        elif self.type == "discrete":
            bad = [v for v in self.values if isinstance(v, str) and not _is_number(v)]
            if bad:
                raise SearchSpaceError(f"discrete parameter {self.name!r} has non-numeric values {bad}")

    def _check_range(self) -> None:
        if self.low is None or self.high is None:
            raise SearchSpaceError(f"{self.type} parameter {self.name!r} needs both low and high")
        if not self.low <= self.high:
            raise SearchSpaceError(
                f"parameter {self.name!r} has low={self.low} > high={self.high}; low must be <= high"
            )
        if self.scale == "log" and self.low <= 0:
            raise SearchSpaceError(f"log-scaled parameter {self.name!r} needs low > 0, got {self.low}")
        if self.step is not None and self.step <= 0:
            raise SearchSpaceError(f"parameter {self.name!r} has step={self.step}; step must be > 0")

    @property
    def is_numeric_range(self) -> bool:
        return self.type in ("double", "int")

    @property
    def is_numeric(self) -> bool:
        return self.type != "categorical"

    def sample(self, rng: random.Random) -> Value:
        """Draw one value, uniformly (in log space when ``scale="log"``)."""
        if not self.is_numeric_range:
            return self.values[rng.randrange(len(self.values))]
        assert self.low is not None and self.high is not None
        if self.scale == "log":
            raw = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            raw = rng.uniform(self.low, self.high)
        return self.snap(raw)

    def snap(self, raw: float) -> Value:
        """Round a raw number onto this parameter's type and step, kept inside [low, high]."""
        assert self.low is not None and self.high is not None
        value = min(max(raw, self.low), self.high)
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
            value = min(value, self.high)
        if self.type == "int":
            return round(value)
        return float(value)

    def grid(self, points: int = 5) -> list[Value]:
        """The values a grid search visits: every step, or ``points`` evenly spaced values."""
        if not self.is_numeric_range:
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.type == "int" and not self.step and self.high - self.low + 1 <= points:
            return list(range(int(self.low), int(self.high) + 1))
        if self.step:
            count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
            return _unique(self.snap(self.low + i * self.step) for i in range(count))
        if points < 2 or self.low == self.high:
            return [self.snap(self.low)]
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            raws = [math.exp(lo + (hi - lo) * i / (points - 1)) for i in range(points)]
        else:
            raws = [self.low + (self.high - self.low) * i / (points - 1) for i in range(points)]
        return _unique(self.snap(r) for r in raws)

    def parse(self, text: str | Value) -> Value:
        """Turn a value as Katib passes it (always a string) back into this parameter's type."""
        if self.type == "categorical":
            value = str(text)
            if value not in [str(v) for v in self.values]:
                raise SearchSpaceError(
                    f"value {value!r} is not one of {list(self.values)} for parameter {self.name!r}"
                )
            return value
        try:
            number = float(text)
        except (TypeError, ValueError):
            raise SearchSpaceError(f"parameter {self.name!r} expects a number, got {text!r}") from None
        if self.type == "int":
            if number != int(number):
                raise SearchSpaceError(f"parameter {self.name!r} expects an integer, got {text!r}")
            return int(number)
        return number

    def to_katib(self) -> dict[str, Any]:
        """The Katib ``ParameterSpec`` dictionary (numbers as strings, as the CRD wants)."""
        katib_type = "categorical" if self.type == "categorical" else self.type
        space: dict[str, Any] = {}
        if self.is_numeric_range:
            space["min"] = _katib_number(self.low, self.type)
            space["max"] = _katib_number(self.high, self.type)
            if self.step:
                space["step"] = _katib_number(self.step, self.type)
            if self.scale == "log":
                space["distribution"] = _KATIB_DISTRIBUTION[self.scale]
        else:
            space["list"] = [str(v) for v in self.values]
        return {"name": self.name, "parameterType": katib_type, "feasibleSpace": space}

    @classmethod
    def from_katib(cls, spec: Mapping[str, Any]) -> Parameter:
        """Read a Katib ``ParameterSpec`` (camelCase keys, string numbers)."""
        name = spec.get("name", "")
        ptype = spec.get("parameterType") or spec.get("parameter_type")
        space = spec.get("feasibleSpace") or spec.get("feasible_space") or {}
        distribution = space.get("distribution") or ""
        if distribution not in _SCALE_FROM_KATIB:
            raise SearchSpaceError(
                f"parameter {name!r} has distribution {distribution!r}; supported: uniform, logUniform"
            )
        if ptype in ("double", "int"):
            return cls(
                name=name,
                type=ptype,
                low=_float(space.get("min"), name, "min"),
                high=_float(space.get("max"), name, "max"),
                step=_float(space["step"], name, "step") if space.get("step") else None,
                scale=_SCALE_FROM_KATIB[distribution],  # type: ignore[arg-type]
            )
        values = tuple(space.get("list") or ())
        if ptype == "discrete":
            values = tuple(_number(v) for v in values)
        return cls(name=name, type=ptype, values=values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of uniquely named parameters."""

    parameters: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        if not self.parameters:
            raise SearchSpaceError("a search space needs at least one parameter")
        names = [p.name for p in self.parameters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SearchSpaceError(f"parameter names must be unique; repeated: {dupes}")

    @classmethod
    def of(cls, parameters: Iterable[Parameter]) -> SearchSpace:
        return cls(tuple(parameters))

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise SearchSpaceError(f"no parameter named {name!r}; the space has {self.names}")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def sample(self, rng: random.Random, exclude: Sequence[str] = ()) -> dict[str, Value]:
        return {p.name: p.sample(rng) for p in self.parameters if p.name not in exclude}

    def parse(self, assignment: Mapping[str, str | Value]) -> dict[str, Value]:
        """Typed values for a ``{name: string}`` assignment; unknown names are an error."""
        unknown = sorted(set(assignment) - set(self.names))
        if unknown:
            raise SearchSpaceError(f"unknown parameters {unknown}; the space has {self.names}")
        return {name: self[name].parse(text) for name, text in assignment.items()}

    def to_katib(self) -> list[dict[str, Any]]:
        return [p.to_katib() for p in self.parameters]

    @classmethod
    def from_katib(cls, specs: Iterable[Mapping[str, Any]]) -> SearchSpace:
        return cls(tuple(Parameter.from_katib(s) for s in specs))


def double(name: str, low: float, high: float, *, log: bool = False, step: float | None = None) -> Parameter:
    return Parameter(name, "double", low=low, high=high, step=step, scale="log" if log else "linear")


def integer(name: str, low: int, high: int, *, log: bool = False, step: int | None = None) -> Parameter:
    return Parameter(name, "int", low=low, high=high, step=step, scale="log" if log else "linear")


def discrete(name: str, values: Sequence[float]) -> Parameter:
    return Parameter(name, "discrete", values=tuple(values))


def categorical(name: str, values: Sequence[str]) -> Parameter:
    return Parameter(name, "categorical", values=tuple(str(v) for v in values))


def format_value(value: Value) -> str:
    """A value as Katib passes it to a trial: integers without a decimal point, floats in full."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value)


def _unique(values: Iterable[Value]) -> list[Value]:
    seen: list[Value] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(value: Value) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() and "." not in str(value) else number


def _float(value: Any, name: str, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SearchSpaceError(f"parameter {name!r} has {what}={value!r}; expected a number") from None


def _katib_number(value: float | None, ptype: str) -> str:
    assert value is not None
    if ptype == "int":
        return str(int(value))
    return repr(float(value))
