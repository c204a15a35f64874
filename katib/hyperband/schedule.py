"""Hyperband's bracket tables, exactly as Algorithm 1 of Li et al. (JMLR 2018) writes them.

Every quantity is an exact rational (:class:`fractions.Fraction`): ``s_max`` comes from an integer
loop rather than ``math.log`` (Katib's built-in service gets ``log_3(243) = 4.999…`` and so 4), and
the paper's floors and ceilings are applied to exact values. Resources stay fractional here; only
:func:`resource_value` rounds, and only as the resource parameter's type demands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from katib.space import Parameter, Value

Number = int | float | str | Fraction


class ScheduleError(ValueError):
    """Bracket parameters that Hyperband cannot use (eta <= 1, non-positive resources, ...)."""


@dataclass(frozen=True)
class Rung:
    """One round of successive halving: ``n`` configurations, each trained with ``resource``.

    ``keep`` is how many of them go on to the next rung (the paper's ``floor(n_i / eta)``); it is 0
    on a bracket's last rung.
    """

    n: int
    resource: Fraction
    keep: int


@dataclass(frozen=True)
class Bracket:
    """Successive halving with ``s`` rounds of elimination (the paper's bracket ``s``)."""

    s: int
    rungs: tuple[Rung, ...]

    @property
    def n(self) -> int:
        return self.rungs[0].n

    @property
    def r(self) -> Fraction:
        return self.rungs[0].resource

    @property
    def total_resource(self) -> Fraction:
        return sum((rung.n * rung.resource for rung in self.rungs), Fraction(0))

    @property
    def trial_count(self) -> int:
        return sum(rung.n for rung in self.rungs)


def as_fraction(value: Number, what: str) -> Fraction:
    """An exact rational from a setting (``"2.5"`` -> 5/2; floats by their shortest repr)."""
    try:
        if isinstance(value, float):
            value = repr(value)
        result = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ScheduleError(f"{what} must be a finite number, got {value!r}") from None
    return result


def check_schedule(max_resource: Fraction, eta: Fraction, min_resource: Fraction) -> None:
    if eta <= 1:
        raise ScheduleError(f"eta must be greater than 1, got {_show(eta)}")
    if eta.denominator != 1:
        # With a fractional eta, floor(n_i / eta) and n_(i+1) disagree and a bracket can exceed B.
        raise ScheduleError(f"eta must be a whole number (2, 3, 4, ...), got {_show(eta)}")
    if min_resource <= 0:
        raise ScheduleError(f"the minimum resource must be positive, got {_show(min_resource)}")
    if max_resource <= 0:
        raise ScheduleError(f"the maximum resource (r_l) must be positive, got {_show(max_resource)}")
    if min_resource > max_resource:
        raise ScheduleError(
            f"the minimum resource {_show(min_resource)} exceeds the maximum resource {_show(max_resource)}"
        )


def s_max(max_resource: Number, eta: Number, min_resource: Number = 1) -> int:
    """``floor(log_eta(R / r_min))`` by counting: the largest s with ``r_min * eta**s <= R``."""
    big_r, e, small_r = _exact(max_resource, eta, min_resource)
    s = 0
    while small_r * e ** (s + 1) <= big_r:
        s += 1
    return s


def brackets(max_resource: Number, eta: Number = 3, min_resource: Number = 1) -> list[Bracket]:
    """All brackets of one Hyperband iteration, from the most exploratory (``s = s_max``) to ``s = 0``."""
    big_r, e, small_r = _exact(max_resource, eta, min_resource)
    top = s_max(big_r, e, small_r)
    budget = (top + 1) * big_r  # B = (s_max + 1) R
    return [_bracket(s, big_r, e, budget) for s in range(top, -1, -1)]


def budget(max_resource: Number, eta: Number = 3, min_resource: Number = 1) -> Fraction:
    """The paper's per-bracket budget ``B = (s_max + 1) R``."""
    big_r, e, small_r = _exact(max_resource, eta, min_resource)
    return (s_max(big_r, e, small_r) + 1) * big_r


def _bracket(s: int, big_r: Fraction, eta: Fraction, budget: Fraction) -> Bracket:
    n = math.ceil(budget / big_r * eta**s / (s + 1))  # n = ceil(B/R * eta^s / (s+1))
    r = big_r / eta**s  # r = R * eta^-s
    rungs = []
    for i in range(s + 1):
        n_i = math.floor(n / eta**i)  # n_i = floor(n * eta^-i); for whole eta, the previous rung's keep
        keep = math.floor(n_i / eta) if i < s else 0  # T = top_k(T, L, floor(n_i / eta))
        rungs.append(Rung(n=n_i, resource=r * eta**i, keep=keep))
    return Bracket(s=s, rungs=tuple(rungs))


def resource_value(resource: Fraction, parameter: Parameter) -> Value:
    """The trial's resource as the parameter's type demands.

    ``double``: the exact value as the nearest float. ``int``: rounded to the nearest integer, halves
    upwards, and never below 1 (a trial with no resource would learn nothing). ``discrete``: the listed
    value closest to the exact resource (ties go to the larger value).
    """
    if parameter.type == "int":
        return max(1, math.floor(resource + Fraction(1, 2)))
    if parameter.type == "discrete":
        options = sorted(parameter.values, key=lambda v: (abs(as_fraction(v, "value") - resource), -float(v)))
        return options[0]
    if parameter.type == "double":
        return float(resource)
    raise ScheduleError(f"resource parameter {parameter.name!r} must be numeric, not {parameter.type}")


def _exact(max_resource: Number, eta: Number, min_resource: Number) -> tuple[Fraction, Fraction, Fraction]:
    big_r = as_fraction(max_resource, "the maximum resource (r_l)")
    e = as_fraction(eta, "eta")
    small_r = as_fraction(min_resource, "the minimum resource")
    check_schedule(big_r, e, small_r)
    return big_r, e, small_r


def _show(value: Fraction) -> str:
    return str(value) if value.denominator == 1 else f"{float(value):g}"
