import pytest

from katib.darts.errors import SearchSpaceError
from katib.darts.operations import KATIB_OPERATIONS
from katib.darts.search_space import DartsSearchSpace, parse_katib_json, reduction_layers


def test_search_space_reads_katibs_single_quoted_json_and_appends_none():
    space = DartsSearchSpace.from_katib("['separable_convolution_3x3', 'max_pooling_3x3', 'skip_connection']")
    assert space.operations == ("separable_convolution_3x3", "max_pooling_3x3", "skip_connection")
    assert space.primitives[-1] == "none"
    assert DartsSearchSpace.from_katib(space.to_katib()) == space
    assert DartsSearchSpace.from_katib('["skip_connection"]').operations == ("skip_connection",)


def test_quotes_left_by_katibs_trial_template_are_dropped():
    assert DartsSearchSpace.from_katib("\"['skip_connection']\"").operations == ("skip_connection",)


def test_katibs_full_example_space_is_valid():
    assert len(DartsSearchSpace(KATIB_OPERATIONS).primitives) == 8


@pytest.mark.parametrize(
    "text, message",
    [
        ("[]", "at least one operation"),
        ("['none', 'skip_connection']", "'none' is always part"),
        ("['skip_connection', 'skip_connection']", "repeated: \\['skip_connection'\\]"),
        ("['conv_3x3']", "unknown operation 'conv_3x3'"),
        ("{'a': 1}", "JSON list"),
        ("[not json", "neither JSON nor a Python literal"),
    ],
)
def test_bad_search_spaces_are_rejected(text, message):
    with pytest.raises(SearchSpaceError, match=message):
        DartsSearchSpace.from_katib(text)


def test_python_literals_are_accepted_where_json_fails():
    assert parse_katib_json("{'a': None, 'b': True}", "x", SearchSpaceError) == {"a": None, "b": True}


@pytest.mark.parametrize(
    "layers, expected",
    [(1, set()), (2, {1}), (3, {1, 2}), (5, {1, 3}), (8, {2, 5}), (20, {6, 13})],
)
def test_reduction_cells_sit_where_katibs_trial_puts_them(layers, expected):
    assert reduction_layers(layers) == expected


def test_zero_layers_is_an_error():
    with pytest.raises(SearchSpaceError, match="num_layers must be >= 1, got 0"):
        reduction_layers(0)
