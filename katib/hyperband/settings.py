"""Hyperband's settings, read from Katib's ``algorithmSettings`` (name/value strings) and checked.

Katib names: ``resource_name`` (the parameter that carries the budget, e.g. epochs), ``r_l`` (R, the
maximum resource) and ``eta``. Ours on top: ``min_resource`` (r_min, default the parameter's lower
bound), ``variant`` (``sync`` = Algorithm 1, ``async`` = asynchronous successive halving),
``async_brackets`` and ``random_state`` (the seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from katib.hyperband.schedule import Number, ScheduleError, as_fraction, check_schedule, s_max
from katib.space import SearchSpace, SearchSpaceError

Variant = Literal["sync", "async"]
VARIANTS: tuple[str, ...] = ("sync", "async")

# Accepted algorithm-setting names; the aliases map onto the same field.
_ALIASES = {
    "resource_name": "resource_name",
    "r_l": "max_resource",
    "max_resource": "max_resource",
    "min_resource": "min_resource",
    "r_min": "min_resource",
    "eta": "eta",
    "variant": "variant",
    "async_brackets": "async_brackets",
    "random_state": "seed",
    "seed": "seed",
}

#: How errors name a field: the Katib setting name users write in algorithmSettings.
_KATIB_NAME = {"max_resource": "r_l", "seed": "random_state"}


class HyperbandSettingsError(ValueError):
    """Algorithm settings that Hyperband cannot run with; the message names the bad value."""


@dataclass(frozen=True)
class HyperbandSettings:
    """Everything the algorithm needs besides the search space and the trials.

    Resources and ``eta`` are kept as exact fractions (floats are converted through their repr, so
    ``0.1`` means 1/10). ``async_brackets`` is how many of the brackets ``s_max, s_max-1, ...`` the
    asynchronous variant cycles through: 1 is plain ASHA, ``s_max + 1`` asynchronous Hyperband.
    """

    resource_name: str
    max_resource: Fraction
    eta: Fraction = Fraction(3)
    min_resource: Fraction = Fraction(1)
    variant: Variant = "sync"
    seed: int = 0
    async_brackets: int = 1

    def __post_init__(self) -> None:
        for name in ("max_resource", "eta", "min_resource"):
            try:
                object.__setattr__(self, name, as_fraction(getattr(self, name), name))
            except ScheduleError as err:
                raise HyperbandSettingsError(str(err)) from None
        if not self.resource_name:
            raise HyperbandSettingsError("resource_name is required: the parameter that carries the budget")
        if self.variant not in VARIANTS:
            raise HyperbandSettingsError(
                f"variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}"
            )
        try:
            check_schedule(self.max_resource, self.eta, self.min_resource)
        except ScheduleError as err:
            raise HyperbandSettingsError(str(err)) from None
        if not 1 <= self.async_brackets <= self.s_max + 1:
            raise HyperbandSettingsError(
                f"async_brackets must be between 1 and s_max + 1 = {self.s_max + 1}, "
                f"got {self.async_brackets}"
            )

    @property
    def s_max(self) -> int:
        return s_max(self.max_resource, self.eta, self.min_resource)

    @classmethod
    def from_katib(
        cls, settings: Sequence[tuple[str, str]] | Mapping[str, str], space: SearchSpace
    ) -> HyperbandSettings:
        """Read and check Katib's ``algorithmSettings`` against the search space."""
        values = _normalise(settings)
        resource_name = values.get("resource_name", "").strip()
        if not resource_name:
            raise HyperbandSettingsError(
                "the algorithm setting resource_name is missing: name the search-space parameter that "
                f"carries the budget (one of {space.names})"
            )
        if resource_name not in space:
            raise HyperbandSettingsError(
                f"resource_name {resource_name!r} is not a parameter of the search space {space.names}"
            )
        parameter = space[resource_name]
        if not parameter.is_numeric:
            raise HyperbandSettingsError(
                f"resource parameter {resource_name!r} is categorical; it must be int, double or discrete"
            )
        if "max_resource" not in values:
            raise HyperbandSettingsError(
                "the algorithm setting r_l (the maximum resource R) is missing; e.g. r_l=81 for 81 epochs"
            )
        min_default: Number = _parameter_low(space, resource_name)
        settings_obj = cls(
            resource_name=resource_name,
            max_resource=_number(values, "max_resource"),
            eta=_number(values, "eta") if "eta" in values else Fraction(3),
            min_resource=_number(values, "min_resource") if "min_resource" in values else min_default,
            variant=values.get("variant", "sync"),  # type: ignore[arg-type]
            seed=_integer(values, "seed", 0),
            async_brackets=_integer(values, "async_brackets", 1),
        )
        settings_obj.check_against(space)
        return settings_obj

    def check_against(self, space: SearchSpace) -> None:
        """The resource parameter exists, is numeric and its range holds [min_resource, max_resource]."""
        try:
            parameter = space[self.resource_name]
        except SearchSpaceError:
            raise HyperbandSettingsError(
                f"resource_name {self.resource_name!r} is not a parameter of the search space {space.names}"
            ) from None
        if not parameter.is_numeric:
            raise HyperbandSettingsError(
                f"resource parameter {self.resource_name!r} is categorical; "
                "it must be int, double or discrete"
            )
        values = [float(v) for v in parameter.values] if parameter.values else []
        low = parameter.low if parameter.is_numeric_range else min(values)
        high = parameter.high if parameter.is_numeric_range else max(values)
        assert low is not None and high is not None
        if self.max_resource > as_fraction(high, "high") or self.min_resource < as_fraction(low, "low"):
            raise HyperbandSettingsError(
                f"resources from {float(self.min_resource):g} to {float(self.max_resource):g} do not fit "
                f"the range [{low:g}, {high:g}] of parameter {self.resource_name!r}; widen the range or "
                "change r_l / min_resource"
            )


def _normalise(settings: Sequence[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    pairs = settings.items() if isinstance(settings, Mapping) else settings
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in _ALIASES:
            raise HyperbandSettingsError(
                f"unknown algorithm setting {name!r}; valid settings: {', '.join(sorted(_ALIASES))}"
            )
        values[_ALIASES[name]] = str(value).strip()
    return values


def _number(values: Mapping[str, str], field: str) -> Fraction:
    try:
        return as_fraction(values[field], field)
    except ScheduleError:
        raise HyperbandSettingsError(
            f"algorithm setting {_KATIB_NAME.get(field, field)} must be a number, got {values[field]!r}"
        ) from None


def _integer(values: Mapping[str, str], field: str, default: int) -> int:
    if field not in values:
        return default
    try:
        return int(values[field])
    except ValueError:
        raise HyperbandSettingsError(
            f"algorithm setting {_KATIB_NAME.get(field, field)} must be an integer, got {values[field]!r}"
        ) from None


def _parameter_low(space: SearchSpace, name: str) -> Number:
    """The default r_min: the resource parameter's lower bound when positive, else 1."""
    parameter = space[name]
    low = parameter.low if parameter.is_numeric_range else min(float(v) for v in parameter.values)
    return low if low is not None and low > 0 else 1
