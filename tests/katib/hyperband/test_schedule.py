"""Bracket tables against Algorithm 1 of Li et al. (2018): literal tables and the paper's formulas."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest

from katib.hyperband import ScheduleError, brackets, budget, resource_value, s_max
from katib.space import discrete, double, integer

# (R, eta) -> {s: [(n_i, r_i), ...]} written out by hand from the paper's formulas.
TABLES = {
    (81, 3): {
        4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    },
    (243, 3): {
        5: [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)],
        4: [(98, 3), (32, 9), (10, 27), (3, 81), (1, 243)],
        3: [(41, 9), (13, 27), (4, 81), (1, 243)],
        2: [(18, 27), (6, 81), (2, 243)],
        1: [(9, 81), (3, 243)],
        0: [(6, 243)],
    },
    (1000, 10): {
        3: [(1000, 1), (100, 10), (10, 100), (1, 1000)],
        2: [(134, 10), (13, 100), (1, 1000)],
        1: [(20, 100), (2, 1000)],
        0: [(4, 1000)],
    },
    (5, 2): {
        2: [(4, F(5, 4)), (2, F(5, 2)), (1, 5)],
        1: [(3, F(5, 2)), (1, 5)],
        0: [(3, 5)],
    },
}


@pytest.mark.parametrize(("big_r", "eta"), list(TABLES))
def test_tables_match_the_paper(big_r, eta):
    table = brackets(big_r, eta)
    assert [b.s for b in table] == sorted(TABLES[(big_r, eta)], reverse=True)
    for bracket in table:
        assert [(rung.n, rung.resource) for rung in bracket.rungs] == TABLES[(big_r, eta)][bracket.s]


@pytest.mark.parametrize(("big_r", "eta"), list(TABLES))
def test_tables_follow_the_formulas(big_r, eta):
    top = s_max(big_r, eta)
    big_b = (top + 1) * big_r
    assert budget(big_r, eta) == big_b
    for bracket in brackets(big_r, eta):
        n = -(-big_b * eta**bracket.s // (big_r * (bracket.s + 1)))  # integer ceil
        r = F(big_r, eta**bracket.s)
        assert (bracket.n, bracket.r) == (n, r)
        for i, rung in enumerate(bracket.rungs):
            assert rung.n == n // eta**i
            assert rung.resource == r * eta**i
            assert rung.keep == (rung.n // eta if i < bracket.s else 0)
        assert bracket.total_resource <= big_b


def test_s_max_has_no_floating_point_error():
    # math.log(243, 3) is 4.999999999999999: Katib's built-in service gets 4 here.
    assert math.floor(math.log(243, 3)) == 4
    assert s_max(243, 3) == 5
    assert s_max(1000, 10) == 3
    assert s_max(242, 3) == 4
    assert s_max(81, 3, min_resource=3) == 3
    assert s_max(1, 3) == 0


@pytest.mark.parametrize("eta", [2, 3, 4, 10])
def test_every_bracket_stays_within_budget(eta):
    for big_r in range(1, 300, 7):
        for min_resource in (1, 2):
            if min_resource > big_r:
                continue
            limit = budget(big_r, eta, min_resource)
            assert all(b.total_resource <= limit for b in brackets(big_r, eta, min_resource))


def test_min_resource_scales_the_first_rung():
    table = brackets(90, 3, min_resource=10)
    assert s_max(90, 3, 10) == 2
    assert table[0].r == 10
    assert [rung.resource for rung in table[0].rungs] == [10, 30, 90]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((81, 1), "eta must be greater than 1"),
        ((81, 0.5), "eta must be greater than 1"),
        ((81, 2.5), "whole number"),
        ((0, 3), "maximum resource"),
        ((-5, 3), "maximum resource"),
        ((81, 3, 0), "minimum resource must be positive"),
        ((10, 3, 20), "exceeds the maximum"),
        (("abc", 3), "must be a finite number"),
    ],
)
def test_bad_schedules_are_rejected(args, message):
    with pytest.raises(ScheduleError, match=message):
        brackets(*args)


def test_resource_values_follow_the_parameter_type():
    assert resource_value(F(100, 81), integer("epochs", 1, 100)) == 1
    assert resource_value(F(100, 27), integer("epochs", 1, 100)) == 4
    assert resource_value(F(5, 2), integer("epochs", 1, 100)) == 3  # halves go up
    assert resource_value(F(1, 3), integer("epochs", 1, 100)) == 1  # never 0
    assert resource_value(F(10, 9), double("fraction", 0.1, 10)) == pytest.approx(10 / 9)
    assert resource_value(F(5, 4), double("fraction", 0.1, 10)) == 1.25
    assert resource_value(F(10, 3), discrete("steps", [1, 3, 9, 27])) == 3
    assert resource_value(F(6), discrete("steps", [1, 3, 9, 27])) == 9  # tie goes up
