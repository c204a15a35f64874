"""Reading Hyperband's algorithm settings as Katib sends them, and rejecting bad ones clearly."""

from __future__ import annotations

from fractions import Fraction

import pytest

from katib.hyperband import HyperbandSettings, HyperbandSettingsError
from katib.space import SearchSpace, categorical, discrete, double, integer


@pytest.fixture
def space():
    return SearchSpace.of(
        [
            double("lr", 1e-4, 1e-1, log=True),
            integer("epochs", 1, 243),
            categorical("optimizer", ["sgd", "adam"]),
            discrete("steps", [2, 6, 18]),
        ]
    )


def test_katib_names_and_defaults(space):
    settings = HyperbandSettings.from_katib([("resource_name", "epochs"), ("r_l", "243")], space)
    assert settings.resource_name == "epochs"
    assert settings.max_resource == 243
    assert settings.eta == 3
    assert settings.min_resource == 1  # the parameter's lower bound
    assert settings.variant == "sync"
    assert settings.s_max == 5


def test_all_settings_from_a_mapping(space):
    settings = HyperbandSettings.from_katib(
        {
            "resource_name": "steps",
            "max_resource": "18",
            "eta": "3",
            "variant": "async",
            "random_state": "7",
            "async_brackets": "2",
        },
        space,
    )
    assert (settings.min_resource, settings.seed, settings.variant) == (2, 7, "async")
    assert settings.async_brackets == 2
    assert settings.s_max == 2


def test_direct_construction_converts_floats_exactly():
    settings = HyperbandSettings(resource_name="epochs", max_resource=8.1, min_resource=0.1)
    assert settings.max_resource == Fraction(81, 10)
    assert settings.min_resource == Fraction(1, 10)
    assert settings.s_max == 4


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("r_l", "81")], "resource_name is missing"),
        ([("resource_name", "epochs")], "r_l .* is missing"),
        ([("resource_name", "epochs"), ("r_l", "0")], "must be positive, got 0"),
        ([("resource_name", "epochs"), ("r_l", "-3")], "must be positive, got -3"),
        ([("resource_name", "epochs"), ("r_l", "lots")], "setting r_l must be a number, got 'lots'"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("eta", "1")], "eta must be greater than 1, got 1"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("eta", "0.5")], "eta must be greater than 1"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("eta", "2.5")], "whole number"),
        ([("resource_name", "batch"), ("r_l", "81")], "'batch' is not a parameter"),
        ([("resource_name", "optimizer"), ("r_l", "81")], "categorical"),
        ([("resource_name", "epochs"), ("r_l", "500")], r"range \[1, 243\]"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("min_resource", "100")], "exceeds the maximum"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("variant", "fast")], "variant must be one of"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("random_state", "x")], "random_state must be an int"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("etta", "3")], "unknown algorithm setting 'etta'"),
        ([("resource_name", "epochs"), ("r_l", "81"), ("async_brackets", "9")], "async_brackets"),
    ],
)
def test_bad_settings_are_rejected_with_the_bad_value(space, pairs, message):
    with pytest.raises(HyperbandSettingsError, match=message):
        HyperbandSettings.from_katib(pairs, space)


def test_check_against_a_space_without_the_resource(space):
    settings = HyperbandSettings(resource_name="width", max_resource=9)
    with pytest.raises(HyperbandSettingsError, match="'width' is not a parameter"):
        settings.check_against(space)
